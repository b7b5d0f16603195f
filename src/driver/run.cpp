// The run loop: in-process for one rank, master/worker over MPI otherwise. See driver/run.hpp.
#include "kvsweep/driver/run.hpp"
#include "kvsweep/sweep/cost.hpp"

#include <mpi.h>
#include <tbb/global_control.h>
#include <tbb/version.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <stop_token>
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
constexpr int kTagDetail = 5;  // after a result with --detail: the per-step series (encode_detail)

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
    p_.phase.clear();
    tick();
  }
  void tick() {
    if (on_progress_) on_progress_(p_);
  }
  void phase(std::string text) {
    p_.phase = std::move(text);
    tick();
  }
  const RunProgress& progress() const { return p_; }

 private:
  const Plan& plan_;
  const std::function<void(const RunProgress&)>& on_progress_;
  RunProgress p_;
};

// The point in progress through the Lagrangian bound, in the progress line; with --verbose, a line when
// it starts: why, what it may cost, how to skip it.
std::function<void(std::uint32_t, std::uint32_t, double)> bound_phase(Reporter& reporter, const sweep::SweepPoint& point,
                                                                      bool verbose) {
  return [&reporter, &point, verbose](std::uint32_t pass, std::uint32_t passes, double gap) {
    char text[96];
    if (pass == 0 && verbose) {
      std::fprintf(stderr,
                   "kvsweep: point %s (%s): Lagrangian bound, the baselines' certified gap %.3g %% above "
                   "oracle.lagrangian_gap; up to %u passes, estimated up to %.0f s (oracle.lagrangian_passes: 0 skips it)\n",
                   point.id.c_str(), point.spec.source.c_str(), 100 * gap, passes, point.estimated_lagrangian_s);
    }
    std::snprintf(text, sizeof text, "bound pass %u/%u, gap %.3g %%", pass, passes, 100 * gap);
    reporter.phase(text);
  };
}

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
void print_stopped(const StopTally& t, const RunOptions& options, const char* why = "",
                   const char* cause = "stopped by a signal") {
  std::fprintf(stderr,
               "kvsweep: %s: rerun with --resume to finish; this run wrote %llu ok and %llu failed "
               "row(s); %llu point(s) in flight abandoned, %llu not started; %s has %llu rows%s\n",
               cause, static_cast<unsigned long long>(t.done), static_cast<unsigned long long>(t.failed),
               static_cast<unsigned long long>(t.abandoned), static_cast<unsigned long long>(t.not_started),
               options.out_path.c_str(), static_cast<unsigned long long>(t.rows), why);
}

// The last line of a run whose results file refused a write: what is safe, what to do.
int report_write_error(const result::WriteError& e, std::uint64_t ok, std::uint64_t failed) {
  std::fprintf(stderr,
               "kvsweep: error: %s: cannot write the results: %s; the %llu ok and %llu failed row(s) this run wrote "
               "before are intact; fix that, then rerun with --resume\n",
               e.path().c_str(), e.what(), static_cast<unsigned long long>(ok), static_cast<unsigned long long>(failed));
  return kExitWriteError;
}

// A finished point into the file: its per-step detail first, then its row, which is what marks the point
// done (a detail group without a row is replaced when the point runs again). Throws result::WriteError.
void store(Plan& plan, const Task& t, std::span<const std::byte> row, bool ok,
           const std::vector<eval::PointResult::StepSeries>* detail) {
  if (detail != nullptr && ok) {
    std::vector<std::string> names;
    std::vector<std::vector<double>> series;
    for (const auto& s : *detail) {
      names.push_back(s.policy);
      series.push_back(s.step_time_s);
    }
    plan.file->write_detail(plan.sweep.points[t.point].id, names, series);
  }
  plan.file->append(row);
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
  std::uint64_t rows = 0;
  try {
    if (complete) plan.file->set_end_time();  // a stopped run leaves end_time as it was
    rows = plan.file->rows();
    plan.file->close();
  } catch (const result::WriteError& e) {
    return report_write_error(e, p.done, p.failed);
  }
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
  std::atomic<std::uint64_t> ok_rows{0}, failed_rows{0};
  const std::uint64_t rows_before = plan.file->rows();
  const std::uint64_t total = plan.tasks.size();
  auto abandon = [&](const char* why) {
    const std::uint64_t ok = ok_rows, failed = failed_rows;
    const std::uint64_t left = total - ok - failed;
    print_stopped({ok, failed, left > 0 ? 1U : 0U, left > 0 ? left - 1 : 0, rows_before + ok + failed}, options, why);
    std::_Exit(kExitStopped);
  };
  // Declared after everything it uses, and joined by its destructor however this function ends (an
  // exception included: a joinable std::thread would std::terminate the process).
  std::jthread watchdog([&](const std::stop_token& stop) {
    std::optional<Clock::time_point> deadline;
    bool killed = false;
    while (!stop.stop_requested()) {
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
  eval::EvalOptions eval = options.eval;
  for (const Task& t : plan.tasks) {
    if (signals.count() > 0) break;
    const sweep::SweepPoint& point = plan.sweep.points[t.point];
    if (options.verbose) {
      std::fprintf(stderr, "kvsweep: point %s (%s), attempt %u\n", point.id.c_str(), point.spec.source.c_str(),
                   t.attempt);
    }
    eval.lagrangian_progress = bound_phase(reporter, point, options.verbose);
    const Attempt a = run_point(point, t.attempt, *plan.schema, eval, 0, host);
    try {
      store(plan, t, a.row, a.ok, options.detail ? &a.detail : nullptr);
    } catch (const result::WriteError& e) {
      return report_write_error(e, ok_rows, failed_rows);
    }
    if (!a.ok) report_failure(plan, t, a.error);
    ++(a.ok ? ok_rows : failed_rows);
    reporter.row(t, a.ok);
  }
  watchdog.request_stop();
  watchdog.join();
  return finish(plan, reporter, options);
}

// The per-step series a worker sends right after a row (none for a failed point).
std::vector<eval::PointResult::StepSeries> receive_detail(int worker) {
  MPI_Status status;
  MPI_Probe(worker, kTagDetail, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<std::byte> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_BYTE, worker, kTagDetail, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return decode_detail(bytes);
}

// A worker rank as it introduced itself (its first message): where it runs, to tell later whether it died.
struct WorkerId {
  long pid = 0;
  std::string host;
};

// How a process of this node ended, if it has: "" while it runs; "exited" when it is gone (reaped: how
// it ended is no longer known here); "killed by signal N" while it is a zombie.
std::string ended(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH ? "gone" : "";
  // pid (comm) state ... ; the state follows the last ')' (comm may hold parentheses).
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z') return "";
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long exit_code = -1;
  for (int i = 3; rest >> field; ++i) {  // field 52: the exit status as waitpid reports it
    if (i == 52) exit_code = std::atol(field.c_str());
  }
  if (exit_code >= 0 && (exit_code & 0x7f) != 0) return "killed by signal " + std::to_string(exit_code & 0x7f);
  if (exit_code >= 0) return "exited with status " + std::to_string((exit_code >> 8) & 0xff);
  return "gone";
}

// The worker ranks of this node that are no longer running, as "rank 2 (pid 4711, killed by signal 9)".
std::vector<std::string> dead_workers(const std::map<int, WorkerId>& workers, const std::string& host) {
  std::vector<std::string> dead;
  for (const auto& [rank, w] : workers) {
    if (w.host != host || w.pid <= 0) continue;
    const std::string how = ended(w.pid);
    if (how.empty()) continue;
    dead.push_back("rank " + std::to_string(rank) + " (pid " + std::to_string(w.pid) +
                   (how == "gone" ? std::string() : ", " + how) + ")");
  }
  return dead;
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
  std::string rank_died;  // "stopped: worker rank 2 (pid 4711) died ...", when mpirun ends the job for that
  Clock::time_point deadline{};
  auto last_tick = Clock::now();
  std::vector<std::byte> buffer;
  std::map<int, WorkerId> workers;
  const std::string host = host_name();

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
    try {
      plan.file->close();
    } catch (const result::WriteError&) {  // every row was flushed when it was written: nothing is lost
    }
    print_stopped({p.done, p.failed, in_flight.size(), queue.size(), rows}, options, why,
                  rank_died.empty() ? "stopped by a signal" : rank_died.c_str());
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
      if (status.MPI_TAG == kTagReady) {  // "<pid> <host>"
        std::istringstream in(std::string(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
        WorkerId w;
        in >> w.pid >> w.host;
        workers[status.MPI_SOURCE] = w;
      }
      if (status.MPI_TAG == kTagResult) {
        const Task t = in_flight.at(status.MPI_SOURCE);
        in_flight.erase(status.MPI_SOURCE);
        const bool ok = plan.schema->status(buffer) == "ok";
        std::vector<eval::PointResult::StepSeries> detail;
        if (options.detail) detail = receive_detail(status.MPI_SOURCE);
        try {
          store(plan, t, buffer, ok, options.detail ? &detail : nullptr);
        } catch (const result::WriteError& e) {
          const RunProgress& p = reporter.progress();
          report_write_error(e, p.done, p.failed);
          try {
            plan.file->close();  // and its lock: MPI_Abort ends this process without destructors
          } catch (const result::WriteError&) {
          }
          MPI_Abort(MPI_COMM_WORLD, kExitWriteError);  // the workers wait for rank 0: end the job
        }
        if (!ok) report_failure(plan, t, plan.schema->get_string(buffer, "error"));
        reporter.row(t, ok);
      }
      hand_out(status.MPI_SOURCE);
      continue;
    }
    const int n = signals.count();
    if (n >= 2) {
      std::fprintf(stderr, "kvsweep: second signal: stopping now\n");
      abandon(killed && rank_died.empty() ? kKilledAdvice : "", killed);
    }
    if (n == 1 && !stopping) {
      stopping = true;
      const double grace = stop_grace(signals, options.grace_s, killed);
      deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace));
      // mpirun also ends the job when a rank dies: then say which, not "Ctrl-C".
      const std::vector<std::string> dead = killed ? dead_workers(workers, host) : std::vector<std::string>{};
      if (!dead.empty()) {
        const std::string which = core::join(dead, ", ");
        std::fprintf(stderr, "kvsweep: worker %s died; mpirun ends the whole job when a rank dies (signal %d to "
                     "rank 0); the %zu other point(s) in flight get up to %g s\n", which.c_str(), signals.last(),
                     in_flight.size() - std::min(in_flight.size(), dead.size()), grace);
        rank_died = "stopped: worker " + which + " died, and mpirun ends the whole job when a rank dies";
      } else {
        std::fprintf(stderr, "kvsweep: signal %d%s: no new points; %zu in flight get up to %g s\n", signals.last(),
                     killed ? " from mpirun, which kills the job soon (a Ctrl-C, or a rank that died on another "
                              "node: mpirun's own message says which)" : "",
                     in_flight.size(), grace);
      }
    }
    if (stopping && !in_flight.empty() && Clock::now() > deadline) {
      std::fprintf(stderr, "kvsweep: grace period over: abandoning %zu point(s) in flight\n", in_flight.size());
      abandon(killed && rank_died.empty() ? kKilledAdvice : "", killed);
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
  std::string hello = std::to_string(getpid()) + " " + host;  // rank 0 tells from it whether we died
  MPI_Send(hello.data(), static_cast<int>(hello.size()), MPI_BYTE, 0, kTagReady, MPI_COMM_WORLD);
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
      const std::vector<std::byte> detail = encode_detail(a.detail);
      MPI_Send(detail.data(), static_cast<int>(detail.size()), MPI_BYTE, 0, kTagDetail, MPI_COMM_WORLD);
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
