#pragma once
// The Lagrangian bound (docs/policies-and-oracle.md "Bounds"): the LP relaxation of the exact problem
// (the MILP of oracle/exact.hpp), approached from below through its Lagrangian dual, at any scale.
//
// In units of e / B_hbm, step (j, l) with s reads costs T = max(H, LR, LW, DR) with
//   H = w + (h - x) + a1 + a2 + beta,  LR = r_lr (s - h + x + a2),  LW = r_lw,  DR = r_d (s - h + x + a2 + 1)
// (w = W / e, r_* = B_hbm / B_*; x = 0 with resident reads, 0 <= x <= h with balanced reads), and
// T >= lo, its bandwidth_split value, for every schedule. For weights pi = (pi_H, pi_LR, pi_DR) >= 0
// with pi_H + pi_LR + pi_DR <= 1 per (j, l), and a capacity price lambda_i >= 0 per state,
//   T >= (1 - sum pi) lo + pi_H H + pi_LR LR + pi_DR DR,   and   lambda_i (occupancy_i - C) <= 0,
// so the sum over all steps of the right-hand sides, plus the capacity terms, is below the time of
// every capacity-respecting schedule. Minimised over schedules without the capacity constraint this
// separates into one two-state (in / out of HBM) shortest path per entry, with prices per event:
//   hold in state i: lambda_i;  hit at (j, l): a - b (resident) or min(0, a - b) (balanced);
//   piggy-back or keep the new entry at (j, l): a;  prefetch: a + b;
// where a = pi_H, b = r_lr pi_LR + r_d pi_DR. Every (pi, lambda) gives a certified lower bound; the
// best of them equals the LP relaxation. The dual is maximised by the volume algorithm (Barahona and
// Anbil 2000: subgradient steps along the average of the recent primal solutions, steps that improve
// the bound move the centre), started from free_migration's own duals, so that its first value is
// already >= free_migration's (fractional) value.
//
// In a batch (B sequences, blocks of k tokens, O bytes per transfer; docs/policies-and-oracle.md "In a
// batch"), with o = O / e, t = r_lr pi_LR o the price of one transfer and tr the transfers:
//   H = w + (h - x) + a1 + a2 + beta (beta <= B),  LR = r_lr (s - h + x + a2 + o tr),  DR = r_d (s - h + x + a2 + B)
// and lo the batched bandwidth_split (LW = r_lw B (1 + o) stays in lo). Every count is one a schedule
// fixes per (j, l), so the Lagrangian separates over the batch's token space (each sequence's segment,
// a token existing from the step that creates it):
//   k = 1: one path per token; every miss and every prefetch is a transfer: hit price - t, prefetch + t;
//   k >= 2: one path per block, in or out whole: held in state i, k lambda_i (k entries of C from its
//     first token on) plus its reads' hit prices; out and read at step j, t; promoted at step j, a per
//     read token, a + b per other existing token, a for a new token it takes, and t unless read at j;
//     held, a for its sequence's new token; a block with no existing token cannot be held.
// Valid: every schedule that keeps the rules is one path per block (token), whose prices sum to its own
// hits, a1, a2, beta, transfers and held entries, i.e. to the weighted sum above at that schedule, which
// is <= its time; the least over all paths (capacity only priced, each step's max relaxed) is lower still.
// Promotions at the last step, priced >= 0, are left out.

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kvsweep/core/huge_pages.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::bound {

// Every read of a trace, layer by layer and step by step: row (l, j) = S(P + j, l) as words over the
// layer's token space (trace::TraceShape::space(): every sequence of a batch, in its segment). What the
// paths sweep, state by state. Memory: L * D * space() / 8 bytes.
class StepMajorReads {
 public:
  explicit StepMajorReads(trace::TraceSource& source);
  const trace::TraceShape& shape() const { return shape_; }
  std::size_t words() const { return words_; }
  const core::Word* row(std::uint32_t l, std::uint32_t j) const {
    return bits_.data() + (static_cast<std::size_t>(l) * shape_.decode_tokens + j) * words_;
  }
  std::uint32_t count(std::uint32_t j, std::uint32_t l) const { return counts_[static_cast<std::size_t>(j) * shape_.layers + l]; }
  double bytes() const { return static_cast<double>(bits_.size() * sizeof(core::Word) + counts_.size() * 4); }

 private:
  trace::TraceShape shape_;
  std::size_t words_ = 0;
  core::HugeVector<core::Word> bits_;  // from the huge-page arena (reused by the oracle after it)
  std::vector<std::uint32_t> counts_;
};

// A dual point. Per (j, l), index j * L + l: the weights of the HBM, link-read and DRAM terms; per
// state i < D (state i serves step i): the capacity price. Prices in units of e / B_hbm.
struct LagrangianDuals {
  std::vector<double> hbm, link, dram;
  std::vector<double> capacity;
};

// What the paths do at a dual point, summed: per (j, l) the hits, piggy-backs, prefetches, kept new
// entries and transfers (blocks crossing towards the GPU; with k = 1 every miss and every prefetch);
// per state the entries held (k per held block).
struct PathCounts {
  std::vector<std::uint32_t> hits, piggyback, prefetch, kept_new, transfers;  // [j * L + l]
  std::vector<std::uint64_t> occupancy;                                       // [i]
};

// How the paths are computed: every kernel gives the same paths; kAuto takes the widest this machine
// has (AVX-512, AVX2, plain C++).
enum class PathKernel { kAuto, kScalar, kAvx2, kAvx512 };
bool kernel_available(PathKernel k);

// The value of the Lagrangian at `duals` (a certified lower bound, in seconds), with the paths'
// counts. `precise`: the paths in double precision (for a certificate); otherwise in float, whose
// value is exact for the paths found but those may miss the optimum by rounding (a search step).
// Throws std::invalid_argument when the duals are infeasible (negative, or weights summing above 1).
double lagrangian_value(const StepMajorReads& reads, const cost::MemorySystem& m, const LagrangianDuals& duals,
                        PathCounts& counts, bool precise, bool parallel = true, PathKernel kernel = PathKernel::kAuto);

// The entries the cheapest paths hold at `duals` (double precision): bit t of words
// [(l * D + i) * words(), ...) is set when position t's layer-l entry is in HBM in state i (R(P - 1 + i));
// positions as the trace's layout places a batch (TraceShape::base), a held block's existing tokens all set.
// Capacity may be exceeded (it is only priced): a plan for a schedule, not a schedule.
std::vector<core::Word> lagrangian_paths(const StepMajorReads& reads, const cost::MemorySystem& m,
                                         const LagrangianDuals& duals, bool parallel = true);

// free_migration's duals: per step, the knapsack's capacity price and each layer's active terms. With
// blocks (k >= 2), of free_migration's knapsack over blocks (a block with r of its k tokens read: r hits
// for k entries of C, densest first), which is >= free_migration: over tokens C may not bind where over
// blocks it does, and from a price of 0 with every hit priced 0 the search does not move.
LagrangianDuals free_migration_duals(const StepMajorReads& reads, const cost::MemorySystem& m);

// Duals that price nothing: the value is bandwidth_split.
LagrangianDuals zero_duals(const StepMajorReads& reads);

struct LagrangianOptions {
  std::uint32_t max_passes = 100;  // evaluations of the paths (each a pass over every entry and state)
  double max_wall_s = 0;           // 0: none (a limit makes the bound timing-dependent)
  double upper_bound_s = 0;  // time of the best known schedule (the step length aims at it); 0: none
  double stop_gap = 0;       // stop once upper_bound_s / bound - 1 is at most this
  // The volume algorithm's knobs (every setting gives a valid bound, they only change how fast it
  // rises): the first Polyak step factor; the weight of the newest subgradient in the average, and the
  // smaller one from pass `average_switch` on; the step of the capacity prices relative to the term
  // weights', divided by the layers L (a capacity subgradient sums over all L layers, a term's covers
  // one: a fixed factor over-steps the prices more as L grows); the failed steps in a row before the
  // factor shrinks. Measured against converged bounds (random_swap high at 1/32 and 1/8 scale, L = 32:
  // 0.6 % of the best schedule in ~180 passes instead of ~6,900; spans and the small instances the
  // first knobs were chosen on, L = 2-8, no worse by pass 300).
  double step_scale = 0.1;
  double average_weight = 0.1;
  double late_average_weight = 0.02;
  std::uint32_t average_switch = 100;
  double capacity_scale = 8;
  std::uint32_t patience = 3;
  bool parallel = true;
  PathKernel kernel = PathKernel::kAuto;
  std::function<void(std::uint32_t pass, double value_s, double best_s)> progress;
};

struct LagrangianResult {
  double bound_s = 0;  // the certified value: the best duals, re-evaluated in double precision
  double start_s = 0;  // at free_migration's duals
  std::uint32_t passes = 0;
  std::vector<double> value_by_pass_s;  // each pass's value (float paths; not monotone)
  std::vector<double> best_by_pass_s;   // the best value so far after each pass
  std::vector<double> wall_by_pass_s;   // seconds since the start, after each pass
  double wall_s = 0;
  const char* stop_reason = "passes";  // passes, wall, gap (reached stop_gap), step (step too small)
  LagrangianDuals best;
};

LagrangianResult lagrangian_bound(const StepMajorReads& reads, const cost::MemorySystem& m,
                                  const LagrangianOptions& options = {});

}  // namespace kvsweep::bound
