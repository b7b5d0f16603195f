#pragma once
// The one judge. Every schedule — baseline policy, tuned oracle, exhaustive search — is scored by
// these formulas and nothing else (docs/cost-model.md "Cost model").
//
// Per step (n, l), with H = R(n-1, l), S = S(n, l) and R = R(n, l):
//   hits = |S ∩ H|, misses = |S| - hits, promoted = R \ H \ {n},
//   a1 = |promoted ∩ S| (piggy-backed), a2 = |promoted \ S| (prefetched), beta = [n ∈ R]
// x of the hits are read from DRAM's copy instead of HBM (0 <= x <= hits, a real number: a share of
// the hits' bytes):
//   HBM bytes       = W + e (hits - x + a1 + a2 + beta)
//   link-read bytes = e (misses + x + a2),   link-write bytes = e,   DRAM bytes = link-read + link-write
//   T(n, l) = max(HBM / B_hbm, link-read / B_lr, link-write / B_lw, DRAM / B_dram)
// hbm_reads = resident: x = 0. hbm_reads = balanced: x minimises T. HBM time falls and the other three
// rise with x, so the minimum is x = 0 when HBM is not the bottleneck, else where HBM time meets the
// first of the other three (or x = its cap if it meets none): a closed form, see balance_hits().
// With weights_in_dram = mirror (and balanced reads) DRAM holds a copy of the weights too, and x may
// also take weight bytes: 0 <= x <= hits + W / e (hits first, then weights; x is a share of bytes).
//
// A batch of B sequences (docs/cost-model.md "Batches and blocks"): the counts are sums over the batch, W
// is read once, beta counts the new entries kept (0..B) and every one of the B new entries is written
// through: link-write = e B. A per-transfer cost of O bytes (MemorySystem::transfer_overhead_bytes) adds
// O to the link-read term for each block that crosses towards the GPU (read while not resident, or
// promoted, or both: `transfers`) and O to the link-write term for each new entry; DRAM's term has none.
#include <algorithm>
#include <cstdint>

#include "kvsweep/cost/memory_system.hpp"

namespace kvsweep::cost {

// Entry counts of one (n, l) step.
struct StepCounts {
  std::uint64_t reads = 0;      // |S|
  std::uint64_t hits = 0;       // |S ∩ H|
  std::uint64_t piggyback = 0;  // a1
  std::uint64_t prefetch = 0;   // a2
  std::uint32_t kept_new = 0;   // beta: new entries kept in HBM (0 or 1 for a lone sequence, at most B)
  std::uint32_t writes = 1;     // new entries written through over the link: B
  std::uint64_t transfers = 0;  // blocks crossing the link towards the GPU (costs O each; 0 unless O > 0)
};

struct StepBytes {
  double hbm = 0;
  double link_read = 0;
  double link_write = 0;
  double dram = 0;
  double hbm_hits = 0;     // hits - x: resident reads that HBM served
  double hbm_weights = 0;  // weight bytes HBM served: W, less what a mirrored step read from DRAM
};

// Balanced reads: moves x = min(x*, cap) entries' worth of bytes from HBM to the link and DRAM, where
// cap = hits (+ W / e with mirrored weights) and x* is the first crossing of the falling HBM time
// (H - e x) / B_hbm with one of the rising terms:
//   link read  (R + e x) / B_lr   at x = (H B_lr - R B_hbm) / (e (B_hbm + B_lr))
//   link write w / B_lw           at x = (H - w B_hbm / B_lw) / e
//   DRAM       (D + e x) / B_dram at x = (H B_dram - D B_hbm) / (e (B_hbm + B_dram))
// Does nothing unless HBM is the strict bottleneck (then every crossing is at x > 0). The hits go first,
// then the weights: without the mirror, or where the hits suffice, every number is as it was before the
// mirror existed, bit for bit.
inline void balance_hits(const MemorySystem& m, std::uint64_t hits, StepBytes& b) {
  const double th = b.hbm / m.hbm_bw;
  double tl = b.link_read / m.link_read_bw;
  const double lw = b.link_write / m.link_write_bw;
  const double d = b.dram / m.dram_bw;
  if (lw > tl) tl = lw;
  if (d > tl) tl = d;
  const double weights = m.movable_weight_entries();
  if ((hits == 0 && weights == 0) || th <= tl) return;
  const double e = m.kv_entry_bytes;
  double x = static_cast<double>(hits) + weights;
  const double x_lr = (b.hbm * m.link_read_bw - b.link_read * m.hbm_bw) / (e * (m.hbm_bw + m.link_read_bw));
  const double x_lw = (b.hbm - b.link_write * m.hbm_bw / m.link_write_bw) / e;
  const double x_d = (b.hbm * m.dram_bw - b.dram * m.hbm_bw) / (e * (m.hbm_bw + m.dram_bw));
  if (x_lr < x) x = x_lr;
  if (x_lw < x) x = x_lw;
  if (x_d < x) x = x_d;
  b.hbm -= e * x;
  b.link_read += e * x;
  b.dram += e * x;
  const double from_hits = std::min(x, static_cast<double>(hits));
  b.hbm_hits -= from_hits;
  if (x > from_hits) b.hbm_weights -= e * (x - from_hits);
}

inline StepBytes step_bytes(const MemorySystem& m, const StepCounts& c) {
  const double e = m.kv_entry_bytes;
  StepBytes b;
  b.hbm = m.weight_bytes_per_layer + e * static_cast<double>(c.hits + c.piggyback + c.prefetch + c.kept_new);
  b.link_read = e * static_cast<double>(c.reads - c.hits + c.prefetch);
  b.link_write = c.writes == 1 ? e : e * static_cast<double>(c.writes);
  b.dram = b.link_read + b.link_write;
  if (m.transfer_overhead_bytes != 0) {  // not in DRAM's term: the overhead is the link's
    b.link_read += m.transfer_overhead_bytes * static_cast<double>(c.transfers);
    b.link_write += m.transfer_overhead_bytes * static_cast<double>(c.writes);
  }
  b.hbm_hits = static_cast<double>(c.hits);
  b.hbm_weights = m.weight_bytes_per_layer;
  if (m.hbm_reads == config::HbmReads::kBalanced) balance_hits(m, c.hits, b);
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
