#include "plan.hpp"

#include <algorithm>
#include <filesystem>

namespace kvsweep::driver {

Plan make_plan(const RunOptions& options, const std::map<std::string, std::string>& provenance) {
  Plan plan;
  plan.sweep = sweep::load_sweep_file(options.sweep_path);
  plan.schema = std::make_unique<result::Schema>(plan.sweep.policies, plan.sweep.axes);
  const bool reopen = options.resume && std::filesystem::exists(options.out_path);
  if (!reopen) result::ResultFile::check_can_create(options.out_path, options.force || options.resume);

  std::vector<std::uint32_t> earlier_failures(plan.sweep.points.size(), 0);
  std::vector<bool> done(plan.sweep.points.size(), false);
  if (reopen) {
    plan.file.emplace(result::ResultFile::open_for_resume(options.out_path, *plan.schema, plan.sweep.hash));
    const auto finished = plan.file->finished_ids();
    const auto failed = plan.file->failed_attempts();
    for (std::size_t i = 0; i < plan.sweep.points.size(); ++i) {
      const std::string& id = plan.sweep.points[i].id;
      done[i] = finished.contains(id);
      if (auto it = failed.find(id); it != failed.end()) earlier_failures[i] = it->second;
    }
  } else {
    result::FileInfo info{plan.sweep.text, plan.sweep.hash, provenance};
    plan.file.emplace(result::ResultFile::create(options.out_path, *plan.schema, info, true));
  }
  for (std::uint32_t i = 0; i < plan.sweep.points.size(); ++i) {
    if (done[i]) {
      ++plan.finished;
    } else if (earlier_failures[i] >= options.max_attempts) {
      ++plan.out_of_attempts;
    } else {
      plan.tasks.push_back({i, earlier_failures[i] + 1});
    }
  }
  // Costliest first, so that the last points handed out are short and ranks finish together.
  std::stable_sort(plan.tasks.begin(), plan.tasks.end(), [&](const Task& a, const Task& b) {
    return plan.sweep.points[a.point].cost_estimate > plan.sweep.points[b.point].cost_estimate;
  });
  return plan;
}

sweep::Sweep sweep_from_text(const std::string& text, const std::string& path) {
  return sweep::load_sweep_text(text, path);
}

}  // namespace kvsweep::driver
