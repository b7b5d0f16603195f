#pragma once
// step_time_s looked up instead of computed, for the oracle's inner loop (four divisions per changed
// step were a tenth of a move). Not a second cost model: the table holds the judge's own numbers.
//
// T = max(HBM / B_hbm, link-read / B_lr, link-write / B_lw, DRAM / B_dram), and before balancing HBM bytes
// depend only on n_hbm = hits + a1 + a2 + beta, the link and DRAM bytes only on n_link = |S| - hits + a2.
// So T = max(hbm_[n_hbm], link_[n_link]), each half filled by step_time_s on bytes from step_bytes with the
// other half zeroed. The maximum is exact, so a lookup is bit-identical to step_time_s (tested on every
// count) — as long as both are compiled alike; the project builds without FMA contraction of these
// expressions (x86-64-v2 has no FMA). In balanced mode a step whose HBM half is the strict bottleneck and
// that has hits (or any step, with mirrored weights) is rebalanced: it falls back to step_time_s itself
// (same bits by construction).
//
// Batches and blocks (MemorySystem::writes_per_step B, block_tokens k, transfer_overhead_bytes O): the
// link-write term is the constant (e + O) B, built into the link half. With k = 1 a transfer is a miss or
// a prefetch, so transfers = n_link and the link half still depends on n_link alone (the judge's own
// k = 1 rule); the lookup then assumes c.transfers = n_link, as the judge counts it. With k > 1 and O > 0
// the link half depends on transfers too: every lookup is step_time_s itself.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kvsweep/cost/cost_model.hpp"

namespace kvsweep::cost {

class StepTimeTable {
 public:
  // For steps of at most `tokens` entries per layer (a batch: positions per layer): n_hbm <= tokens + B,
  // n_link <= 2 tokens.
  StepTimeTable(const MemorySystem& m, std::size_t tokens)
      : memory_(m), balanced_(m.hbm_reads == config::HbmReads::kBalanced), mirrored_(m.movable_weight_entries() > 0),
        computed_(m.block_tokens > 1 && m.transfer_overhead_bytes != 0),
        hbm_(tokens + std::size_t{1} + m.writes_per_step),
        link_(2 * std::size_t{tokens} + 1) {
    MemorySystem unbalanced = m;
    unbalanced.hbm_reads = config::HbmReads::kResident;  // the halves, before any rebalancing
    for (std::size_t n = 0; n < hbm_.size(); ++n) {
      StepCounts c;
      c.hits = n;
      c.reads = n;
      StepBytes b = step_bytes(unbalanced, c);
      b.link_read = b.link_write = b.dram = 0;
      hbm_[n] = step_time_s(m, b);
    }
    for (std::size_t n = 0; n < link_.size(); ++n) {
      StepCounts c;
      c.reads = n;
      c.writes = m.writes_per_step;
      c.transfers = m.block_tokens == 1 ? n : 0;
      StepBytes b = step_bytes(unbalanced, c);
      b.hbm = 0;
      link_[n] = step_time_s(m, b);
    }
  }
  // Equals step_time_s(m, c) bit for bit.
  double operator()(const StepCounts& c) const {
    if (computed_) return step_time_s(memory_, c);
    const double h = hbm_[c.hits + c.piggyback + c.prefetch + c.kept_new];
    const double l = link_[c.reads - c.hits + c.prefetch];
    if (balanced_ && h > l && (c.hits != 0 || mirrored_)) return step_time_s(memory_, c);
    return l > h ? l : h;
  }

 private:
  MemorySystem memory_;
  bool balanced_;
  bool mirrored_;  // weights_in_dram: mirror: a step without hits may be rebalanced too
  bool computed_;  // k > 1 with O > 0: no table
  std::vector<double> hbm_, link_;
};

}  // namespace kvsweep::cost
