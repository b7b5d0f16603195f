// kvsweep judge POINT.yaml SCHEDULE.h5 [--json]: scores a schedule file (docs/schedule-file.md) on a
// point's trace with the one judge, beside static and the point's bounds.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/cli/progress.hpp"
#include "kvsweep/cli/result_printer.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/io/json.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::cli {

namespace {
struct JudgeArgs {
  std::string point_file, schedule_file;
  std::vector<std::string> only;
  bool json = false, verbose = false, serial = false;
  std::optional<double> max_memory_gb;
};

void print_json(const eval::PointResult& r, const std::string& file) {
  const eval::PolicyResult& s = *r.find("schedule");
  const eval::LowerBound bound = r.lower_bound();
  io::JsonWriter json(std::cout);
  json.begin_object();
  json.field("schedule_file", file);
  json.field("point_id", r.point_id);
  json.field("total_time_s", s.metrics.total_time_s);
  json.field("lower_bound_s", bound.value_s);
  json.field("lower_bound_kind", std::string(bound.kind));
  json.field("respects_capacity", s.respects_capacity);
  json.key("certified_gap");
  const double gap = eval::certified_gap(s.metrics.total_time_s, bound.value_s);
  if (s.respects_capacity && std::isfinite(gap)) {
    json.value(gap);
  } else {
    json.null();
  }
  json.field("speedup_vs_static", s.metrics.speedup_vs_static);
  json.key("point");
  write_point_json(json, r);
  json.end_object();
  std::cout << "\n";
}
}  // namespace

void add_judge_command(CLI::App& app) {
  auto args = std::make_shared<JudgeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "judge", "Score a schedule file (docs/schedule-file.md) on a point's trace, beside static and the point's bounds");
  cmd->add_option("point", args->point_file, "YAML file of the point (with several points, choose one with --point)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("schedule", args->schedule_file, "Schedule file (HDF5), e.g. written by kvsweep eval --record-schedule")
      ->required();
  cmd->add_option("--point", args->only, "Which point of the YAML file: its index as `expand` numbers it, or its point id")
      ->allow_extra_args(false);
  cmd->add_flag("--json", args->json, "Print one JSON document instead of a table");
  cmd->add_flag("-v,--verbose", args->verbose, "Show progress on stderr");
  cmd->add_flag("--serial", args->serial, "Run on one thread");
  add_max_memory_option(*cmd, args->max_memory_gb);
  cmd->callback([args] {
    sweep::Sweep sweep = sweep::load_sweep_file(args->point_file);
    sweep.points = select_points(sweep, args->only);
    if (sweep.points.size() != 1) {
      throw core::InputError(args->point_file, "has " + std::to_string(sweep.points.size()) +
                                                   " points; choose the one the schedule is for with --point");
    }
    sweep::check_memory(sweep, sweep::memory_limit(args->max_memory_gb));
    eval::EvalOptions opt;
    opt.parallel = !args->serial;
    std::unique_ptr<Progress> progress;
    if (args->verbose) {
      progress = std::make_unique<Progress>("decode steps");
      opt.progress = [&progress](std::uint32_t done, std::uint32_t total) { progress->update(done, total); };
    }
    const eval::PointResult r = eval::judge_point(sweep.points[0].spec, args->schedule_file, opt);
    if (progress) progress->finish();
    if (args->json) {
      print_json(r, args->schedule_file);
      return;
    }
    print_point_table(std::cout, r);
    const eval::PolicyResult& s = *r.find("schedule");
    const eval::LowerBound bound = r.lower_bound();
    if (s.respects_capacity) {
      std::printf("schedule %s: %.6g s, %.3fx static, certified gap %.4f%% (to %s %.6g s)\n", args->schedule_file.c_str(),
                  s.metrics.total_time_s, s.metrics.speedup_vs_static,
                  100 * std::max(0.0, eval::certified_gap(s.metrics.total_time_s, bound.value_s)), bound.kind,
                  bound.value_s);
    } else {
      std::printf("schedule %s: %.6g s, %.3fx static; ignores HBM capacity (capacity = unlimited): a reference, no gap\n",
                  args->schedule_file.c_str(), s.metrics.total_time_s, s.metrics.speedup_vs_static);
    }
  });
}

}  // namespace kvsweep::cli
