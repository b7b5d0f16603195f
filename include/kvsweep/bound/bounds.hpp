#pragma once
// Certified lower bounds on the total decode time of any capacity-respecting schedule
// (docs/policies-and-oracle.md "Bounds"). Both relax the cost model per step; both need only |S(n, l)|,
// so they cost O(L) per step.
//
// For one (n, l) with s = |S(n, l)| reads, any schedule that serves x of them from HBM spends at least
//   f(x) = max((W + e x) / B_hbm, e (s - x) / B_lr, e / B_lw, e (s - x + 1) / B_dram),
// since promotions and keeping the new entry only add bytes. f is convex and piecewise linear in x.
//   bandwidth_split = sum over (n, l) of min over x in [0, s] of f(x)      (capacity ignored)
//   free_migration  = sum over n of min sum_l f_l(x_l) s.t. sum_l x_l <= C, 0 <= x_l <= s_l
// (hits at step n come from R(n-1, ·), which holds at most C entries; migration is free).
// bandwidth_split bounds every schedule including unlimited_hbm; free_migration bounds every schedule
// that respects C, and free_migration >= bandwidth_split. With weights_in_dram: mirror (and balanced
// reads) a step may read weight bytes from DRAM's copy too: x ranges over [-W / e, s] (negative x: -x
// entries' worth of weights read over the link), with no capacity used below 0.

#include <cstdint>
#include <span>
#include <vector>

#include "kvsweep/cost/memory_system.hpp"

namespace kvsweep::bound {

// f(x) for one (n, l) step with s reads.
double step_time_lower(const cost::MemorySystem& m, double s, double x);
// min over x in [0, s] of f(x) ([-W / e, s] with mirrored weights).
double bandwidth_split_step(const cost::MemorySystem& m, std::uint64_t s);
// min of sum_l f_l(x_l) subject to sum_l x_l <= C for one decode step; reads[l] = |S(n, l)|.
double free_migration_step(const cost::MemorySystem& m, std::span<const std::uint32_t> reads);
// What free_migration_allocation can tell besides the hits: each layer's misses s_l - x_l, computed
// without cancelling (when a slow link multiplies them, x_l ~ s_l cannot tell them), whether they were
// found by the direct form (then exactly s_l - x_l), and whether the hits use all of C (only then has
// capacity a price: complementary slackness).
struct AllocationDetail {
  std::vector<double> misses;
  bool direct = true;
  bool capacity_binds = false;
};

// The same, and the hits x_l of each layer at the minimum (hits.size() == reads.size(), or empty for
// the value only): the allocation the fm_tracking policy aims at. With caps (one per layer), x_l <=
// caps[l] too: the hits a schedule can still reach in each layer. With entries_per_hit (one per layer),
// a hit of layer l takes entries_per_hit[l] entries of C instead of one (fm_tracking's blocks: a block
// holds k entries for the hits of its read tokens); not a bound then, an allocation.
double free_migration_allocation(const cost::MemorySystem& m, std::span<const std::uint32_t> reads,
                                 std::span<double> hits, std::span<const std::uint32_t> caps = {},
                                 AllocationDetail* detail = nullptr, std::span<const double> entries_per_hit = {});

struct BoundTotals {
  double bandwidth_split_s = 0;
  double free_migration_s = 0;
};

// Accumulates both bounds over the decode steps of one point.
class BoundAccumulator {
 public:
  explicit BoundAccumulator(const cost::MemorySystem& m) : memory_(m) {}
  void add_step(std::span<const std::uint32_t> reads);
  const BoundTotals& totals() const { return totals_; }

 private:
  cost::MemorySystem memory_;
  BoundTotals totals_;
};

}  // namespace kvsweep::bound
