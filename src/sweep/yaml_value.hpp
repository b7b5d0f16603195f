#pragma once
// Private to the sweep layer: comparing and showing the values of axes.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace kvsweep::sweep::detail {

// Values equal after parsing: two numbers by value (0.5 == 0.50 == 5e-1), other scalars by text,
// mappings key by key whatever their order, lists element by element.
bool same_value(const YAML::Node& a, const YAML::Node& b);

// What an exclude rule's `wanted` value matches on an axis: an equal value (same_value), or an inline
// mapping whose `name` is the scalar wanted (model: tiny for {name: tiny, layers: 2, ...}).
bool matches(const YAML::Node& value, const YAML::Node& wanted);

// The value as one line of YAML: a scalar's text, a mapping or list in flow style ({name: x, layers: 4}).
std::string display_text(const YAML::Node& value);

// "0.5, 0.8, 0.9", for messages listing the values of an axis.
std::string display_list(const std::vector<YAML::Node>& values);

// "4:15", 1-based.
std::string line_col(const YAML::Mark& mark);

}  // namespace kvsweep::sweep::detail
