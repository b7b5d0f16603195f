#pragma once
// A small streaming JSON writer for machine-readable command output (`trace stats --json`, `eval`).
// Values go straight to the stream; nothing is buffered beyond the nesting stack. Misuse (a value
// where a key is due, end_object() closing an array, ...) throws std::logic_error: that is a bug in the
// caller, not bad input.
//
//   JsonWriter j(std::cout);
//   j.begin_object().key("layers").value(32).key("mean").value(0.25).end_object();
//
// Doubles print with %.17g (round-trip exact); NaN and infinities print as null (JSON has no such
// numbers). Strings are escaped per RFC 8259; bytes >= 0x80 pass through, so UTF-8 stays UTF-8.

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kvsweep::io {

class JsonWriter {
 public:
  // indent > 0 pretty-prints with that many spaces per level; 0 writes one compact line.
  explicit JsonWriter(std::ostream& out, int indent = 2) : out_(out), indent_(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // Inside an object, every value is preceded by exactly one key.
  JsonWriter& key(std::string_view k);

  JsonWriter& value(double v);
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(std::uint64_t v);
  JsonWriter& value(bool v);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(const std::string& v) { return value(std::string_view(v)); }
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, std::int64_t> &&
           !std::same_as<T, std::uint64_t>) JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>)
      return value(static_cast<std::int64_t>(v));
    else
      return value(static_cast<std::uint64_t>(v));
  }
  JsonWriter& value(float v) { return value(static_cast<double>(v)); }
  JsonWriter& null();

  // key(k).value(v) in one call.
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    return key(k).value(v);
  }

  // True once the top-level value is complete.
  bool done() const { return stack_.empty() && wrote_top_; }

 private:
  enum class Ctx { kObject, kArray };
  struct Level {
    Ctx ctx;
    bool empty = true;
    bool key_pending = false;  // objects: a key was written, its value is due
  };
  void before_value();  // separators, indentation, and the key/value discipline
  void open(Ctx ctx, char c);
  void close(Ctx ctx, char c);
  void newline_indent(std::size_t depth);
  void raw(std::string_view s) { out_.write(s.data(), static_cast<std::streamsize>(s.size())); }

  std::ostream& out_;
  int indent_;
  std::vector<Level> stack_;
  bool wrote_top_ = false;
};

// `s` as a quoted, escaped JSON string.
std::string json_quote(std::string_view s);

}  // namespace kvsweep::io
