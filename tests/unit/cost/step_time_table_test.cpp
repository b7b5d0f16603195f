#include "kvsweep/cost/step_time_table.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::cost {
namespace {

// Bit-identical to step_time_s on every count the table covers, for memory systems where each of the
// four terms is the largest somewhere (HBM-bound, link-read-bound, write-bound, DRAM-bound), in both
// read modes (balanced: rebalanced steps and the ones left alone), with and without mirrored weights.
TEST(StepTimeTable, EqualsStepTimeBitForBit) {
  std::vector<MemorySystem> systems(5);
  for (auto& m : systems) {
    m.kv_entry_bytes = 16384;
    m.weight_bytes_per_layer = 2e6;
    m.hbm_bw = 4900e9;
    m.link_read_bw = 450e9;
    m.link_write_bw = 450e9;
    m.dram_bw = 500e9;
  }
  systems[1].link_write_bw = 1e3;   // write-bound
  systems[2].dram_bw = 3e9;         // DRAM-bound
  systems[3].hbm_bw = 7e6;          // HBM-bound
  systems[3].weight_bytes_per_layer = 0;
  systems[4].weight_bytes_per_layer = 5e7;  // weights dominate: mirrored steps read some over the link
  const std::uint32_t tokens = 300;
  core::Rng rng(11);
  int rebalanced = 0, weights_moved = 0;
  for (const config::HbmReads mode : {config::HbmReads::kBalanced, config::HbmReads::kResident})
  for (const config::WeightsInDram weights : {config::WeightsInDram::kNone, config::WeightsInDram::kMirror})
  for (MemorySystem m : systems) {
    m.hbm_reads = mode;
    m.weights_in_dram = weights;
    const StepTimeTable table(m, tokens);
    for (int k = 0; k < 20000; ++k) {
      StepCounts c;
      c.reads = rng.below(tokens + 1);
      c.hits = rng.below(c.reads + 1);
      c.piggyback = rng.below(c.reads - c.hits + 1);
      c.prefetch = rng.below(tokens - c.reads + 1);
      c.kept_new = rng.bernoulli(0.5);
      ASSERT_EQ(std::bit_cast<std::uint64_t>(table(c)), std::bit_cast<std::uint64_t>(step_time_s(m, c)))
          << "reads " << c.reads << " hits " << c.hits << " a1 " << c.piggyback << " a2 " << c.prefetch;
      if (step_bytes(m, c).hbm_hits != static_cast<double>(c.hits)) ++rebalanced;
      if (step_bytes(m, c).hbm_weights != m.weight_bytes_per_layer) ++weights_moved;
    }
  }
  EXPECT_GT(rebalanced, 1000);      // the balanced path was exercised
  EXPECT_GT(weights_moved, 1000);   // and the mirrored weights' (steps with few reads, HBM-bound)
}

// Batches and blocks: B writes a step, and a per-transfer cost O. With k = 1 a transfer is a miss or a
// prefetch (the judge's rule), so the table still holds every time; with k > 1 transfers vary on their
// own and the table computes. Bit-identical either way, in every read mode.
TEST(StepTimeTable, EqualsStepTimeWithWritesAndTransfers) {
  const std::uint32_t tokens = 200;
  core::Rng rng(12);
  for (const std::uint32_t k : {1U, 4U})
  for (const double overhead : {0.0, 24576.0})
  for (const config::HbmReads mode : {config::HbmReads::kBalanced, config::HbmReads::kResident})
  for (const config::WeightsInDram weights : {config::WeightsInDram::kNone, config::WeightsInDram::kMirror}) {
    MemorySystem m;
    m.kv_entry_bytes = 4096;
    m.weight_bytes_per_layer = 2e6;
    m.hbm_bw = 3400e9;
    m.link_read_bw = 64e9;
    m.link_write_bw = 64e9;
    m.dram_bw = 300e9;
    m.hbm_reads = mode;
    m.weights_in_dram = weights;
    m.writes_per_step = 8;
    m.block_tokens = k;
    m.transfer_overhead_bytes = overhead;
    const StepTimeTable table(m, tokens);
    for (int i = 0; i < 5000; ++i) {
      StepCounts c;
      c.writes = 8;
      c.reads = rng.below(tokens + 1);
      c.hits = rng.below(c.reads + 1);
      c.piggyback = rng.below(c.reads - c.hits + 1);
      c.prefetch = rng.below(tokens - c.reads + 1);
      c.kept_new = static_cast<std::uint32_t>(rng.below(9));
      const std::uint64_t crossing = c.reads - c.hits + c.prefetch;
      c.transfers = k == 1 ? crossing : (crossing + k - 1) / k + rng.below(crossing - (crossing + k - 1) / k + 1);
      ASSERT_EQ(std::bit_cast<std::uint64_t>(table(c)), std::bit_cast<std::uint64_t>(step_time_s(m, c)))
          << "k " << k << " O " << overhead << " reads " << c.reads << " hits " << c.hits << " transfers " << c.transfers;
    }
  }
}

}  // namespace
}  // namespace kvsweep::cost
