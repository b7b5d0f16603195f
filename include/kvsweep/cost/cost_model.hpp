#pragma once
// The one judge. Every schedule — baseline policy, tuned oracle, exhaustive search — is scored by
// these formulas and nothing else (README "Cost model").
//
// Per step (n, l), with H = R(n-1, l), S = S(n, l) and R = R(n, l):
//   hits = |S ∩ H|, misses = |S| - hits, promoted = R \ H \ {n},
//   a1 = |promoted ∩ S| (piggy-backed), a2 = |promoted \ S| (prefetched), beta = [n ∈ R]
//   HBM bytes       = W + e (hits + a1 + a2 + beta)
//   link-read bytes = e (misses + a2),   link-write bytes = e,   DRAM bytes = link-read + link-write
//   T(n, l) = max(HBM / B_hbm, link-read / B_lr, link-write / B_lw, DRAM / B_dram)

#include <cstdint>

#include "kvsweep/cost/memory_system.hpp"

namespace kvsweep::cost {

// Entry counts of one (n, l) step.
struct StepCounts {
  std::uint64_t reads = 0;      // |S|
  std::uint64_t hits = 0;       // |S ∩ H|
  std::uint64_t piggyback = 0;  // a1
  std::uint64_t prefetch = 0;   // a2
  bool kept_new = false;        // beta
};

struct StepBytes {
  double hbm = 0;
  double link_read = 0;
  double link_write = 0;
  double dram = 0;
};

inline StepBytes step_bytes(const MemorySystem& m, const StepCounts& c) {
  const double e = m.kv_entry_bytes;
  StepBytes b;
  b.hbm = m.weight_bytes_per_layer +
          e * static_cast<double>(c.hits + c.piggyback + c.prefetch + (c.kept_new ? 1 : 0));
  b.link_read = e * static_cast<double>(c.reads - c.hits + c.prefetch);
  b.link_write = e;
  b.dram = b.link_read + b.link_write;
  return b;
}

inline double step_time_s(const MemorySystem& m, const StepBytes& b) {
  double t = b.hbm / m.hbm_bw;
  const double lr = b.link_read / m.link_read_bw;
  const double lw = b.link_write / m.link_write_bw;
  const double d = b.dram / m.dram_bw;
  if (lr > t) t = lr;
  if (lw > t) t = lw;
  if (d > t) t = d;
  return t;
}

inline double step_time_s(const MemorySystem& m, const StepCounts& c) {
  return step_time_s(m, step_bytes(m, c));
}

}  // namespace kvsweep::cost
