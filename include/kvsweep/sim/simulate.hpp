#pragma once
// One pass over a trace that drives every policy side by side: the trace is read once into a ring of
// look-ahead steps, and at each decode step every policy decides and its own Judge scores the decision.
// Policies run in parallel (TBB), each over a chunk of steps at a time; the next chunk of the trace
// is produced while they run. Results do not depend on the chunk size or on the number of threads.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::sim {

struct PolicyRun {
  std::string name;
  cost::ScheduleTotals totals;
  double cpu_s = 0;  // CPU time of this policy's decisions and its judge (thread CPU clock)
};

struct SimulationResult {
  std::vector<PolicyRun> policies;  // in the order given
  bound::BoundTotals bounds;
  double trace_s = 0;  // time spent producing the trace
  double wall_s = 0;
};

// Sees every schedule as it is produced: after place_prefill (n = P - 1, `reads` empty) and after every
// step n (`reads` = S(n, ·)). Called from the worker thread of that policy; calls for one policy are
// sequential.
using ScheduleObserver = std::function<void(std::size_t policy_index, std::uint32_t n, const cost::Residency&,
                                            std::span<const core::TokenBitset> reads)>;

struct SimulationOptions {
  bool parallel = true;        // false: everything on the calling thread, in order
  bool record_steps = false;   // keep per-(n, l) StepRecords in each Judge
  std::uint32_t chunk_steps = 32;  // decode steps a policy runs per task
  ScheduleObserver observer;   // optional
  // Called after each decode step with (steps done, total steps); from the calling thread.
  std::function<void(std::uint32_t, std::uint32_t)> progress;
};

// Throws std::invalid_argument for a trace shape with P, D or L of 0 (the trace readers refuse those).
SimulationResult simulate(trace::TraceSource& source, const cost::MemorySystem& memory,
                          std::vector<std::unique_ptr<policy::Policy>>& policies,
                          const SimulationOptions& options = {},
                          std::vector<std::vector<cost::StepRecord>>* records = nullptr);

}  // namespace kvsweep::sim
