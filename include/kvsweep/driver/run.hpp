#pragma once
// `kvsweep run`: a whole sweep into one results file, on one process or many MPI ranks. The only layer
// that knows MPI (src/driver/).
//
// Rank 0 is the master: it reads and checks the sweep, opens the results file (only rank 0 touches
// HDF5), and hands points to the workers one at a time, costliest first. Workers evaluate with TBB
// threads and send back finished rows as bytes in the table's layout; the master appends and flushes
// each row as it arrives. With one rank (or without mpirun) the points run in-process, one after
// another. Only each rank's main thread calls MPI.
//
// Stopping: SIGTERM, SIGINT or SIGUSR1 (Slurm's warning signal) stop the handing out of points; points
// in flight get `grace_s` to finish, then the run ends anyway (exit 3; every finished row is in the
// file, `--resume` runs the rest). A second signal ends the run at once. A point that throws becomes a
// row with status "failed"; a rank that dies ends the job (mpirun stops every rank; rank 0 says which
// rank died when it ran on its node), and `--resume` completes it. A results file that cannot be written
// (full disk) ends the run with one line, exit kExitWriteError, every row before intact.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kvsweep/eval/evaluate.hpp"

namespace kvsweep::driver {

struct RunOptions {
  std::string sweep_path;
  std::string out_path;
  bool resume = false;  // continue an existing file (driver/resume.hpp; a missing file starts afresh)
  bool force = false;   // overwrite an existing file
  std::optional<unsigned> threads;  // TBB threads per worker rank (default: see default_threads())
  std::uint32_t max_attempts = 3;   // a point that failed this many times is not retried by --resume
  double grace_s = 60;              // after a stop signal: how long points in flight may still run
  bool verbose = false;
  bool detail = false;  // also write each point's per-step times (ResultFile::write_detail)
  std::optional<double> max_memory_gb;  // refuse points estimated above this (unset: physical memory)
  eval::EvalOptions eval;  // oracle overrides; `parallel` and `progress` are set by the driver
};

// What the master reports as the run goes, from its main thread (for a progress bar).
struct RunProgress {
  std::uint64_t done = 0;     // rows written this run with status ok
  std::uint64_t failed = 0;   // rows written this run with status failed
  std::uint64_t total = 0;    // points this run set out to evaluate
  std::uint64_t skipped = 0;  // finished before (resume) or out of attempts
  double work_done = 0;       // cost estimate of the points written, to weigh the ETA
  double work_total = 0;
  double estimated_s = 0;     // the cost model's wall seconds for the points to run, on these workers
  unsigned workers = 1;       // points evaluated at once
  unsigned threads = 1;       // TBB threads of each
  // What the point in progress is doing when it takes long ("bound pass 37/300, gap 1.2 %"), in-process
  // runs only (worker ranks send rows alone); "" otherwise.
  std::string phase;
};

// Wall seconds for `work` CPU seconds of points (sweep::CostEstimate::work) on `workers` evaluating at
// once with `threads` threads each: one thread runs at 1x, and the reference machine's 2 threads at
// 1.85x, scaled linearly beyond (optimistic for many threads); points spread evenly over the workers.
double estimated_wall_s(double work, unsigned workers, unsigned threads);

// Exit codes of `kvsweep run`.
inline constexpr int kExitOk = 0;          // every point of the sweep has an ok row
inline constexpr int kExitFailures = 1;    // the run completed but some points failed (rows say why)
inline constexpr int kExitBadInput = 2;    // bad sweep, flags or output file: nothing was written
inline constexpr int kExitStopped = 3;     // stopped by a signal: resumable
inline constexpr int kExitWriteError = 4;  // the results file could not be written (full disk, I/O error):
                                           // every row before is intact; --resume completes once fixed

// Initialises MPI (if the process was started by mpirun/srun, or alone as a singleton), runs, finalises.
// Messages go to stderr from rank 0 only. `on_progress` is called on rank 0.
int run_sweep(const RunOptions& options, const std::function<void(const RunProgress&)>& on_progress);

}  // namespace kvsweep::driver
