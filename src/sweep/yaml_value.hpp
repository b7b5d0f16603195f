#pragma once
// Private to the sweep layer: comparing and showing the values of axes.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace kvsweep::sweep::detail {

// Values equal after parsing: two numbers by value (0.5 == 0.50 == 5e-1), other scalars by text,
// mappings key by key whatever their order, lists element by element.
bool same_value(const YAML::Node& a, const YAML::Node& b);

// What an exclude rule's `wanted` value matches on an axis: an equal value (same_value), or an inline
// mapping whose `name` is the scalar wanted (model: tiny for {name: tiny, layers: 2, ...}).
bool matches(const YAML::Node& value, const YAML::Node& wanted);

// A string equal for two values exactly when same_value() says they are equal, when both are
// "regular": scalars (but NaN), nulls, lists of regular values, and mappings with distinct scalar keys and
// regular values. False (and `key` unspecified) for any other value: compare it with same_value().
bool canonical_key(const YAML::Node& value, std::string& key);

// The values among `values` that an exclude rule's value matches (matches(values[i], wanted)), found by
// hashing: each call costs O(its answer) plus the values that have no canonical key, not O(values).
// Gives exactly the indices a loop calling matches() would. `values` must outlive the lookup.
class ValueLookup {
 public:
  explicit ValueLookup(const std::vector<YAML::Node>& values);
  // Indices i with matches(values[i], wanted), ascending.
  std::vector<std::size_t> matching(const YAML::Node& wanted) const;

 private:
  const std::vector<YAML::Node>& values_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_key_;   // regular values by canonical key
  std::unordered_map<std::string, std::vector<std::size_t>> by_name_;  // regular inline mappings by name
  std::vector<std::size_t> irregular_;                                 // compared one by one
};

// The value as one line of YAML: a scalar's text, a mapping or list in flow style ({name: x, layers: 4}).
std::string display_text(const YAML::Node& value);

// "0.5, 0.8, 0.9", for messages listing the values of an axis.
std::string display_list(const std::vector<YAML::Node>& values);

// "4:15", 1-based.
std::string line_col(const YAML::Mark& mark);

}  // namespace kvsweep::sweep::detail
