#include "exclude_index.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "yaml_value.hpp"

namespace kvsweep::sweep::detail {

ExcludeIndex::ExcludeIndex(const Mapping& m, const std::vector<std::vector<std::size_t>>& groups,
                           const std::vector<const ExcludeRule*>& rules) {
  std::vector<std::size_t> group_of(m.axes.size(), 0);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (const std::size_t a : groups[g]) group_of[a] = g;
  }
  std::vector<std::optional<ValueLookup>> lookups(m.axes.size());  // built for the axes rules name
  std::map<std::vector<std::size_t>, std::size_t> table_of;        // groups named -> index in tables_

  std::map<std::size_t, std::vector<bool>> allowed;  // per group named: value indices the rule matches
  for (const ExcludeRule* rule : rules) {
    allowed.clear();
    bool applies = true;
    for (const auto& pair : rule->pairs) {
      const int ai = m.axis_index(pair.name);
      if (ai < 0) {
        // Not an axis here: the single value this mapping gives it matches, or the rule never applies.
        const std::optional<YAML::Node> value = m.single_value(pair.name);
        bool any = false;
        for (const auto& v : pair.values) any = any || (value && matches(*value, v));
        applies = any;
      } else {
        const auto a = static_cast<std::size_t>(ai);
        if (!lookups[a]) lookups[a].emplace(m.axes[a].values);
        std::vector<bool> hit(m.axes[a].values.size(), false);
        for (const auto& v : pair.values) {
          for (const std::size_t i : lookups[a]->matching(v)) hit[i] = true;
        }
        // Two zipped axes of one rule constrain the same digit: both must match.
        auto [it, fresh] = allowed.emplace(group_of[a], hit);
        if (!fresh) {
          for (std::size_t i = 0; i < hit.size(); ++i) it->second[i] = it->second[i] && hit[i];
        }
        applies = std::find(it->second.begin(), it->second.end(), true) != it->second.end();
      }
      if (!applies) break;
    }
    if (!applies) continue;
    if (allowed.empty()) {  // every key is a single value that matches: every combination goes
      all_ = true;
      tables_.clear();
      return;
    }
    std::vector<std::size_t> named;
    std::vector<std::vector<std::size_t>> indices;
    for (const auto& [g, hit] : allowed) {
      named.push_back(g);
      indices.emplace_back();
      for (std::size_t i = 0; i < hit.size(); ++i) {
        if (hit[i]) indices.back().push_back(i);
      }
    }
    auto [it, fresh] = table_of.emplace(named, tables_.size());
    if (fresh) {
      Table t;
      t.groups = named;
      std::size_t size = 1;
      for (const std::size_t g : named) {
        t.stride.push_back(size);
        size *= m.axes[groups[g][0]].values.size();
      }
      t.bits.assign((size + 63) / 64, 0);
      tables_.push_back(std::move(t));
    }
    mark(tables_[it->second], indices);
  }
}

void ExcludeIndex::mark(Table& t, const std::vector<std::vector<std::size_t>>& allowed) {
  std::vector<std::size_t> digit(allowed.size(), 0);  // an odometer over the allowed lists
  while (true) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < allowed.size(); ++i) at += allowed[i][digit[i]] * t.stride[i];
    t.bits[at / 64] |= std::uint64_t{1} << (at % 64);
    std::size_t i = 0;
    while (i < allowed.size() && ++digit[i] == allowed[i].size()) digit[i++] = 0;
    if (i == allowed.size()) return;
  }
}

}  // namespace kvsweep::sweep::detail
