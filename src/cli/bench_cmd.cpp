// kvsweep bench [POINTS.yaml]: times one evaluation of each point (every policy in one shared pass)
// and reports the time of each policy, of the trace and of the whole, and the peak memory.
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/cli/result_printer.hpp"
#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/eval/evaluate.hpp"

namespace kvsweep::cli {

namespace {
struct BenchArgs {
  std::string file;
  bool serial = false;
  bool json = false;
};

double peak_rss_gib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);  // ru_maxrss is in KiB on Linux
}
}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Time every policy and bound on the points of a YAML file");
  cmd->add_option("points", args->file, "YAML point file (see sweeps/paper-point.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_flag("--serial", args->serial, "One thread, policies one after another");
  cmd->add_flag("--json", args->json, "Also print the full results as JSON");
  cmd->callback([args] {
    const auto points = config::load_point_file(args->file);
    std::vector<eval::PointResult> results;
    for (const auto& p : points) {
      eval::EvalOptions opt;
      opt.parallel = !args->serial;
      results.push_back(eval::evaluate_point(p, opt));
      const auto& r = results.back();
      std::printf("bench %s: P=%u D=%u L=%u, %s, %u hardware threads\n", r.point_id.c_str(),
                  r.shape.prompt_tokens, r.shape.decode_tokens, r.shape.layers,
                  args->serial ? "serial" : "parallel", std::thread::hardware_concurrency());
      double policy_cpu = 0;
      for (const auto& pr : r.policies) {
        std::printf("  %-14s %8.2f s cpu\n", pr.name.c_str(), pr.cpu_s);
        policy_cpu += pr.cpu_s;
      }
      std::printf("  %-14s %8.2f s\n", "trace", r.trace_s);
      std::printf("  %-14s %8.2f s cpu (sum of policies and judges)\n", "policies", policy_cpu);
      std::printf("  %-14s %8.2f s wall (%s)\n", "policies", r.policies_wall_s,
                  r.policies_in_tuning ? "the first pass of the (W, R) tuning, which carried every other policy"
                                       : "the pass of every simulated policy and both bounds");
      // The phases after (or, for the SA tuning, before) that pass, where the point asked for them.
      if (r.oracle && r.oracle->sa_tuned) {
        std::printf("  %-14s %8.2f s wall (%u (W, R) points in %u passes)\n", "sa_tuning", r.oracle->sa_wall_s,
                    r.oracle->sa_evaluations, r.oracle->sa_passes);
      }
      if (r.lagrangian && r.lagrangian->computed) {
        std::printf("  %-14s %8.2f s wall (%u passes, %s)\n", "lagrangian", r.lagrangian->wall_s, r.lagrangian->passes,
                    r.lagrangian->stop_reason.c_str());
      }
      if (r.exact) std::printf("  %-14s %8.2f s wall\n", "exact", r.exact->wall_s);
      if (r.oracle) std::printf("  %-14s %8.2f s wall\n", "oracle", r.oracle->wall_s);
      std::printf("  %-14s %8.2f s\n", "wall", r.wall_s);
      std::printf("  %-14s %8.3f GiB\n", "peak_rss", peak_rss_gib());
    }
    if (args->json) print_points_json(std::cout, results);
  });
}

}  // namespace kvsweep::cli
