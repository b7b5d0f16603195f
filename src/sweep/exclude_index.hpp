#pragma once
// Private to the sweep layer: the exclude rules of one mapping, indexed so that testing a combination
// costs the same however many rules there are (issue 27: 99,000 points took 36 s with 50 rules and over
// 120 s with 2,000 when every rule was tried on every point).
//
// For the mapping at hand each rule becomes, per zip group it names, the set of that group's value
// indices it matches (a key that is not an axis there is decided once: the mapping's single value
// matches or the rule can never apply). Rules naming the same groups share one table, a bitmap over the
// product of those groups' sizes with every tuple some rule matches marked. A combination is excluded
// iff one table has its tuple marked: per combination O(tables), tables <= the distinct sets of groups
// the rules name. Building costs O(sum over rules of its matched tuples); a table is never larger than
// the mapping's combinations (at most kMaxSweepPoints when they are enumerated).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "layout.hpp"
#include "rules.hpp"

namespace kvsweep::sweep::detail {

class ExcludeIndex {
 public:
  // `groups`: the axis indices that step together (Plan::groups), one digit of a combination each.
  ExcludeIndex(const Mapping& m, const std::vector<std::vector<std::size_t>>& groups,
               const std::vector<const ExcludeRule*>& rules);

  // Whether some rule matches every pair of the combination whose group g is at value index step[g].
  bool excluded(const std::vector<std::size_t>& step) const {
    if (all_) return true;
    for (const Table& t : tables_) {
      std::size_t at = 0;
      for (std::size_t i = 0; i < t.groups.size(); ++i) at += step[t.groups[i]] * t.stride[i];
      if ((t.bits[at / 64] >> (at % 64)) & 1U) return true;
    }
    return false;
  }

 private:
  struct Table {
    std::vector<std::size_t> groups;  // ascending
    std::vector<std::size_t> stride;  // mixed radix over the groups' sizes
    std::vector<std::uint64_t> bits;  // marked tuples
  };
  // Marks every tuple of the product of `allowed` (one index list per group of t) in t.
  static void mark(Table& t, const std::vector<std::vector<std::size_t>>& allowed);

  bool all_ = false;  // a rule matches every combination
  std::vector<Table> tables_;
};

}  // namespace kvsweep::sweep::detail
