#include "plan.hpp"

#include <algorithm>
#include <filesystem>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "resume.hpp"

namespace kvsweep::driver {

namespace {

// Refuses an output that is one of the run's inputs (the sweep file, a point's trace file), also through
// a symbolic or hard link: --force would replace it with the results.
void refuse_input_as_output(const RunOptions& options, const sweep::Sweep& sweep) {
  std::error_code ec;
  if (!std::filesystem::exists(options.out_path, ec)) return;
  auto same = [&](const std::string& input) {
    std::error_code e;
    return !input.empty() && std::filesystem::equivalent(options.out_path, input, e);
  };
  const std::string where = "-o " + options.out_path;
  if (same(options.sweep_path)) {
    throw core::InputError(where, "this is the sweep file " + options.sweep_path +
                                      " (the run's input): name another output file");
  }
  for (const auto& p : sweep.points) {
    if (same(p.spec.trace.file)) {
      throw core::InputError(where, "this is the trace file " + p.spec.trace.file + " of point " + p.id + " (" +
                                        p.spec.source + "), an input of the run: name another output file");
    }
  }
}

}  // namespace

Plan make_plan(const RunOptions& options, const std::map<std::string, std::string>& provenance) {
  Plan plan;
  plan.sweep = sweep::load_sweep_file(options.sweep_path);
  refuse_input_as_output(options, plan.sweep);
  sweep::check_memory(plan.sweep, sweep::memory_limit(options.max_memory_gb));  // before the output is touched
  const bool reopen = options.resume && std::filesystem::exists(options.out_path);
  if (!reopen) result::ResultFile::check_can_create(options.out_path, options.force || options.resume);

  result::FileInfo info{plan.sweep.text, plan.sweep.hash, {}, provenance};
  for (const auto& p : plan.sweep.points) info.point_ids.push_back(p.id);
  std::vector<std::uint32_t> earlier_failures(plan.sweep.points.size(), 0);
  std::vector<bool> done(plan.sweep.points.size(), false);
  if (reopen) {
    plan.file.emplace(result::ResultFile::open_for_resume(options.out_path, plan.sweep.policies, plan.sweep.axes));
    plan.schema = std::make_unique<result::Schema>(plan.file->schema());
    const ResumeState state = reconcile(plan.sweep, *plan.file, options.eval);  // may refuse: nothing written yet
    done = state.done;
    earlier_failures = state.failures;
    plan.resumed = true;
    plan.in_file = state.in_file;
    plan.left_sweep = state.left;
    plan.file->record_sweep(info, plan.sweep.axes);
  } else {
    plan.schema = std::make_unique<result::Schema>(plan.sweep.policies, plan.sweep.axes);
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
