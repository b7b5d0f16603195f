#pragma once
// One pass over a trace that drives every policy side by side: the trace is read once into a ring of
// look-ahead steps, and at each decode step every policy decides and its own Judge scores the decision.
// Policies run in parallel (TBB) within a step; the next step is read while they run.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::eval {

struct PolicyRun {
  std::string name;
  cost::ScheduleTotals totals;
  double cpu_s = 0;  // time spent in this policy's decisions and its judge, summed over steps
};

struct SimulationResult {
  std::vector<PolicyRun> policies;  // in the order given
  bound::BoundTotals bounds;
  double trace_s = 0;  // time spent producing the trace
  double wall_s = 0;
};

// Sees every schedule as it is produced: after place_prefill (n = P - 1) and after every step n.
// Called from the worker thread of that policy; calls for one policy are sequential.
using ScheduleObserver = std::function<void(std::size_t policy_index, std::uint32_t n, const cost::Residency&)>;

struct SimulationOptions {
  bool parallel = true;        // false: everything on the calling thread, in order
  bool record_steps = false;   // keep per-(n, l) StepRecords in each Judge
  ScheduleObserver observer;   // optional
  // Called after each decode step with (steps done, total steps); from the calling thread.
  std::function<void(std::uint32_t, std::uint32_t)> progress;
};

SimulationResult simulate(trace::TraceSource& source, const cost::MemorySystem& memory,
                          std::vector<std::unique_ptr<policy::Policy>>& policies,
                          const SimulationOptions& options = {},
                          std::vector<std::vector<cost::StepRecord>>* records = nullptr);

}  // namespace kvsweep::eval
