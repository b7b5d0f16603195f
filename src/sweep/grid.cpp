#include "grid.hpp"

#include <limits>
#include <map>

#include "exclude_index.hpp"
#include "yaml_value.hpp"

namespace kvsweep::sweep::detail {

namespace {
std::string in_label(const Mapping& m) { return m.label.empty() ? "" : " (in " + m.label + ")"; }

// The zip group of each axis of `m`: a map from axis index to the index of its group in `zipped`.
// Names that are not axes of `m` are skipped here (check_rules reports names that are axes nowhere).
std::vector<std::vector<std::size_t>> zipped_axes(const Mapping& m, const std::vector<const Rules*>& rules,
                                                  config::PointReader& reader, bool& ok) {
  std::vector<std::vector<std::size_t>> zipped;
  std::map<std::size_t, YAML::Mark> zipped_at;
  for (const Rules* r : rules) {
    for (const auto& group : r->zips) {
      std::vector<std::size_t> members;
      for (const auto& name : group.names) {
        const int a = m.axis_index(name.Scalar());
        if (a < 0) continue;
        const auto axis = static_cast<std::size_t>(a);
        if (const auto [it, fresh] = zipped_at.emplace(axis, name.Mark()); !fresh) {
          reader.error(name.Mark(), r->where + "zip: '" + name.Scalar() + "' is already in a zip group (at " +
                                        line_col(it->second) + ")" + in_label(m));
          ok = false;
          continue;
        }
        members.push_back(axis);
      }
      bool same_length = true;
      for (const auto a : members)
        same_length = same_length && m.axes[a].values.size() == m.axes[members[0]].values.size();
      if (!same_length) {
        std::string lengths;
        for (const auto a : members) {
          lengths += (lengths.empty() ? "" : ", ") + m.axes[a].name + " has " +
                     std::to_string(m.axes[a].values.size()) + " (" + line_col(m.axes[a].list.Mark()) + ")";
        }
        reader.error(group.node.Mark(), r->where + "zip: axes that step together need lists of one length: " +
                                            lengths + in_label(m));
        ok = false;
      }
      if (members.size() > 1) zipped.push_back(std::move(members));
    }
  }
  return zipped;
}
}  // namespace

Plan make_plan(const Mapping& m, const std::vector<const Rules*>& rules, config::PointReader& reader) {
  Plan plan;
  const auto zipped = zipped_axes(m, rules, reader, plan.ok);
  std::vector<bool> placed(m.axes.size(), false);
  for (std::size_t a = 0; a < m.axes.size(); ++a) {
    if (placed[a]) continue;
    std::vector<std::size_t> group{a};
    for (const auto& z : zipped) {
      if (std::find(z.begin(), z.end(), a) != z.end()) group = z;
    }
    std::sort(group.begin(), group.end());
    for (const auto g : group) placed[g] = true;
    const std::size_t n = m.axes[a].values.size();
    plan.combinations = n != 0 && plan.combinations > std::numeric_limits<std::size_t>::max() / n
                            ? std::numeric_limits<std::size_t>::max()
                            : plan.combinations * n;
    plan.groups.push_back(std::move(group));
  }
  for (const Rules* r : rules) {
    for (const auto& rule : r->excludes) plan.excludes.push_back(&rule);
  }
  return plan;
}

std::size_t for_each_combination(const Mapping& m, const Plan& plan,
                                 const std::function<void(const std::vector<std::size_t>&)>& visit) {
  const ExcludeIndex index(m, plan.groups, plan.excludes);
  std::vector<std::size_t> step(plan.groups.size(), 0);  // the odometer, one digit per group
  std::vector<std::size_t> choice(m.axes.size(), 0);
  std::size_t dropped = 0;
  while (true) {
    for (std::size_t g = 0; g < plan.groups.size(); ++g) {
      for (const auto a : plan.groups[g]) choice[a] = step[g];
    }
    if (!index.excluded(step)) {
      visit(choice);
    } else {
      ++dropped;
    }
    std::size_t g = plan.groups.size();
    while (g > 0) {
      --g;
      if (++step[g] < m.axes[plan.groups[g][0]].values.size()) break;
      step[g] = 0;
      if (g == 0) return dropped;
    }
    if (plan.groups.empty()) return dropped;
  }
}

std::vector<std::vector<std::size_t>> one_axis_at_a_time(const Mapping& m) {
  std::vector<std::vector<std::size_t>> out{std::vector<std::size_t>(m.axes.size(), 0)};
  for (std::size_t a = 0; a < m.axes.size(); ++a) {
    for (std::size_t i = 1; i < m.axes[a].values.size(); ++i) {
      out.push_back(out.front());
      out.back()[a] = i;
    }
  }
  return out;
}

}  // namespace kvsweep::sweep::detail
