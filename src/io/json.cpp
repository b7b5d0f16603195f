#include "kvsweep/io/json.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace kvsweep::io {

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void JsonWriter::newline_indent(std::size_t depth) {
  if (indent_ <= 0) return;
  out_.put('\n');
  for (std::size_t i = 0; i < depth * static_cast<std::size_t>(indent_); ++i) out_.put(' ');
}

void JsonWriter::before_value() {
  if (stack_.empty()) {
    if (wrote_top_) throw std::logic_error("JsonWriter: a second top-level value");
    wrote_top_ = true;
    return;
  }
  Level& top = stack_.back();
  if (top.ctx == Ctx::kObject) {
    if (!top.key_pending) throw std::logic_error("JsonWriter: value inside an object without a key");
    top.key_pending = false;
    return;  // key() already wrote the separator and indentation
  }
  if (!top.empty) out_.put(',');
  top.empty = false;
  newline_indent(stack_.size());
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (stack_.empty() || stack_.back().ctx != Ctx::kObject) {
    throw std::logic_error("JsonWriter: key outside an object");
  }
  Level& top = stack_.back();
  if (top.key_pending) throw std::logic_error("JsonWriter: two keys in a row");
  if (!top.empty) out_.put(',');
  top.empty = false;
  top.key_pending = true;
  newline_indent(stack_.size());
  raw(json_quote(k));
  raw(indent_ > 0 ? ": " : ":");
  return *this;
}

void JsonWriter::open(Ctx ctx, char c) {
  before_value();
  out_.put(c);
  stack_.push_back({ctx});
}

void JsonWriter::close(Ctx ctx, char c) {
  if (stack_.empty() || stack_.back().ctx != ctx) {
    throw std::logic_error(std::string("JsonWriter: unbalanced '") + c + "'");
  }
  if (stack_.back().key_pending) throw std::logic_error("JsonWriter: key without a value");
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) newline_indent(stack_.size());
  out_.put(c);
  if (stack_.empty() && indent_ > 0) out_.put('\n');
}

JsonWriter& JsonWriter::begin_object() {
  open(Ctx::kObject, '{');
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  close(Ctx::kObject, '}');
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  open(Ctx::kArray, '[');
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  close(Ctx::kArray, ']');
  return *this;
}

JsonWriter& JsonWriter::value(double v) {
  if (!std::isfinite(v)) return null();
  before_value();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  raw(buf);
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) {
  before_value();
  raw(std::to_string(v));
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t v) {
  before_value();
  raw(std::to_string(v));
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  raw(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
  before_value();
  raw(json_quote(v));
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  raw("null");
  return *this;
}

}  // namespace kvsweep::io
