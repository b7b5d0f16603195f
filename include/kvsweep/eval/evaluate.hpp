#pragma once
// evaluate_point: design point -> trace -> every policy and both bounds -> one PointResult.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/config/point.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/cost/miss_profile.hpp"
#include "kvsweep/oracle/exact.hpp"
#include "kvsweep/oracle/tempering.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::eval {

struct PolicyResult {
  std::string name;
  cost::PolicyMetrics metrics;
  double cpu_s = 0;
  bool online = false;  // policy::information_of(name) == kOnline: it decided from past reads only
  bool respects_capacity = true;  // false for unlimited_hbm (and a replayed schedule that says so)
  std::optional<cost::MissProfile> misses = std::nullopt;  // EvalOptions::miss_profile: its misses by reuse distance
};

// What the token-level oracle did on a point.
struct OracleReport {
  bool annealed = false;      // false: the point was too large (oracle.max_memory_gb); the seed stands
  std::string note;           // why not annealed
  std::string seed_policy;    // the best capacity-respecting baseline, where the annealer started
  double seed_time_s = 0;
  double gap_to_bound = 0;    // oracle time / max(lower bounds) - 1
  double wall_s = 0;
  oracle::TemperingDiagnostics diagnostics;
  oracle::PolishStats polish;  // the exact window polish (small points only)
  // The paper's SA over sa_guided's knobs, run first: sa_guided is then reported at (W*, R*).
  bool sa_tuned = false;
  std::uint32_t sa_window = 0;       // W*
  double sa_fraction = 0;            // R*
  std::uint32_t sa_evaluations = 0;  // distinct (W, R) simulated
  std::uint32_t sa_passes = 0;       // passes over the trace
  double sa_wall_s = 0;
  oracle::TemperingDiagnostics sa_diagnostics;
};

// What the exact MILP (policy `exact`) did on a point.
struct ExactReport {
  bool proven_optimal = false;  // false: the node budget ran out; the schedule is Cbc's best
  double bound_s = 0;           // Cbc's best possible time: a certified lower bound
  std::uint64_t binaries = 0;
  std::uint64_t rows = 0;
  std::uint64_t nodes = 0;
  double wall_s = 0;
};

// What the Lagrangian bound did on a point (computed only where the gap asked for it).
struct LagrangianReport {
  bool computed = false;
  std::string note;    // why not computed, when it was wanted
  double bound_s = 0;  // certified (double precision at the best duals)
  double start_s = 0;  // at free_migration's duals
  std::uint32_t passes = 0;
  double wall_s = 0;
  std::string stop_reason;
  std::vector<std::pair<std::uint32_t, double>> best_by_pass;  // (pass, best value so far), at 1, 2, 5, 10, 20, ...
};

// The largest certified lower bound of a point and which one it is: bandwidth_split, free_migration,
// lagrangian or exact (the MILP's own bound; the optimum when proven).
struct LowerBound {
  double value_s = 0;
  const char* kind = "bandwidth_split";
};

// A schedule's certified gap, time_s / bound_s - 1 (the optimum lies between the two). The bounds are
// sums of the same per-step terms as the schedules, in another order: a schedule that meets its bound
// can come out 1e-14 below it. A gap within kGapTolerance of 0 is therefore exactly 0, and one further
// below is a bound above a schedule (check_bounds refuses the point). NaN when bound_s <= 0.
inline constexpr double kGapTolerance = 1e-9;
double certified_gap(double time_s, double bound_s);

struct PointResult {
  std::string point_id;
  std::string name;    // the point's label, may be empty
  std::string source;  // where the point was defined
  trace::TraceShape shape;
  cost::MemorySystem memory;
  std::uint64_t footprint_entries = 0;  // (P + D) * L
  std::vector<PolicyResult> policies;
  bound::BoundTotals bounds;
  std::optional<OracleReport> oracle;  // when `oracle` was among the policies
  std::optional<ExactReport> exact;    // when `exact` was among the policies
  std::optional<LagrangianReport> lagrangian;  // when the gap after every policy was above oracle.lagrangian_gap
  double trace_s = 0;
  double policies_wall_s = 0;  // the one pass of every simulated policy and the bounds
  bool policies_in_tuning = false;  // that pass was the (W, R) tuning's first (its time is in sa_wall_s)
  double wall_s = 0;
  // With EvalOptions::step_detail: per policy that produced a schedule step by step (the simulated
  // ones in `policies` order, then fm_dual when the Lagrangian bound ran; the oracle and exact
  // excluded), the time of
  // each decode step summed over layers, s. Each series names its policy: which ones ran depends on
  // the point, not only on its policy list.
  struct StepSeries {
    std::string policy;
    std::vector<double> step_time_s;  // D values
  };
  std::vector<StepSeries> step_detail;

  const PolicyResult* find(const std::string& policy) const;
  LowerBound lower_bound() const;
  // The fastest capacity-respecting schedule (every policy but unlimited_hbm); null when none ran.
  const PolicyResult* best_schedule() const;
  // certified_gap of the best schedule to the largest bound; NaN when no schedule ran.
  double best_gap() const;
  // The fastest capacity-respecting online policy (policy::Information::kOnline: static, reactive_lru,
  // ...); null when none ran.
  const PolicyResult* best_online() const;
  // certified_gap of best_online() to the largest bound; NaN when none ran.
  double online_gap() const;
  // The share of the headroom best_online() captures: (static - best online) / (static - bound); NaN
  // without static or an online policy, or where static is within kGapTolerance of the bound.
  double headroom_captured() const;
};

// The sanity of a point's bounds, after every schedule is known: each bound finite and >= 0, none above
// a schedule it bounds by more than kGapTolerance (bandwidth_split: every schedule; the others: every
// capacity-respecting one), every schedule's time finite and > 0. Throws std::runtime_error naming what
// failed: the point then fails (its row says why) rather than store a number that is not a bound.
void check_bounds(const PointResult& result);

struct EvalOptions {
  bool parallel = true;
  // Command-line overrides of the point's oracle settings (unset: the point's).
  std::optional<double> oracle_moves;
  std::optional<double> oracle_wall_s;
  std::optional<std::uint32_t> oracle_replicas;
  bool step_detail = false;  // fill PointResult::step_detail
  // Non-empty: every schedule the point produces is written to <dir>/<policy>.h5 (schedule/schedule_file.hpp;
  // the directory must exist). The oracle's is not when it annealed in windows (its report says so).
  std::string record_schedule_dir;
  // Profile every policy's misses by reuse distance (PolicyResult::misses; kvsweep eval --misses). The
  // policies then run in a pass of their own, not in the (W, R) tuning's.
  bool miss_profile = false;
  // The schedule file that the policy named "schedule" replays (kvsweep judge).
  std::string schedule_file;
  // Called with (steps done, total) from the evaluating thread.
  std::function<void(std::uint32_t, std::uint32_t)> progress;
  // The Lagrangian bound, from the evaluating thread: (passes done, passes allowed, certified gap of the
  // best schedule to the best bound so far). Pass 0 when it starts, with the gap the baselines left.
  std::function<void(std::uint32_t, std::uint32_t, double)> lagrangian_progress;
};

// config::point_id, kept here for the callers that know points as evaluation inputs.
std::string point_id(const config::PointSpec& point);

// The trace a point asks for: its file, or the synthetic generator seeded from the point.
std::unique_ptr<trace::TraceSource> make_trace_source(const config::PointSpec& point);

// Throws core::InputError for bad input discovered late (trace file contents, unresolvable capacity).
PointResult evaluate_point(const config::PointSpec& point, const EvalOptions& options = {});

// kvsweep judge: the schedule in `schedule_file` scored on the point's trace beside `static` and the
// point's bounds (the Lagrangian too where the point's settings ask for it). The schedule's row is named
// "schedule". Throws core::InputError naming the file (and state, sequence, layer, block) for a bad one.
PointResult judge_point(const config::PointSpec& point, const std::string& schedule_file, EvalOptions options = {});

}  // namespace kvsweep::eval
