#include "expand.hpp"

#include <limits>
#include <optional>

#include "grid.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "node_arena.hpp"
#include "rules.hpp"

namespace kvsweep::sweep::detail {

namespace {
std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  return "nothing";
}

// The `points:` value, when the file has that key.
std::optional<YAML::Node> points_of(const YAML::Node& root) {
  for (const auto& kv : root) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "points") return kv.second;
  }
  return std::nullopt;
}

// Lays out one mapping per entry of `points:` (or the top level alone) with the rules that apply to it.
void lay_out_all(const YAML::Node& root, Expansion& out, std::deque<Rules>& entry_rules,
                 config::PointReader& reader) {
  const auto points = points_of(root);
  if (!points) {
    out.mappings.push_back(lay_out(root, nullptr, "", root.Mark(), reader));
    entry_rules.emplace_back();
    return;
  }
  if (!points->IsSequence() || points->size() == 0) {
    const YAML::Mark mark = points->IsNull() || points->Mark().is_null() ? root.Mark() : points->Mark();
    reader.error(mark, "points: expected a non-empty list of point mappings, got " +
                           (points->IsSequence() ? std::string("an empty list") : describe(*points)));
    return;
  }
  std::size_t i = 0;
  for (const auto& entry : *points) {
    const std::string label = "points[" + std::to_string(i++) + "]";
    if (!entry.IsMap()) {
      const YAML::Mark mark = entry.IsNull() ? points->Mark() : entry.Mark();
      reader.error(mark, label + ": expected a mapping of point keys, got " + describe(entry));
      continue;
    }
    out.mappings.push_back(lay_out(root, &entry, label, entry.Mark(), reader));
    entry_rules.push_back(read_rules(entry, label + ".", reader));
  }
}
}  // namespace

Expansion expand(const YAML::Node& root, const std::string& name, config::PointReader& reader) {
  NodeArena arena(root);
  Expansion out;
  const Rules top_rules = read_rules(root, "", reader);
  std::deque<Rules> entry_rules;  // parallel to out.mappings
  lay_out_all(root, out, entry_rules, reader);

  std::vector<const Mapping*> all;
  for (const auto& m : out.mappings) all.push_back(&m);
  check_rules(top_rules, all, reader);
  std::vector<Plan> plans;
  std::size_t total = 0;
  for (std::size_t i = 0; i < out.mappings.size(); ++i) {
    check_rules(entry_rules[i], {&out.mappings[i]}, reader);
    plans.push_back(make_plan(out.mappings[i], {&top_rules, &entry_rules[i]}, reader));
    const std::size_t n = plans.back().combinations;
    total = n > std::numeric_limits<std::size_t>::max() - total ? std::numeric_limits<std::size_t>::max()
                                                                : total + n;
  }
  if (total > kMaxSweepPoints) {
    reader.error(root.Mark(),
                 "the sweep expands to " + std::to_string(total) + " combinations, more than the " +
                     std::to_string(kMaxSweepPoints) +
                     " points allowed; split it, zip axes that belong together, or exclude combinations");
    for (auto& plan : plans) plan.ok = false;
  }

  const bool lone = out.mappings.size() == 1 && out.mappings[0].axes.empty() && !points_of(root);
  for (std::size_t i = 0; i < out.mappings.size(); ++i) {
    const Mapping& m = out.mappings[i];
    const auto read = [&](const std::vector<std::size_t>& choice) {
      const std::string source = lone ? name : name + "#" + std::to_string(out.points.size());
      auto spec = reader.read(build_levels(m, choice, arena), m.mark, source);
      if (spec) out.points.push_back({std::move(*spec), i, choice});
    };
    if (m.has_empty_axis) continue;  // its points would be checked without that key: "missing" errors
    if (!plans[i].ok) {
      // No product to form: still check every value of every axis, so that all problems show at once.
      for (const auto& choice : one_axis_at_a_time(m)) read(choice);
      continue;
    }
    const std::size_t dropped = for_each_combination(m, plans[i], read);
    if (dropped == plans[i].combinations) {
      reader.error(m.mark, (m.label.empty() ? std::string("the file") : m.label) +
                               ": exclude leaves none of its " + std::to_string(dropped) + " points");
    }
  }
  return out;
}

}  // namespace kvsweep::sweep::detail
