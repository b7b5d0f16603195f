// load_sweep_*: the document level (syntax, shape), point ids and duplicates, and the Sweep returned.
#include "kvsweep/sweep/sweep.hpp"

#include <filesystem>
#include <map>
#include <thread>

#include "expand.hpp"
#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/core/hash.hpp"
#include "kvsweep/sweep/cost.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "yaml_value.hpp"

namespace kvsweep::sweep {

namespace {
using detail::Candidate;
using detail::Expansion;

// Where a point comes from, as marks: its entry, then the value it takes on each axis.
std::vector<YAML::Mark> positions(const Candidate& c, const Expansion& x) {
  const auto& m = x.mappings[c.mapping];
  std::vector<YAML::Mark> out{m.mark};
  for (std::size_t a = 0; a < m.axes.size(); ++a) out.push_back(m.axes[a].values[c.choice[a]].Mark());
  return out;
}

// "sparsity: 0.50, model: llama-2-7b" (the point's axis values), or its entry's label.
std::string describe(const Candidate& c, const Expansion& x) {
  const auto& m = x.mappings[c.mapping];
  std::string s = m.label;
  for (std::size_t a = 0; a < m.axes.size(); ++a) {
    s +=
        (s.empty() ? "" : ", ") + m.axes[a].name + ": " + detail::display_text(m.axes[a].values[c.choice[a]]);
  }
  return s;
}

// Two points with the same id would be evaluated twice and collide in the results: report the second
// at the first place where it differs from the first (the entry, or an axis value).
void report_duplicates(const Expansion& x, const std::vector<std::string>& ids, config::PointReader& reader) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < x.points.size(); ++i) {
    const auto [it, fresh] = first.emplace(ids[i], i);
    if (fresh) continue;
    const auto a = positions(x.points[it->second], x);
    const auto b = positions(x.points[i], x);
    std::size_t k = 0;
    while (k + 1 < std::min(a.size(), b.size()) && a[k].line == b[k].line && a[k].column == b[k].column) ++k;
    reader.error(b[k], "point #" + std::to_string(i) + " (" + describe(x.points[i], x) +
                           ") is the same point as #" + std::to_string(it->second) + " at " +
                           detail::line_col(a[k]) + " (" + describe(x.points[it->second], x) + "): id " +
                           ids[i] +
                           " (its parameters are equal; name, policies and oracle budgets are not part of a "
                           "point's id)");
  }
}

Sweep assemble(const std::string& text, const std::string& name, Expansion& x,
               std::vector<std::string>& ids) {
  Sweep s;
  s.path = name;
  s.text = text;
  s.hash = core::hex16(core::hash_text(text));
  for (const auto& m : x.mappings) {
    for (const auto& a : m.axes) {
      if (std::find(s.axes.begin(), s.axes.end(), a.name) == s.axes.end()) s.axes.push_back(a.name);
    }
  }
  for (std::size_t i = 0; i < x.points.size(); ++i) {
    Candidate& c = x.points[i];
    const auto& m = x.mappings[c.mapping];
    SweepPoint p;
    for (const auto& name_of_axis : s.axes) {
      const int a = m.axis_index(name_of_axis);
      std::string value;
      if (a >= 0) {
        const auto ai = static_cast<std::size_t>(a);
        value = detail::display_text(m.axes[ai].values[c.choice[ai]]);
      } else if (const auto single = m.single_value(name_of_axis)) {
        value = detail::display_text(*single);
      }
      p.axes.emplace_back(name_of_axis, std::move(value));
    }
    for (const auto& policy : c.spec.policies) {
      if (std::find(s.policies.begin(), s.policies.end(), policy) == s.policies.end())
        s.policies.push_back(policy);
    }
    const CostEstimate cost = estimate_cost(c.spec);
    p.cost_estimate = cost.work;
    // The Lagrangian bound runs only where the baselines leave a gap, which is known only after them:
    // shown apart, as "up to", and not in the estimate of the point.
    p.estimated_s = cost.wall_s - cost.lagrangian_wall_s;
    p.estimated_lagrangian_s = cost.lagrangian_wall_s;
    p.memory_bytes = estimate_memory(c.spec, std::max(1U, std::thread::hardware_concurrency())).peak;
    p.id = std::move(ids[i]);
    p.spec = std::move(c.spec);
    s.points.push_back(std::move(p));
  }
  return s;
}
}  // namespace

Sweep load_sweep_text(const std::string& text, const std::string& name) {
  config::PointReader reader(name, std::filesystem::path(name).parent_path());
  const YAML::Node root = reader.parse(text);
  Expansion x = detail::expand(root, name, reader);
  reader.throw_if_any();
  std::vector<std::string> ids;
  for (const auto& c : x.points) ids.push_back(config::point_id(c.spec));
  report_duplicates(x, ids, reader);
  reader.throw_if_any();
  return assemble(text, name, x, ids);
}

Sweep load_sweep_file(const std::string& path) { return load_sweep_text(config::read_yaml_file(path), path); }

}  // namespace kvsweep::sweep
