#pragma once
// Exact optima of small instances: the scheduling problem as a mixed-integer linear program, solved by
// COIN-OR Cbc (docs/policies-and-oracle.md "Exact optima"). The model is the cost model of
// cost_model.hpp, term by term:
//
//   y(e, i) in {0, 1}   entry e resident in state i (R(P-1+i)); only where e exists and is read at a
//                       step >= i (holding an entry that is never read again only costs capacity)
//   p(e, i) >= y(e, i) - y(e, i-1), p >= 0        promotion into state i (a1 when read, a2 when not)
//   per step j (n = P + j) and layer l, with h = sum over S(n, l) of y(e, j):
//     T >= (W + e (h - x + a1 + a2 + beta)) / B_hbm
//     T >= e (|S| - h + x + a2) / B_lr,  T >= e / B_lw,  T >= e (|S| - h + x + a2 + 1) / B_dram
//   0 <= x <= h in balanced reads, x = 0 in resident reads;   sum over e of y(e, i) <= C for every i
//   minimise the sum of T.
// Times are scaled to e / B_hbm inside the model; the schedule it returns is re-judged by the one
// cost model, and that judged time is what callers report.

#include <cstdint>
#include <string>
#include <vector>

#include "kvsweep/cost/residency.hpp"
#include "kvsweep/oracle/schedule_oracle.hpp"

namespace kvsweep::oracle {

struct ExactOptions {
  // Refuse instances with more binary variables than this (std::invalid_argument naming both numbers).
  std::uint64_t max_binaries = 20000;
  double max_wall_s = 600;      // Cbc's time limit; an instance not proven optimal by then is reported so
  std::uint64_t max_nodes = 0;  // branch-and-bound node limit (0: none); unlike the wall limit, deterministic
  // Re-solving a window: with `fixed` set, states outside [free_begin, free_end) keep the residency
  // they have in it, and the model drops its dominance rows (a fixed state need not obey them).
  const ScheduleState* fixed = nullptr;
  std::uint32_t free_begin = 0, free_end = 0;
};

struct ExactResult {
  std::vector<cost::Residency> states;  // R(P-1) .. R(P+D-1): an optimal schedule
  double total_time_s = 0;              // its time under the cost model (ScheduleState::exact_total)
  double objective_s = 0;               // Cbc's objective value, for the consistency check
  double bound_s = 0;                   // Cbc's best possible objective: a certified lower bound
  bool proven_optimal = false;
  std::uint64_t binaries = 0;
  std::uint64_t rows = 0;
  std::uint64_t nodes = 0;  // branch-and-bound nodes
  double wall_s = 0;
};

// Binary variables the model of this instance would have (what max_binaries limits).
std::uint64_t exact_binaries(const OracleInstance& inst);

// Builds and solves the MILP. Throws std::invalid_argument when the instance is above the size limit
// or has frozen states (a window of a longer trace).
ExactResult solve_exact(const OracleInstance& inst, const ExactOptions& options = {});

// The LP relaxation of the same model (y continuous in [0, 1], no dominance rows), solved by Clp: a
// lower bound on every capacity-respecting schedule, and the value the Lagrangian bound
// (bound/lagrangian.hpp) converges to. Same size limit and refusals as solve_exact.
struct LpRelaxation {
  double value_s = 0;
  std::uint64_t variables = 0;  // residency variables (what max_binaries limits)
  double wall_s = 0;
};
LpRelaxation solve_lp_relaxation(const OracleInstance& inst, std::uint64_t max_binaries = 20000);

// Large-neighbourhood polish of a schedule: windows of `window_states` states, half-overlapping, from
// the first to the last, each re-solved exactly with every other state fixed; a window's schedule
// replaces the current one when the cost model judges it better.
struct PolishOptions {
  std::uint32_t window_states = 12;
  std::uint64_t max_nodes = 200;      // per window
  std::uint64_t max_binaries = 4000;  // of the whole instance; larger instances are left alone
  std::uint32_t sweeps = 2;           // passes over all windows (stops early after one without gain)
};
struct PolishStats {
  std::uint32_t windows = 0;   // solved
  std::uint32_t improved = 0;  // that replaced the schedule
  double gain_s = 0;           // total time removed
  double wall_s = 0;
};
PolishStats polish_windows(const OracleInstance& inst, ScheduleState& s, const PolishOptions& options = {});

}  // namespace kvsweep::oracle
