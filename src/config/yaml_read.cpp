#include "yaml_read.hpp"

#include <charconv>
#include <cmath>
#include <map>

namespace kvsweep::config::detail {

bool Range::contains(double x) const {
  const bool lo_ok = lo_open ? x > lo : x >= lo;
  const bool hi_ok = hi_open ? x < hi : x <= hi;
  return lo_ok && hi_ok;
}

std::string Range::bounds() const {
  if (hi == kInf) return std::string(lo_open ? "> " : ">= ") + format_number(lo);
  return std::string(lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) +
         (hi_open ? ")" : "]");
}

std::string Range::str() const { return hi == kInf ? "(must be " + bounds() + ")" : bounds(); }

std::string integer_bounds(std::uint64_t lo, std::uint64_t hi) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
  std::string s;
  if (hi == std::numeric_limits<std::uint64_t>::max() || hi == std::numeric_limits<std::uint32_t>::max()) {
    s += ">= ";
    s += std::to_string(lo);
    return s;
  }
  s += '[';
  s += std::to_string(lo);
  s += ", ";
  s += std::to_string(hi);
  s += ']';
  return s;
}

std::string format_number(double x) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

std::string line_col(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string YamlContext::where(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0) return file_;
  return file_ + ":" + line_col(mark);
}

void YamlContext::error(const YAML::Mark& mark, std::string message) {
  ++reported_;
  core::Diagnostic d{where(mark), std::move(message)};
  if (seen_.insert({d.where, d.message}).second) diags_.push_back(std::move(d));
}

void YamlContext::throw_if_any() const {
  if (!diags_.empty()) throw core::InputError(diags_);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

YAML::Mark Field::mark() const {
  if (!value || value.IsNull() || value.Mark().is_null()) return key.Mark();
  return value.Mark();
}

std::vector<Field> read_fields(const YAML::Node& map, const std::string& prefix,
                               const std::vector<std::string>& allowed, YamlContext& ctx,
                               std::string (*misplaced)(const std::string& key)) {
  const std::string where_prefix = prefix.empty() ? "" : prefix + ": ";
  std::vector<Field> fields;
  std::map<std::string, YAML::Mark> first_seen;
  for (const auto& kv : map) {
    const YAML::Node& key = kv.first;
    if (!key.IsScalar()) {
      ctx.error(key.Mark(), where_prefix + "keys must be plain names, got " + describe(key));
      continue;
    }
    const std::string name = key.Scalar();
    const auto [it, inserted] = first_seen.emplace(name, key.Mark());
    if (!inserted) {
      ctx.error(key.Mark(),
                where_prefix + "duplicate key '" + name + "' (first given at " + line_col(it->second) + ")");
      continue;
    }
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) {
      std::string hint = misplaced ? misplaced(name) : "";
      if (hint.empty()) {
        const std::string guess = core::did_you_mean(name, allowed);
        if (!guess.empty()) hint = " (did you mean '" + guess + "'?)";
      }
      ctx.error(key.Mark(), where_prefix + "unknown key '" + name + "'" + hint +
                                "; allowed keys: " + core::join(allowed));
      continue;
    }
    fields.push_back({prefix.empty() ? name : prefix + "." + name, key, kv.second});
  }
  return fields;
}

namespace {
bool expect_scalar(const Field& f, const char* what, YamlContext& ctx) {
  if (f.value && f.value.IsScalar()) return true;
  ctx.error(f.mark(), f.path + ": expected " + what + ", got " + describe(f.value));
  return false;
}

// Digits with an optional sign, nothing else: "12", "-3", "+7".
bool looks_integral(const std::string& s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}
}  // namespace

namespace {
std::optional<double> parse_number(const std::string& text) {
  const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  const char* end = text.data() + text.size();
  double x = 0;
  const auto res = std::from_chars(begin, end, x);
  if (res.ec != std::errc{} || res.ptr != end || begin == end || !std::isfinite(x)) return std::nullopt;
  return x;
}
}  // namespace

bool is_number_text(const std::string& text) { return parse_number(text).has_value(); }

std::optional<std::string> read_string(const Field& f, YamlContext& ctx) {
  if (!expect_scalar(f, "a string", ctx)) return std::nullopt;
  return f.value.Scalar();
}

std::optional<double> read_number(const Field& f, const Range& range, YamlContext& ctx) {
  if (!expect_scalar(f, "a number", ctx)) return std::nullopt;
  const std::string& text = f.value.Scalar();
  const auto parsed = parse_number(text);
  if (!parsed) {
    ctx.error(f.mark(), f.path + ": '" + text + "' is not a number");
    return std::nullopt;
  }
  const double x = *parsed;
  if (!range.contains(x)) {
    ctx.error(f.mark(), f.path + ": " + text + " is out of range " + range.str());
    return std::nullopt;
  }
  return x;
}

std::optional<std::uint64_t> read_integer(const Field& f, std::uint64_t lo, std::uint64_t hi,
                                          YamlContext& ctx) {
  if (!expect_scalar(f, "an integer", ctx)) return std::nullopt;
  const std::string& text = f.value.Scalar();
  if (!looks_integral(text)) {
    ctx.error(f.mark(), f.path + ": '" + text + "' is not an integer");
    return std::nullopt;
  }
  std::string range = integer_bounds(lo, hi);
  if (range[0] != '[') range = "(must be an integer " + range + ")";
  std::uint64_t x = 0;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  const auto res = std::from_chars(begin, text.data() + text.size(), x);
  if (text[0] == '-' || res.ec != std::errc{} || x < lo || x > hi) {
    ctx.error(f.mark(), f.path + ": " + text + " is out of range " + range);
    return std::nullopt;
  }
  return x;
}

std::optional<std::uint32_t> read_u32(const Field& f, std::uint32_t lo, std::uint32_t hi, YamlContext& ctx) {
  const auto x = read_integer(f, lo, hi, ctx);
  if (!x) return std::nullopt;
  return static_cast<std::uint32_t>(*x);
}

}  // namespace kvsweep::config::detail
