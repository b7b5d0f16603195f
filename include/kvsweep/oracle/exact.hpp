#pragma once
// Exact optima of small instances: the scheduling problem as a mixed-integer linear program, solved by
// COIN-OR Cbc (docs/policies-and-oracle.md "Exact optima"). Two models, each the cost model of
// cost_model.hpp term by term.
//
// A lone sequence placed token by token (OracleInstance), per entry:
//
//   y(e, i) in {0, 1}   entry e resident in state i (R(P-1+i)); only where e exists and is read at a
//                       step >= i (holding an entry that is never read again only costs capacity)
//   p(e, i) >= y(e, i) - y(e, i-1), p >= 0        promotion into state i (a1 when read, a2 when not)
//   per step j (n = P + j) and layer l, with h = sum over S(n, l) of y(e, j):
//     T >= (W + e (h - x + a1 + a2 + beta)) / B_hbm
//     T >= e (|S| - h + x + a2) / B_lr,  T >= e / B_lw,  T >= e (|S| - h + x + a2 + 1) / B_dram
//   0 <= x <= h in balanced reads, x = 0 in resident reads;   sum over e of y(e, i) <= C for every i
//   minimise the sum of T.
// It leaves a per-transfer cost O out (as the annealer's ScheduleState does): eval gives a point with
// O > 0 to the block model.
//
// A batch, blocks of k > 1 tokens or a per-transfer cost O > 0 (BlockInstance; docs/design/batches.md),
// per block c = (sequence b, layer l, tokens [q k, q k + k)), which exists from the state its first
// token exists (first(c)) and takes k entries of capacity while resident:
//
//   z(c, i) in {0, 1}   block c resident in state i, for first(c) <= i <= its last read step
//   p(c, i) >= z(c, i) - z(c, i-1), p >= 0 for first(c) < i: a promotion of the whole block; its E(c, i-1)
//                       tokens that exist in state i-1 (the step's new token is beta, never promoted)
//                       are a1 when read at step i-1, a2 when not
//   per step j and layer l, over the blocks c of layer l with r(c, j) of their tokens read at step j:
//     h = sum r(c, j) z(c, j),  a1 + a2 = sum E(c, j) p(c, j+1),  a2 = sum (E(c, j) - r(c, j)) p(c, j+1),
//     beta = sum of z(c, j+1) over the blocks that step j's new tokens join (one per sequence),
//     transfers = sum over read blocks of (1 - z(c, j)) + sum over unread ones of p(c, j+1)
//                 (a block read while not resident, promoted, or both, counted once; promoted implies
//                 not resident, so a read block's transfer is 1 - z alone)
//     T >= (W + e (h - x + a1 + a2 + beta)) / B_hbm
//     T >= (e (|S| - h + x + a2) + O transfers) / B_lr,   T >= (e + O) B / B_lw,
//     T >= e (|S| - h + x + a2 + B) / B_dram;   x as above;   sum over c of k z(c, i) <= C for every i
// Both models keep the dominance rows "a residency run ends at a read": y(i) <= y(i+1) (z likewise)
// when step i does not read the entry (block); evicting one state earlier frees capacity and costs no
// more.
//
// Times are scaled to e / B_hbm inside the models; the schedule they return is re-judged by the one
// cost model (cost::Judge), and that judged time is what callers report.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/cost/residency.hpp"
#include "kvsweep/oracle/schedule_oracle.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::oracle {

struct ExactOptions {
  // Refuse instances with more binary variables than this (std::invalid_argument naming both numbers).
  std::uint64_t max_binaries = 20000;
  double max_wall_s = 600;      // Cbc's time limit; an instance not proven optimal by then is reported so
  std::uint64_t max_nodes = 0;  // branch-and-bound node limit (0: none); unlike the wall limit, deterministic
  // Re-solving a window (the per-entry model only): with `fixed` set, states outside
  // [free_begin, free_end) keep the residency they have in it, and the model drops its dominance rows
  // (a fixed state need not obey them).
  const ScheduleState* fixed = nullptr;
  std::uint32_t free_begin = 0, free_end = 0;
};

struct ExactResult {
  std::vector<cost::Residency> states;  // R(P-1) .. R(P+D-1): an optimal schedule
  double total_time_s = 0;              // its time under the cost model (ScheduleState::exact_total; the
                                        // judge's, cost::Judge, for a BlockInstance)
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

// Builds and solves the per-entry MILP. Throws std::invalid_argument when the instance is above the size
// limit, has frozen states (a window of a longer trace), or is a batch or has blocks (BlockInstance).
ExactResult solve_exact(const OracleInstance& inst, const ExactOptions& options = {});

// Does the point need the block model: a batch, blocks of k > 1 tokens, or a per-transfer cost O > 0?
bool needs_block_model(const trace::TraceShape& shape, const cost::MemorySystem& memory);

// The block model's instance: shape, memory system and every step's reads, held whole (small instances
// only: D * L * space() bits). Any shape, a lone sequence placed token by token included (where the
// block model is the per-entry model with one entry per block). Throws std::invalid_argument when the
// memory system is set up for another B or k than the trace, or a step reads a position whose token
// does not exist yet.
class BlockInstance {
 public:
  BlockInstance(trace::TraceSource& source, const cost::MemorySystem& memory);
  const trace::TraceShape& shape() const { return shape_; }
  const cost::MemorySystem& memory() const { return memory_; }
  // S(P + j, ·): one bitset of shape().space() positions per layer.
  std::span<const core::TokenBitset> reads(std::uint32_t j) const { return reads_[j]; }

 private:
  trace::TraceShape shape_;
  cost::MemorySystem memory_;
  std::vector<std::vector<core::TokenBitset>> reads_;  // [j][l]
};

std::uint64_t exact_binaries(const BlockInstance& inst);

// Builds and solves the block MILP; states are Residencies of shape().space() positions, total_time_s
// the judge's time of them. Same size limit as the per-entry model; options.fixed must be null
// (std::invalid_argument otherwise).
ExactResult solve_exact(const BlockInstance& inst, const ExactOptions& options = {});

// cost::Judge over a schedule given as its states R(P-1) .. R(P+D-1) (Residencies of shape().space()
// positions), reading the steps from `source`, capacity enforced: what eval reports for `exact`.
// Throws std::logic_error where the judge does (a broken rule), std::invalid_argument when the number of
// states is not D + 1.
cost::ScheduleTotals judge_states(const std::vector<cost::Residency>& states, const cost::MemorySystem& memory,
                                  trace::TraceSource& source);

// The LP relaxation of the per-entry model (y continuous in [0, 1], no dominance rows), solved by Clp: a
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
// replaces the current one when the cost model judges it better. Per-entry model: a batch or blocks are
// left alone.
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
