#include "kvsweep/result/schema.hpp"

#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "columns.hpp"

namespace kvsweep::result {

namespace {

bool is_identifier(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char ch : s) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

// The length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), 0 when it is not
// one: pandas decodes every string column as UTF-8 and fails on the whole table at one bad byte.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;  // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

std::string_view type_name(ColumnType t) {
  switch (t) {
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kString:
      return "string";
  }
  return "?";
}

config::OracleSettings effective_oracle(const RowInput& row) {
  config::OracleSettings s = row.point->oracle;
  if (row.options != nullptr) {
    if (row.options->oracle_moves) s.moves = *row.options->oracle_moves;
    if (row.options->oracle_wall_s) s.max_wall_s = *row.options->oracle_wall_s;
    if (row.options->oracle_replicas) s.replicas = *row.options->oracle_replicas;
  }
  return s;
}

}  // namespace

std::string column_for_key(std::string_view yaml_key) {
  std::string out(yaml_key);
  for (char& ch : out) {
    if (ch == '.') ch = '_';
  }
  return out;
}

std::string fit_text(std::string_view text, std::size_t bytes) {
  // Split into characters first, replacing what pandas could not decode, then cut.
  std::string clean;
  std::vector<std::size_t> starts;  // byte offset of each character in `clean`
  clean.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    starts.push_back(clean.size());
    const std::size_t n = utf8_length(text, i);
    if (n == 0 || text[i] == '\0') {
      clean += '?';
      ++i;
    } else {
      clean.append(text.substr(i, n));
      i += n;
    }
  }
  if (clean.size() <= bytes) return clean;
  const std::size_t room = bytes >= 3 ? bytes - 3 : bytes;
  std::size_t cut = 0;  // the last character start at or before `room`
  for (std::size_t s : starts) {
    if (s > room) break;
    cut = s;
  }
  // `cut` may land exactly at `room`, which is then the end of the kept text.
  clean.resize(cut);
  if (bytes >= 3) clean += "...";
  return clean;
}

Schema::Schema(std::vector<std::string> policies, std::vector<std::string> axis_names)
    : policies_(std::move(policies)), axis_names_(std::move(axis_names)) {
  if (policies_.empty()) throw std::invalid_argument("result schema: the policy list is empty");
  for (const auto& p : policies_) {
    if (!is_identifier(p)) {
      throw std::invalid_argument("result schema: policy '" + p + "' is not a lower-case identifier");
    }
  }
  for (const auto& a : axis_names_) {
    if (a.empty() || a.find_first_of(",;=") != std::string::npos) {
      throw std::invalid_argument("result schema: axis name '" + a + "' is empty or contains , ; or =");
    }
  }
  std::unordered_set<std::string> seen;
  for (auto& def : detail::all_columns(policies_)) {
    if (!seen.insert(def.column.name).second) {
      throw std::invalid_argument("result schema: two columns are called '" + def.column.name +
                                  "' (a policy listed twice, or named like a column?)");
    }
    def.column.offset = record_size_;
    record_size_ += def.column.size;
    columns_.push_back(std::move(def.column));
    getters_.push_back(std::move(def.get));
  }
}

const Column* Schema::find(std::string_view name) const {
  for (const auto& c : columns_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const Column& Schema::column(std::string_view name) const {
  const Column* c = find(name);
  if (c == nullptr) throw std::out_of_range("result schema: no column '" + std::string(name) + "'");
  return *c;
}

io::Datatype Schema::h5_type() const {
  io::Datatype type = io::Datatype::compound(record_size_);
  for (const auto& c : columns_) {
    switch (c.type) {
      case ColumnType::kFloat64:
        type.insert(c.name, c.offset, H5T_NATIVE_DOUBLE);
        break;
      case ColumnType::kInt64:
        type.insert(c.name, c.offset, H5T_NATIVE_INT64);
        break;
      case ColumnType::kString:
        // NUL-padded like numpy's 'S<n>': a 16-hex point_id fills its 16 bytes with no terminator.
        type.insert(c.name, c.offset, io::Datatype::fixed_string(c.size, io::Datatype::Pad::kNullPad).id());
        break;
    }
  }
  return type;
}

std::vector<std::byte> Schema::encode(const RowInput& row) const {
  if (row.point == nullptr) throw std::invalid_argument("result row: no point");
  if (!row.axis_values.empty() && row.axis_values.size() != axis_names_.size()) {
    throw std::invalid_argument("result row: " + std::to_string(row.axis_values.size()) +
                                " axis values for " + std::to_string(axis_names_.size()) + " axes");
  }
  const config::PointSpec& p = *row.point;
  const eval::PointResult* r = row.result;
  static const std::string kNoError;
  detail::RowContext c{row,
                       p,
                       r,
                       r != nullptr && r->oracle ? &*r->oracle : nullptr,
                       r != nullptr ? kNoError : row.error,
                       effective_oracle(row),
                       0,
                       0,
                       0,
                       0,
                       {},
                       std::nullopt,
                       ""};
  if (r != nullptr) {
    c.prompt_tokens = r->shape.prompt_tokens;
    c.decode_tokens = r->shape.decode_tokens;
    c.layers = r->shape.layers;
    c.footprint_tokens = r->shape.footprint_tokens();
    for (std::uint32_t b = 0; b < r->shape.batch_size(); ++b) c.prompts.push_back(r->shape.prompt(b));
    c.capacity_entries = r->memory.capacity_entries;
  } else {
    c.prompt_tokens = p.prompt_tokens;
    c.decode_tokens = p.decode_tokens;
    c.layers = p.model.layers;
    if (p.trace.file.empty() && p.trace.files.empty()) {
      c.prompts = config::batch_prompts(p);
      c.footprint_tokens = config::footprint_tokens(p);
    }
    if (c.decode_tokens > 0) {
      try {
        c.capacity_entries = config::capacity_entries(p, config::footprint_tokens(p), c.layers);
      } catch (const std::invalid_argument&) {
        // Unresolvable capacity is often why the point failed; the column stays NaN.
      }
    }
  }
  for (std::size_t i = 0; i < row.axis_values.size(); ++i) {
    if (i > 0) c.axes += ';';
    c.axes += axis_names_[i] + "=" + row.axis_values[i];
  }

  std::vector<std::byte> record(record_size_);
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const Column& col = columns_[i];
    const Value v = getters_[i](c);
    std::byte* at = record.data() + col.offset;
    if (col.type == ColumnType::kString) {
      const std::string text = fit_text(std::get<std::string>(v), col.size);
      std::memcpy(at, text.data(), text.size());  // the rest stays NUL
    } else if (col.type == ColumnType::kInt64) {
      const std::int64_t x = std::get<std::int64_t>(v);
      std::memcpy(at, &x, sizeof x);
    } else {
      const double x = std::get<double>(v);
      std::memcpy(at, &x, sizeof x);
    }
  }
  return record;
}

std::vector<std::byte> Schema::encode_failure(const RowInput& row, std::string_view error) const {
  RowInput failed = row;
  failed.result = nullptr;
  failed.error = std::string(error);
  return encode(failed);
}

Value Schema::get(std::span<const std::byte> record, std::string_view name) const {
  if (record.size() != record_size_) {
    throw std::invalid_argument("result record: " + std::to_string(record.size()) +
                                " bytes, the schema's are " + std::to_string(record_size_));
  }
  const Column& col = column(name);
  const std::byte* at = record.data() + col.offset;
  switch (col.type) {
    case ColumnType::kFloat64: {
      double x = 0;
      std::memcpy(&x, at, sizeof x);
      return x;
    }
    case ColumnType::kInt64: {
      std::int64_t x = 0;
      std::memcpy(&x, at, sizeof x);
      return x;
    }
    case ColumnType::kString: {
      const char* chars = reinterpret_cast<const char*>(at);
      return std::string(chars, strnlen(chars, col.size));
    }
  }
  return {};
}

namespace {
template <class T>
T typed(const Value& v, std::string_view name, ColumnType want) {
  if (!std::holds_alternative<T>(v)) {
    throw std::invalid_argument("result record: column '" + std::string(name) + "' is not " +
                                std::string(type_name(want)));
  }
  return std::get<T>(v);
}
}  // namespace

double Schema::get_double(std::span<const std::byte> record, std::string_view name) const {
  return typed<double>(get(record, name), name, ColumnType::kFloat64);
}

std::int64_t Schema::get_int(std::span<const std::byte> record, std::string_view name) const {
  return typed<std::int64_t>(get(record, name), name, ColumnType::kInt64);
}

std::string Schema::get_string(std::span<const std::byte> record, std::string_view name) const {
  return typed<std::string>(get(record, name), name, ColumnType::kString);
}

std::string columns_markdown() {
  std::string out = "| column | type | unit | meaning |\n|---|---|---|---|\n";
  // A placeholder policy shows the per-policy block once; it bypasses Schema's name check.
  for (const auto& def : detail::all_columns({"<policy>"})) {
    const Column& c = def.column;
    // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + std::string chains.
    out.append("| `").append(c.name).append("` | ").append(type_name(c.type));
    if (c.type == ColumnType::kString) out.append("(").append(std::to_string(c.size)).append(")");
    out.append(" | ").append(c.unit).append(" | ").append(c.description).append(" |\n");
  }
  return out;
}

}  // namespace kvsweep::result
