#pragma once
// Private to the config layer: reading typed values out of yaml-cpp nodes while collecting every
// problem with its file:line:col. Readers never throw on bad input; they record a diagnostic and return
// nullopt so that parsing can go on and report everything at once.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::config::detail {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// An interval of allowed numbers; prints as "[0, 1)" or, unbounded above, as ">= 1" / "> 0".
struct Range {
  double lo = -kInf;
  double hi = kInf;
  bool lo_open = false;
  bool hi_open = false;
  bool contains(double x) const;
  std::string bounds() const;  // "[0, 1)" or ">= 1", for documentation
  std::string str() const;     // "[0, 1)" or "(must be >= 1)", after "is out of range"
};
inline Range closed(double lo, double hi) { return {lo, hi, false, false}; }
inline Range at_least(double lo) { return {lo, kInf, false, true}; }
inline Range above(double lo) { return {lo, kInf, true, true}; }

// "[lo, hi]", or ">= lo" when hi is the largest value of its type.
std::string integer_bounds(std::uint64_t lo, std::uint64_t hi);

// Shortest text that reads back as x ("0.6", "4096", "1e-05").
std::string format_number(double x);

// Where diagnostics go, and where relative paths in the document are resolved from.
class YamlContext {
 public:
  YamlContext(std::string file, std::filesystem::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}
  const std::string& file() const { return file_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  // "file:line:col" (1-based), or just "file" for a null mark.
  std::string where(const YAML::Mark& mark) const;
  // Records a problem. One already recorded (same place, same message) is counted but kept once: top-level
  // defaults are checked once per point, a sweep's list elements once per combination.
  void error(const YAML::Mark& mark, std::string message);
  bool has_errors() const { return !diags_.empty(); }
  // Compound parsers compare counts before and after to learn whether a part of them failed; repeats
  // count, so that a part failing again for the next point is still seen as failing.
  std::size_t error_count() const { return reported_; }
  const std::vector<core::Diagnostic>& diagnostics() const { return diags_; }
  // Throws core::InputError with every diagnostic, each reported once, in the order found.
  void throw_if_any() const;

 private:
  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<core::Diagnostic> diags_;
  std::set<std::pair<std::string, std::string>> seen_;  // (where, message) of diags_
  std::size_t reported_ = 0;
};

// "3:1", 1-based, as shown to users.
std::string line_col(const YAML::Mark& mark);
// "a list", "a mapping", "a value", "nothing": for "expected X, got Y" messages.
std::string describe(const YAML::Node& node);

// One key: value pair of a mapping, with the dotted key path used in messages ("synthetic.span_tokens").
struct Field {
  std::string path;
  YAML::Node key;
  YAML::Node value;
  // Where to point at the value. yaml-cpp marks an empty value at the start of the next line, so an
  // empty value points at its key instead.
  YAML::Mark mark() const;
};

// The fields of `map`, in document order. Non-scalar keys, duplicate keys and keys not in `allowed`
// are reported (unknown ones with a did-you-mean and the allowed list) and left out. `prefix` is the
// path of the mapping itself ("" at a point's top level). `misplaced(key)` may return a hint for a key
// that belongs elsewhere; it is used instead of the did-you-mean.
std::vector<Field> read_fields(const YAML::Node& map, const std::string& prefix,
                               const std::vector<std::string>& allowed, YamlContext& ctx,
                               std::string (*misplaced)(const std::string& key) = nullptr);

// True when the scalar text parses as a finite number (for keys taking a name or a number).
bool is_number_text(const std::string& text);

// Typed scalar readers. Each reports "<path>: ..." at the field's mark and returns nullopt on error.
std::optional<std::string> read_string(const Field& f, YamlContext& ctx);
std::optional<double> read_number(const Field& f, const Range& range, YamlContext& ctx);
std::optional<std::uint64_t> read_integer(const Field& f, std::uint64_t lo, std::uint64_t hi,
                                          YamlContext& ctx);
std::optional<std::uint32_t> read_u32(const Field& f, std::uint32_t lo, std::uint32_t hi, YamlContext& ctx);

}  // namespace kvsweep::config::detail
