#pragma once
// The token-level oracle as a policy-like result: seed the annealer with the best schedule among the
// baselines, anneal with parallel tempering, and report the best schedule found, re-judged from
// scratch by the cost model. A batch or blocks anneal whole blocks (schedule_oracle.hpp); the exact
// polish and the windows are a lone sequence's.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/oracle/exact.hpp"
#include "kvsweep/oracle/schedule_oracle.hpp"
#include "kvsweep/oracle/tempering.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::oracle {

struct OracleOptions {
  TemperingOptions tempering;
  // Points whose schedule and reads would take more memory than this are not annealed (the oracle then
  // reports its seed schedule); two bits per (token, layer, step) per replica plus the reads.
  double max_memory_gb = 4.0;
  // After annealing, small instances are polished window by window with the exact MILP (exact.hpp).
  PolishOptions polish;
};

struct OracleResult {
  std::string seed_policy;        // the baseline the annealer started from
  double seed_time_s = 0;         // its total time
  ScheduleState best;             // the best schedule found (never worse than the seed)
  double total_time_s = 0;        // its total time, recounted from scratch
  TemperingDiagnostics diagnostics;
  double wall_s = 0;
  PolishStats polish;
};

// Bytes the oracle needs for a point of this shape with `replicas` replicas.
double oracle_memory_bytes(const trace::TraceShape& shape, std::uint32_t replicas);

// Records a policy's whole schedule as an editable ScheduleState (`plan`: fm_dual's guide).
ScheduleState record_schedule(const OracleInstance& inst, const std::string& policy,
                              const config::PolicyParams& params, trace::TraceSource& source,
                              const policy::ResidencyPlan* plan = nullptr);

// Anneals from `start` (whose policy name and time are reported as the seed).
OracleResult anneal_schedule(const OracleInstance& inst, const ScheduleState& start, const std::string& start_name,
                             const OracleOptions& options);

// Re-judges a schedule with cost::Judge (the one cost model), state by state; `source` is a fresh
// stream of the instance's trace. `observe`, when set, sees every state i = 0..D as it is judged.
cost::ScheduleTotals judge_schedule(const OracleInstance& inst, const ScheduleState& s, trace::TraceSource& source,
                                   const std::function<void(std::uint32_t, const cost::Residency&)>& observe = {});

}  // namespace kvsweep::oracle

namespace kvsweep::oracle {

// The oracle for points too large to hold whole: the decode steps are cut into windows of
// `window_steps`; each window is annealed in turn (its start state fixed by the window before; the
// first window may also change the prefill placement), starting from the seed policy's states, and
// the concatenated schedule is judged step by step by cost::Judge as windows finish. Memory: one
// window's bits per replica. Never reported worse than the seed. A lone sequence only (std::invalid_argument
// for a batch or blocks).
struct WindowedResult {
  cost::ScheduleTotals totals;     // of the annealed schedule (or of the seed, when not better)
  double seed_time_s = 0;
  bool improved = false;           // false: the seed's own schedule is reported
  std::uint32_t windows = 0;
  std::uint32_t window_steps = 0;
  TemperingDiagnostics diagnostics;  // summed over windows (moves, rounds, round trips); best vs time
  double wall_s = 0;
};

// Largest window (decode steps, multiple of 64 minus one) whose annealing fits in `max_memory_gb`.
std::uint32_t window_for_memory(const trace::TraceShape& shape, std::uint32_t replicas, double max_memory_gb);

WindowedResult anneal_windowed(trace::TraceSource& source, const cost::MemorySystem& memory,
                               const std::string& seed_policy, const config::PolicyParams& params,
                               std::uint32_t window_steps, const OracleOptions& options,
                               const policy::ResidencyPlan* plan = nullptr);

}  // namespace kvsweep::oracle
