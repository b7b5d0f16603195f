#pragma once
// Private to the config layer: look-ups in the small tables of named things (presets, key declarations).

#include <string>
#include <vector>

namespace kvsweep::config::detail {

// The item whose .name is `name`, or nullptr. Tables are a handful of entries: a linear scan is fine.
template <class T>
const T* find_by_name(const std::vector<T>& items, const std::string& name) {
  for (const auto& it : items) {
    if (it.name == name) return &it;
  }
  return nullptr;
}

// The .name of every item, in table order.
template <class T>
std::vector<std::string> names_of(const std::vector<T>& items) {
  std::vector<std::string> names;
  names.reserve(items.size());
  for (const auto& it : items) names.push_back(it.name);
  return names;
}

}  // namespace kvsweep::config::detail
