#pragma once
// Private to the sweep layer: the combinations of one mapping's axes. Axes in one zip group step
// together; the groups (a lone axis is a group of one) form a cartesian product in document order, the
// last one varying fastest; exclude rules drop combinations.

#include <cstddef>
#include <functional>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "layout.hpp"
#include "rules.hpp"

namespace kvsweep::sweep::detail {

struct Plan {
  std::vector<std::vector<std::size_t>> groups;  // axis indices stepping together, in axis order
  std::vector<const ExcludeRule*> excludes;
  std::size_t combinations = 1;  // before exclusion; saturates at SIZE_MAX
  bool ok = true;                // false: a zip group is broken (reported), the product is undefined
};

// The plan of `m` under `rules` (the file's, then the entry's). Zip groups whose axes have lists of
// different lengths, or an axis zipped twice, are reported.
Plan make_plan(const Mapping& m, const std::vector<const Rules*>& rules, config::PointReader& reader);

// Calls visit(choice) for every combination of `plan` that no exclude rule drops, in order; choice[a]
// is the index into m.axes[a].values. Returns how many were dropped.
std::size_t for_each_combination(const Mapping& m, const Plan& plan,
                                 const std::function<void(const std::vector<std::size_t>&)>& visit);

// For a mapping whose product cannot be formed: the first value of every axis, then each other value
// of each axis with the rest at their first. Every value is checked once, in 1 + sum(len - 1) points.
std::vector<std::vector<std::size_t>> one_axis_at_a_time(const Mapping& m);

}  // namespace kvsweep::sweep::detail
