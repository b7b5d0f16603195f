// The run loop: in-process for one rank, master/worker over MPI otherwise. See driver/run.hpp.
#include "kvsweep/driver/run.hpp"
#include "kvsweep/sweep/cost.hpp"

#include <mpi.h>
#include <tbb/global_control.h>
#include <tbb/version.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "kvsweep/core/diagnostics.hpp"
#include "plan.hpp"
#include "point_runner.hpp"
#include "stop_signal.hpp"

namespace kvsweep::driver {

namespace {

using Clock = std::chrono::steady_clock;

// Message tags, worker -> master and master -> worker.
constexpr int kTagResult = 1;  // a finished row (bytes); also means "ready for the next point"
constexpr int kTagReady = 2;   // no row yet: the first request
constexpr int kTagWork = 3;    // two uint32: point index, attempt
constexpr int kTagStop = 4;    // no more work
constexpr int kTagDetail = 5;  // after a result with --detail: the per-step times (doubles, policy-major)

// Was this process started by a launcher (mpirun, srun)? Without one, MPI is not initialised at all: a
// singleton MPI_Init would start runtime daemons (and refuse root) just to run in-process.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

// Waits for a non-blocking request without spinning a core: Open MPI's blocking calls busy-poll, which
// would steal a core from the TBB threads of a worker on the same node while an idle rank waits for the
// master. Sleeps from 20 us up to 10 ms between tests; a message waits at most that long.
void wait_idle(MPI_Request& request, MPI_Status* status) {
  auto nap = std::chrono::microseconds(20);
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, status);
    if (done) return;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(10000));
  }
}

void print_input_error(const core::InputError& e) {
  for (const auto& d : e.diagnostics()) std::fprintf(stderr, "kvsweep: error: %s\n", d.str().c_str());
}

// TBB threads of one worker rank: the flag, else Slurm's cpus-per-task, else the cores shared evenly by
// the ranks of this node that evaluate points.
unsigned default_threads(int local_workers) {
  if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int n = std::atoi(s);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  return std::max(1U, cores / static_cast<unsigned>(std::max(1, local_workers)));
}

std::map<std::string, std::string> provenance(bool with_mpi) {
  std::map<std::string, std::string> p;
  p["tbb_version"] = TBB_VERSION_STRING;
#ifdef KVSWEEP_YAML_CPP_VERSION
  p["yaml_cpp_version"] = KVSWEEP_YAML_CPP_VERSION;
#endif
  if (with_mpi) {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    std::string text(lib, static_cast<std::size_t>(len));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
    p["mpi_version"] = text.substr(0, text.find(','));
  } else {
    p["mpi_version"] = "none (in-process run)";
  }
  return p;
}

class Reporter {
 public:
  // `workers` evaluate points at once, each with `threads` TBB threads.
  Reporter(const Plan& plan, const std::function<void(const RunProgress&)>& on_progress, unsigned workers,
           unsigned threads)
      : plan_(plan), on_progress_(on_progress) {
    p_.total = plan.tasks.size();
    p_.skipped = plan.finished + plan.out_of_attempts;
    p_.workers = std::max(1U, workers);
    p_.threads = std::max(1U, threads);
    for (const Task& t : plan.tasks) p_.work_total += plan.sweep.points[t.point].cost_estimate;
    p_.estimated_s = estimated_wall_s(p_.work_total, p_.workers, p_.threads);
  }
  void row(const Task& t, bool ok) {
    (ok ? p_.done : p_.failed) += 1;
    p_.work_done += plan_.sweep.points[t.point].cost_estimate;
    tick();
  }
  void tick() {
    if (on_progress_) on_progress_(p_);
  }
  const RunProgress& progress() const { return p_; }

 private:
  const Plan& plan_;
  const std::function<void(const RunProgress&)>& on_progress_;
  RunProgress p_;
};

// What --resume found in the file, one line.
void report_resume(const Plan& plan, const RunOptions& options) {
  if (!plan.resumed) return;
  const std::uint64_t points = plan.sweep.points.size();
  std::string left;
  if (plan.left_sweep > 0) {
    left = "; " + std::to_string(plan.left_sweep) + " point(s) in the file are no longer in the sweep (rows kept; "
           "kvsweep_results.load() marks them in_sweep=False)";
  }
  std::fprintf(stderr, "kvsweep: resuming %s: %llu of %llu points finished before, %llu new to the file%s\n",
               options.out_path.c_str(), static_cast<unsigned long long>(plan.finished),
               static_cast<unsigned long long>(points), static_cast<unsigned long long>(points - plan.in_file),
               left.c_str());
}

void report_failure(const Plan& plan, const Task& t, const std::string& error) {
  std::fprintf(stderr, "kvsweep: point %s (%s) failed: %s\n", plan.sweep.points[t.point].id.c_str(),
               plan.sweep.points[t.point].spec.source.c_str(), error.c_str());
}

// How a stopped run ends, for its last line.
struct StopTally {
  std::uint64_t done = 0, failed = 0;  // rows written this run
  std::uint64_t abandoned = 0;         // points in flight that will not be written
  std::uint64_t not_started = 0;
  std::uint64_t rows = 0;              // rows in the file
};

// The last line of a stopped run: what was saved, what was lost, what to do. `why` follows the tally
// (e.g. advice after mpirun killed the job).
void print_stopped(const StopTally& t, const RunOptions& options, const char* why = "") {
  std::fprintf(stderr,
               "kvsweep: stopped by a signal: rerun with --resume to finish; this run wrote %llu ok and %llu failed "
               "row(s); %llu point(s) in flight abandoned, %llu not started; %s has %llu rows%s\n",
               static_cast<unsigned long long>(t.done), static_cast<unsigned long long>(t.failed),
               static_cast<unsigned long long>(t.abandoned), static_cast<unsigned long long>(t.not_started),
               options.out_path.c_str(), static_cast<unsigned long long>(t.rows), why);
}

// After the first stop signal, how long points in flight may still run. Under Open MPI a SIGTERM from
// the parent is mpirun ending the job (after a Ctrl-C, or a SIGTERM to mpirun): it SIGKILLs every rank
// odls_base_sigkill_timeout seconds later (1 by default), whatever --grace says. Then the grace shrinks
// to that window less half a second, in which rank 0 writes its last line; `killed` is set.
// Whether this process's parent is Open MPI's launcher or daemon (not, say, slurmstepd under srun, whose
// SIGTERM comes with Slurm's KillWait, 30 s by default).
bool parent_is_open_mpi_launcher() {
  std::ifstream comm("/proc/" + std::to_string(getppid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name == "mpirun" || name == "mpiexec" || name == "orterun" || name == "orted" || name == "prte" ||
         name == "prted" || name == "prterun";
}

double stop_grace(const StopSignals& signals, double grace_s, bool& killed) {
  killed = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr && signals.first_was_term_from_parent() &&
           parent_is_open_mpi_launcher();
  if (!killed) return grace_s;
  double window = 1;
  if (const char* s = std::getenv("OMPI_MCA_odls_base_sigkill_timeout")) window = std::max(0.0, std::atof(s));
  return std::clamp(window - 0.5, 0.0, grace_s);
}

constexpr const char* kKilledAdvice =
    " (mpirun ends every rank a second after Ctrl-C; start the run with kvsweep-mpirun and Ctrl-C lets points in "
    "flight finish)";

// The run's last line and exit code; a run that did not get through its points was stopped.
int finish(Plan& plan, const Reporter& reporter, const RunOptions& options) {
  const RunProgress& p = reporter.progress();
  const bool complete = p.done + p.failed == p.total;
  if (complete) plan.file->set_end_time();  // a stopped run leaves end_time as it was
  const std::uint64_t rows = plan.file->rows();
  plan.file->close();
  if (!complete) {
    print_stopped({p.done, p.failed, 0, p.total - p.done - p.failed, rows}, options);
    return kExitStopped;
  }
  std::fprintf(stderr, "kvsweep: %llu ok, %llu failed, %llu skipped (finished before or out of attempts); %s has %llu rows\n",
               static_cast<unsigned long long>(p.done), static_cast<unsigned long long>(p.failed),
               static_cast<unsigned long long>(p.skipped), options.out_path.c_str(),
               static_cast<unsigned long long>(rows));
  return p.failed > 0 || plan.out_of_attempts > 0 ? kExitFailures : kExitOk;
}

// One rank: every point in this process, one after another (each with all the TBB threads).
int run_in_process(Plan& plan, const RunOptions& options, const StopSignals& signals,
                   const std::function<void(const RunProgress&)>& on_progress) {
  Reporter reporter(plan, on_progress, 1, options.threads.value_or(1));
  reporter.tick();
  const std::string host = host_name();
  // A point cannot be interrupted: a watchdog ends the process when the grace period after a stop
  // signal runs out, or at a second signal. Every finished row is already flushed to the file.
  // The main thread counts what it wrote; the watchdog reads the counts (never the file) for its last line.
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> ok_rows{0}, failed_rows{0};
  const std::uint64_t rows_before = plan.file->rows();
  const std::uint64_t total = plan.tasks.size();
  auto abandon = [&](const char* why) {
    const std::uint64_t ok = ok_rows, failed = failed_rows;
    const std::uint64_t left = total - ok - failed;
    print_stopped({ok, failed, left > 0 ? 1U : 0U, left > 0 ? left - 1 : 0, rows_before + ok + failed}, options, why);
    std::_Exit(kExitStopped);
  };
  std::thread watchdog([&] {
    std::optional<Clock::time_point> deadline;
    bool killed = false;
    while (running) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int n = signals.count();
      if (n >= 2) {
        std::fprintf(stderr, "kvsweep: second signal: stopping now\n");
        abandon("");
      }
      if (n == 1 && !deadline) {
        const double grace = stop_grace(signals, options.grace_s, killed);
        deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace));
        std::fprintf(stderr, "kvsweep: signal %d%s: finishing the point in progress (up to %g s), then stopping\n",
                     signals.last(), killed ? " from mpirun, which kills the job soon" : "", grace);
      }
      if (deadline && Clock::now() > *deadline) {
        std::fprintf(stderr, "kvsweep: grace period over: abandoning the point in progress\n");
        abandon(killed ? kKilledAdvice : "");
      }
    }
  });
  for (const Task& t : plan.tasks) {
    if (signals.count() > 0) break;
    if (options.verbose) {
      std::fprintf(stderr, "kvsweep: point %s (%s), attempt %u\n", plan.sweep.points[t.point].id.c_str(),
                   plan.sweep.points[t.point].spec.source.c_str(), t.attempt);
    }
    const Attempt a = run_point(plan.sweep.points[t.point], t.attempt, *plan.schema, options.eval, 0, host);
    plan.file->append(a.row);
    if (options.detail && a.ok) {
      plan.file->write_detail(plan.sweep.points[t.point].id, detail_policies(plan.sweep.points[t.point].spec),
                              a.step_time_s);
    }
    if (!a.ok) report_failure(plan, t, a.error);
    ++(a.ok ? ok_rows : failed_rows);
    reporter.row(t, a.ok);
  }
  running = false;
  watchdog.join();
  return finish(plan, reporter, options);
}

// The per-step times a worker sends right after a row (empty for a failed point).
void receive_detail(Plan& plan, const Task& t, int worker) {
  MPI_Status status;
  MPI_Probe(worker, kTagDetail, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_DOUBLE, &count);
  std::vector<double> flat(static_cast<std::size_t>(count));
  MPI_Recv(flat.data(), count, MPI_DOUBLE, worker, kTagDetail, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  const std::vector<std::string> names = detail_policies(plan.sweep.points[t.point].spec);
  if (flat.empty() || names.empty()) return;
  const std::size_t steps = flat.size() / names.size();
  std::vector<std::vector<double>> series;
  for (std::size_t i = 0; i < names.size(); ++i) {
    series.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i * steps),
                        flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * steps));
  }
  plan.file->write_detail(plan.sweep.points[t.point].id, names, series);
}

// Rank 0 of several: hands out tasks, writes rows; evaluates nothing itself.
int run_master(Plan& plan, const RunOptions& options, const StopSignals& signals, int size,
               const std::function<void(const RunProgress&)>& on_progress) {
  Reporter reporter(plan, on_progress, static_cast<unsigned>(size - 1), options.threads.value_or(1));
  reporter.tick();
  std::deque<Task> queue(plan.tasks.begin(), plan.tasks.end());
  std::map<int, Task> in_flight;
  int active = size - 1;  // workers not yet told to stop
  bool stopping = false, killed = false;  // killed: mpirun is ending the job (stop_grace)
  Clock::time_point deadline{};
  auto last_tick = Clock::now();
  std::vector<std::byte> buffer;

  auto hand_out = [&](int worker) {
    if (!stopping && !queue.empty()) {
      const Task t = queue.front();
      queue.pop_front();
      const std::uint32_t msg[2] = {t.point, t.attempt};
      MPI_Send(msg, 2, MPI_UINT32_T, worker, kTagWork, MPI_COMM_WORLD);
      in_flight[worker] = t;
      if (options.verbose) {
        std::fprintf(stderr, "kvsweep: point %s (%s), attempt %u -> rank %d\n", plan.sweep.points[t.point].id.c_str(),
                     plan.sweep.points[t.point].spec.source.c_str(), t.attempt, worker);
      }
    } else {
      MPI_Send(nullptr, 0, MPI_BYTE, worker, kTagStop, MPI_COMM_WORLD);
      --active;
    }
  };

  // Ends the run now: the last line, the file closed, the workers ended (unless mpirun is at it).
  auto abandon = [&](const char* why, bool by_mpirun) {
    const RunProgress& p = reporter.progress();
    const std::uint64_t rows = plan.file->rows();
    plan.file->close();
    print_stopped({p.done, p.failed, in_flight.size(), queue.size(), rows}, options, why);
    if (by_mpirun) std::_Exit(kExitStopped);  // mpirun kills the workers and exits 1 whatever we do
    MPI_Abort(MPI_COMM_WORLD, kExitStopped);
  };

  // Between probes rank 0 naps 20 us, doubling to 1 ms while nothing arrives: a quick answer to a worker
  // that just finished, without a core spinning for hours of long points.
  auto nap = std::chrono::microseconds(20);
  while (active > 0) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (flag) {
      nap = std::chrono::microseconds(20);
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      buffer.resize(static_cast<std::size_t>(bytes));
      MPI_Recv(buffer.data(), bytes, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (status.MPI_TAG == kTagResult) {
        const Task t = in_flight.at(status.MPI_SOURCE);
        in_flight.erase(status.MPI_SOURCE);
        plan.file->append(buffer);
        const bool ok = plan.schema->status(buffer) == "ok";
        if (options.detail) receive_detail(plan, t, status.MPI_SOURCE);
        if (!ok) report_failure(plan, t, plan.schema->get_string(buffer, "error"));
        reporter.row(t, ok);
      }
      hand_out(status.MPI_SOURCE);
      continue;
    }
    const int n = signals.count();
    if (n >= 2) {
      std::fprintf(stderr, "kvsweep: second signal: stopping now\n");
      abandon("", killed);
    }
    if (n == 1 && !stopping) {
      stopping = true;
      const double grace = stop_grace(signals, options.grace_s, killed);
      deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace));
      std::fprintf(stderr, "kvsweep: signal %d%s: no new points; %zu in flight get up to %g s\n", signals.last(),
                   killed ? " from mpirun, which kills the job soon" : "", in_flight.size(), grace);
    }
    if (stopping && !in_flight.empty() && Clock::now() > deadline) {
      std::fprintf(stderr, "kvsweep: grace period over: abandoning %zu point(s) in flight\n", in_flight.size());
      abandon(killed ? kKilledAdvice : "", killed);
    }
    if (Clock::now() - last_tick > std::chrono::seconds(1)) {
      reporter.tick();
      last_tick = Clock::now();
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(1000));
  }
  return finish(plan, reporter, options);
}

// Ranks 1..: ask for work, evaluate, send the row back, until told to stop.
void run_worker(const sweep::Sweep& sweep, const result::Schema& schema, const RunOptions& options, int rank) {
  const std::string host = host_name();
  MPI_Send(nullptr, 0, MPI_BYTE, 0, kTagReady, MPI_COMM_WORLD);
  while (true) {
    MPI_Status status;
    std::uint32_t msg[2] = {0, 0};
    MPI_Request request;
    MPI_Irecv(msg, 2, MPI_UINT32_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &request);
    wait_idle(request, &status);
    if (status.MPI_TAG == kTagStop) return;
    const Attempt a = run_point(sweep.points.at(msg[0]), msg[1], schema, options.eval, rank, host);
    MPI_Send(a.row.data(), static_cast<int>(a.row.size()), MPI_BYTE, 0, kTagResult, MPI_COMM_WORLD);
    if (options.detail) {
      std::vector<double> flat;
      for (const auto& series : a.step_time_s) flat.insert(flat.end(), series.begin(), series.end());
      MPI_Send(flat.data(), static_cast<int>(flat.size()), MPI_DOUBLE, 0, kTagDetail, MPI_COMM_WORLD);
    }
  }
}

void broadcast_string(std::string& s, int rank) {
  std::uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) s.resize(n);
  MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

int run_mpi(const RunOptions& options, const std::function<void(const RunProgress&)>& on_progress) {
  // Before MPI_Init: a warning signal that arrives while MPI starts (Slurm's, right after the job
  // starts) must be counted, not kill the rank with the default action.
  StopSignals signals;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  signals.reinstall();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // The ranks of this node that evaluate points share its cores (rank 0 only hands out work when
  // there are workers).
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
  int local = 1, is_master = rank == 0 ? 1 : 0, node_has_master = 0;
  MPI_Comm_size(node, &local);
  MPI_Allreduce(&is_master, &node_has_master, 1, MPI_INT, MPI_MAX, node);
  MPI_Comm_free(&node);
  const int local_workers = size == 1 ? 1 : local - node_has_master;
  const unsigned threads = options.threads.value_or(default_threads(local_workers));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  RunOptions opts = options;
  opts.threads = threads;
  opts.eval.parallel = threads > 1;
  opts.eval.step_detail = options.detail;

  int exit_code = kExitOk;
  // Rank 0 plans; the others learn whether to go on, and the sweep's text.
  std::optional<Plan> plan;
  std::string text, columns;  // the sweep's text; the file's policy list (its columns), comma-separated
  int go = 1;
  if (rank == 0) {
    try {
      plan.emplace(make_plan(opts, provenance(true)));
      text = plan->sweep.text;
      columns = core::join(plan->schema->policies(), ",");
      report_resume(*plan, options);
      if (options.verbose) {
        if (size == 1) {
          std::fprintf(stderr, "kvsweep: %zu points, %zu to run in-process (one MPI rank) x %u thread(s)\n",
                       plan->sweep.points.size(), plan->tasks.size(), threads);
        } else {
          std::fprintf(stderr, "kvsweep: %zu points, %zu to run on %d worker rank(s) x %u thread(s)\n",
                       plan->sweep.points.size(), plan->tasks.size(), size - 1, threads);
        }
      }
    } catch (const core::InputError& e) {
      print_input_error(e);
      go = 0;
      exit_code = kExitBadInput;
    } catch (const std::exception& e) {  // e.g. HDF5 refusing a file another run holds open
      std::fprintf(stderr, "kvsweep: error: %s: %s\n", options.out_path.c_str(), e.what());
      go = 0;
      exit_code = kExitBadInput;
    }
  }
  MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (go) {
    broadcast_string(text, rank);
    broadcast_string(columns, rank);
    if (rank == 0) {
      try {
        exit_code = size == 1 ? run_in_process(*plan, opts, signals, on_progress)
                              : run_master(*plan, opts, signals, size, on_progress);
      } catch (const std::exception& e) {
        // Workers wait for rank 0: end the whole job rather than leave them hanging.
        std::fprintf(stderr, "kvsweep: internal error on rank 0: %s\n", e.what());
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
    } else {
      const sweep::Sweep sweep = sweep_from_text(text, options.sweep_path);
      const result::Schema schema(core::split(columns, ','), sweep.axes);
      run_worker(sweep, schema, opts, rank);
    }
  } else if (rank != 0) {
    exit_code = kExitBadInput;
  }
  // Every rank leaves with rank 0's verdict; workers told to stop wait here, idle, for the others.
  MPI_Request request;
  MPI_Ibcast(&exit_code, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_idle(request, MPI_STATUS_IGNORE);
  MPI_Finalize();
  return exit_code;
}

}  // namespace

double estimated_wall_s(double work, unsigned workers, unsigned threads) {
  const double speedup = threads <= 1 ? 1.0 : sweep::kReferenceParallelism * threads / 2.0;
  return work / speedup / std::max(1U, workers);
}

int run_sweep(const RunOptions& options, const std::function<void(const RunProgress&)>& on_progress) {
  if (launched_by_mpi()) return run_mpi(options, on_progress);
  // Alone: no MPI at all.
  const unsigned threads = options.threads.value_or(default_threads(1));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  RunOptions opts = options;
  opts.threads = threads;
  opts.eval.parallel = threads > 1;
  opts.eval.step_detail = options.detail;
  StopSignals signals;
  std::optional<Plan> plan;
  try {
    plan.emplace(make_plan(opts, provenance(false)));
  } catch (const core::InputError& e) {
    print_input_error(e);
    return kExitBadInput;
  } catch (const std::exception& e) {  // e.g. an output path in a missing directory
    std::fprintf(stderr, "kvsweep: error: %s: %s\n", options.out_path.c_str(), e.what());
    return kExitBadInput;
  }
  report_resume(*plan, options);
  if (options.verbose) {
    std::fprintf(stderr, "kvsweep: %zu points, %zu to run in-process x %u thread(s)\n", plan->sweep.points.size(),
                 plan->tasks.size(), threads);
  }
  return run_in_process(*plan, opts, signals, on_progress);
}

}  // namespace kvsweep::driver
