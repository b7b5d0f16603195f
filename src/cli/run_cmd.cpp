// kvsweep run SWEEP.yaml -o OUT.h5 [--resume|--force] [--threads T]: a whole sweep into one results file,
// in-process or as `mpirun -n N kvsweep run ...` (driver/run.hpp).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/driver/run.hpp"

namespace kvsweep::cli {

namespace {

// Progress of a sweep on stderr: a redrawn bar on a terminal, otherwise a plain line at most every
// `kLineEvery` (and at the end, and when the point in progress enters a long phase). The ETA weighs
// points by their cost estimates; the phase of the point in progress follows it.
class SweepProgress {
 public:
  SweepProgress() : tty_(isatty(STDERR_FILENO) != 0), start_(Clock::now()) {}
  void update(const driver::RunProgress& p) {
    const auto now = Clock::now();
    const std::uint64_t written = p.done + p.failed;
    const bool last = written == p.total;
    const bool phase_starts = !p.phase.empty() && !in_phase_;
    in_phase_ = !p.phase.empty();
    if (!last && !phase_starts && now - last_ < (tty_ ? std::chrono::milliseconds(200) : kLineEvery)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(written) / elapsed * 3600.0 : 0.0;
    const double share = p.work_total > 0 ? p.work_done / p.work_total : 1.0;
    char eta[96] = "?";
    if (share > 0) {
      std::snprintf(eta, sizeof eta, "%.0f s", elapsed * (1.0 - share) / share);
    } else if (p.estimated_s > 0) {  // nothing finished yet: the cost model's guess for this machine size
      std::snprintf(eta, sizeof eta, "~%.0f s (estimate, %u x %u thread%s)", std::max(0.0, p.estimated_s - elapsed),
                    p.workers, p.threads, p.threads == 1 ? "" : "s");
    }
    const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = p.total > 0 ? static_cast<int>(kWidth * written / p.total) : kWidth;
      // Padded: a shorter line (the phase over) must cover the longer one it redraws.
      std::fprintf(stderr, "\r[%.*s%*s] %llu/%llu points, %llu failed  %.1f/h  ETA %s  %-32s", filled,
                   "##############################", kWidth - filled, "", u(written), u(p.total), u(p.failed), rate,
                   last ? "0 s" : eta, p.phase.c_str());
      if (last) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "kvsweep: %llu/%llu points done, %llu failed, %llu skipped  %.1f/h  elapsed %.0f s  ETA %s%s%s\n",
                   u(written), u(p.total), u(p.failed), u(p.skipped), rate, elapsed, last ? "0 s" : eta,
                   p.phase.empty() ? "" : "  now: ", p.phase.c_str());
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kLineEvery{30};
  bool tty_;
  Clock::time_point start_;
  Clock::time_point last_{};
  bool in_phase_ = false;
};

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<driver::RunOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a sweep into an HDF5 results file (in-process, or as `mpirun -n N kvsweep run ...`)");
  cmd->add_option("sweep", opts->sweep_path, "Sweep YAML file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opts->out_path, "HDF5 results file to write")->required();
  auto* resume = cmd->add_flag("--resume", opts->resume,
                               "Continue OUT.h5: skip its finished points, retry failed ones, run points new to it; "
                               "refused if the sweep changes results it holds (docs/running.md \"Which edits "
                               "resume\"; a missing file starts afresh)");
  cmd->add_flag("--force", opts->force, "Overwrite an existing OUT.h5")->excludes(resume);
  cmd->add_option("--threads", opts->threads,
                  "TBB threads per worker rank (default: $SLURM_CPUS_PER_TASK, else the cores shared by the "
                  "node's worker ranks)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-attempts", opts->max_attempts, "Attempts per point before --resume stops retrying it")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--grace", opts->grace_s,
                  "After SIGTERM/SIGINT/SIGUSR1: seconds the points in flight may still run")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--oracle-moves", opts->eval.oracle_moves, "Oracle budget: move proposals (overrides oracle.moves)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--oracle-replicas", opts->eval.oracle_replicas, "Oracle parallel-tempering replicas")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--detail", opts->detail,
                "Also store each point's per-step times per policy (/detail/<point_id>/<policy>_step_time_s)");
  add_max_memory_option(*cmd, opts->max_memory_gb);
  cmd->add_flag("-v,--verbose", opts->verbose, "Say which point runs where");
  cmd->add_flag("-q,--quiet", *quiet, "No progress lines");
  cmd->callback([opts, quiet] {
    auto progress = std::make_shared<SweepProgress>();
    const int rc = driver::run_sweep(*opts, [progress, quiet](const driver::RunProgress& p) {
      if (!*quiet) progress->update(p);
    });
    if (rc != driver::kExitOk) throw CLI::RuntimeError(rc);
  });
}

}  // namespace kvsweep::cli
