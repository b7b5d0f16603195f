// kvsweep eval POINTS.yaml [--json]: evaluates every point of a small YAML file in this process. The file
// is read as a sweep, so a point file with list-valued keys evaluates every point of its grid.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/cli/progress.hpp"
#include "kvsweep/cli/result_printer.hpp"
#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/result/schema.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::cli {

namespace {
struct EvalArgs {
  std::string file;
  bool json = false;
  bool verbose = false;
  bool serial = false;
  bool keys = false;
  bool columns = false;
  std::optional<double> oracle_moves;
  std::optional<double> oracle_wall_s;
  std::optional<std::uint32_t> oracle_replicas;
  std::optional<double> max_memory_gb;
  std::vector<std::string> only;  // --point: indexes (as `expand` numbers them) or point ids
  std::string record_schedule;    // --record-schedule DIR
  bool force = false;
  bool misses = false;            // --misses
};

// --record-schedule DIR: one point only, and no schedule file of its policies already there (unless
// --force). The directory is created when missing.
void check_record_target(const EvalArgs& args, const std::vector<sweep::SweepPoint>& points) {
  if (points.size() != 1) {
    throw core::InputError("--record-schedule", "records the schedules of one point; " + args.file + " has " +
                                                    std::to_string(points.size()) + " points: choose one with --point");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(args.record_schedule, ec) && !fs::is_directory(args.record_schedule, ec)) {
    throw core::InputError("--record-schedule", args.record_schedule + " exists and is not a directory");
  }
  for (const auto& name : points[0].spec.policies) {
    const fs::path target = fs::path(args.record_schedule) / (name + ".h5");
    if (!args.force && fs::exists(target, ec)) {
      throw core::InputError("--record-schedule", target.string() + " exists; remove it, choose another directory or add --force");
    }
  }
  fs::create_directories(args.record_schedule, ec);
  if (ec) throw core::InputError("--record-schedule", "cannot create " + args.record_schedule + ": " + ec.message());
}

// "gap 1.2 %" (nothing for a gap not known).
std::string gap_text(double gap) {
  if (!std::isfinite(gap)) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, "gap %.3g %%", 100 * gap);
  return buf;
}

// --verbose through the Lagrangian bound: why it runs, what it may cost and how to skip it, then its
// passes in place of the decode steps' progress.
void report_lagrangian(std::unique_ptr<Progress>& progress, const sweep::SweepPoint& point, std::uint32_t pass,
                       std::uint32_t passes, double gap) {
  if (pass == 0) {
    progress->finish();
    std::fprintf(stderr,
                 "kvsweep: Lagrangian bound: the baselines leave a certified %s (above oracle.lagrangian_gap %.3g %%); "
                 "up to %u passes, estimated up to %.0f s (oracle.lagrangian_passes: 0 skips it)\n",
                 gap_text(gap).c_str(), 100 * point.spec.oracle.lagrangian_gap, passes, point.estimated_lagrangian_s);
    progress = std::make_unique<Progress>("bound passes");
    return;
  }
  progress->update(pass, passes, gap_text(gap));
}

// The point YAML reference as a markdown table (docs/yaml-reference.md "YAML reference (point files)" is
// generated from it by scripts/update-readme-tables.sh).
void print_key_reference() {
  std::printf("| key | type | default | allowed | description |\n|---|---|---|---|---|\n");
  for (const auto& k : config::point_key_docs()) {
    std::printf("| `%s` | %s | %s | %s | %s |\n", k.key.c_str(), k.type.c_str(), k.default_value.c_str(),
                k.allowed.c_str(), k.description.c_str());
  }
}
}  // namespace

std::vector<sweep::SweepPoint> select_points(sweep::Sweep& sweep, const std::vector<std::string>& only) {
  if (only.empty()) return std::move(sweep.points);
  std::vector<bool> chosen(sweep.points.size(), false);
  for (const std::string& s : only) {
    bool found = false;
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10) {
      const std::size_t k = std::stoul(s);
      if (k < sweep.points.size()) chosen[k] = found = true;
    }
    for (std::size_t k = 0; k < sweep.points.size() && !found; ++k) {
      if (sweep.points[k].id == s) chosen[k] = found = true;
    }
    if (!found) {
      throw core::InputError("--point", "'" + s + "' is neither a point index (0.." +
                                            std::to_string(sweep.points.size() - 1) + ") nor a point id of " +
                                            sweep.path + " (`kvsweep expand` lists both)");
    }
  }
  std::vector<sweep::SweepPoint> out;
  for (std::size_t k = 0; k < sweep.points.size(); ++k) {
    if (chosen[k]) out.push_back(std::move(sweep.points[k]));
  }
  return out;
}

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate every point of a YAML file: all policies and bounds");
  cmd->add_option("points", args->file, "YAML file with one point, `points:` with several, or a sweep (lists of values)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--keys", args->keys, "Print every key a point file may hold (markdown) and exit");
  cmd->add_flag("--columns", args->columns, "Print every column of a results file (markdown) and exit");
  cmd->add_flag("--json", args->json, "Print one JSON document instead of tables");
  cmd->add_flag("-v,--verbose", args->verbose, "Explain each step and show progress on stderr");
  cmd->add_flag("--serial", args->serial, "Run the policies one after another on one thread");
  cmd->add_option("--oracle-moves", args->oracle_moves,
                  "Oracle budget: move proposals over all replicas (overrides oracle.moves)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--oracle-wall", args->oracle_wall_s,
                  "Oracle wall-clock budget, s (overrides oracle.max_wall_s; makes results timing-dependent)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--oracle-replicas", args->oracle_replicas, "Oracle parallel-tempering replicas")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--point", args->only,
                  "Evaluate only this point: its index as `expand` numbers it, or its point id (repeatable, or comma-separated)")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd->add_option("--record-schedule", args->record_schedule,
                  "Write every schedule of the point as DIR/<policy>.h5, the file `kvsweep judge` reads (one point)");
  cmd->add_flag("--force", args->force, "With --record-schedule: overwrite schedule files already in DIR");
  cmd->add_flag("--misses", args->misses,
                "Also profile each policy's misses by reuse distance (steps since the entry's last read)");
  add_max_memory_option(*cmd, args->max_memory_gb);
  cmd->callback([args] {
    if (args->keys) {
      print_key_reference();
      return;
    }
    if (args->columns) {
      std::cout << result::columns_markdown();
      return;
    }
    if (args->file.empty()) throw core::InputError("points", "a YAML point file is required (or --keys)");
    sweep::Sweep sweep = sweep::load_sweep_file(args->file);
    sweep.points = select_points(sweep, args->only);
    sweep::check_memory(sweep, sweep::memory_limit(args->max_memory_gb));
    const std::vector<sweep::SweepPoint>& points = sweep.points;
    if (!args->record_schedule.empty()) check_record_target(*args, points);
    if (args->verbose) std::fprintf(stderr, "kvsweep: %zu point(s) from %s\n", points.size(), args->file.c_str());
    std::vector<eval::PointResult> results;
    for (std::size_t i = 0; i < points.size(); ++i) {
      const auto& p = points[i].spec;
      eval::EvalOptions opt;
      opt.parallel = !args->serial;
      opt.oracle_moves = args->oracle_moves;
      opt.oracle_wall_s = args->oracle_wall_s;
      opt.oracle_replicas = args->oracle_replicas;
      opt.record_schedule_dir = args->record_schedule;
      opt.miss_profile = args->misses;
      std::unique_ptr<Progress> progress;
      if (args->verbose) {
        std::fprintf(stderr, "kvsweep: point %zu/%zu (%s): model %s, hardware %s, %zu policies\n", i + 1,
                     points.size(), p.source.c_str(), p.model_name.c_str(), p.hardware.name.c_str(),
                     p.policies.size());
        progress = std::make_unique<Progress>("decode steps");
        opt.progress = [&progress](std::uint32_t done, std::uint32_t total) { progress->update(done, total); };
        opt.lagrangian_progress = [&progress, &point = points[i]](std::uint32_t pass, std::uint32_t passes, double gap) {
          report_lagrangian(progress, point, pass, passes, gap);
        };
      }
      results.push_back(eval::evaluate_point(p, opt));
      if (progress) progress->finish();
      if (!args->json) {
        print_point_table(std::cout, results.back());
        std::cout << std::flush;
      }
    }
    if (args->json) print_points_json(std::cout, results);
  });
}

}  // namespace kvsweep::cli
