// weights_in_dram: mirror — the weights have a copy in DRAM, so a balanced step may read weight bytes
// over the link too (docs/cost-model.md "Read mode"). Checked here against brute force and against the
// paper's own accounting at a short context, where the weights alone exceed HBM's share of a step.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/cost/cost_model.hpp"

namespace kvsweep::cost {
namespace {

MemorySystem paper(config::WeightsInDram weights) {
  MemorySystem m;  // llama-3.1-8b-paper on paper-table1
  m.kv_entry_bytes = 16384;
  m.weight_bytes_per_layer = 162889728;
  m.hbm_bw = 4900e9;
  m.link_read_bw = 450e9;
  m.link_write_bw = 450e9;
  m.dram_bw = 500e9;
  m.hbm_reads = config::HbmReads::kBalanced;
  m.weights_in_dram = weights;
  return m;
}

// T(x) minimised by scanning x over [0, cap] finely: the closed form is at least as good, and within
// the scan's resolution of it.
double brute_force(const MemorySystem& m, const StepCounts& c, double cap) {
  const double e = m.kv_entry_bytes;
  double best = 1e300;
  for (int k = 0; k <= 200000; ++k) {
    const double x = cap * k / 200000.0;
    StepBytes b;
    b.hbm = m.weight_bytes_per_layer + e * (static_cast<double>(c.hits + c.piggyback + c.prefetch + c.kept_new) - x);
    b.link_read = e * (static_cast<double>(c.reads - c.hits + c.prefetch) + x);
    b.link_write = e;
    b.dram = b.link_read + b.link_write;
    best = std::min(best, step_time_s(m, b));
  }
  return best;
}

TEST(WeightsMirror, ClosedFormIsTheMinimumOverHitsAndWeights) {
  core::Rng rng(7);
  int moved = 0;
  for (int k = 0; k < 300; ++k) {
    MemorySystem m = paper(config::WeightsInDram::kMirror);
    m.link_read_bw = 1e9 * (20 + 900 * rng.uniform());
    m.dram_bw = 1e9 * (50 + 900 * rng.uniform());
    StepCounts c;
    c.reads = rng.below(3000);
    c.hits = rng.below(c.reads + 1);
    c.piggyback = rng.below(c.reads - c.hits + 1);
    c.prefetch = rng.below(50);
    c.kept_new = rng.bernoulli(0.5);
    const StepBytes b = step_bytes(m, c);
    const double t = step_time_s(m, b);
    const double cap = static_cast<double>(c.hits) + m.weight_bytes_per_layer / m.kv_entry_bytes;
    const double scan = brute_force(m, c, cap);
    EXPECT_LE(t, scan * (1 + 1e-12)) << k;
    EXPECT_GE(t, scan * (1 - 1e-4)) << k;
    // Bytes are conserved: what HBM no longer reads, the link and DRAM do.
    const StepBytes none = step_bytes(paper(config::WeightsInDram::kNone), c);
    EXPECT_NEAR(b.hbm + b.link_read, none.hbm + none.link_read, 1e-6 * (none.hbm + none.link_read));
    if (b.hbm_weights < m.weight_bytes_per_layer) {
      ++moved;
      EXPECT_EQ(b.hbm_hits, 0.0);  // hits go first, then weights
      EXPECT_LT(t, step_time_s(paper(config::WeightsInDram::kNone), c));  // ... and it pays
    }
  }
  EXPECT_GT(moved, 30);
}

TEST(WeightsMirror, ChangesNothingWhereTheHitsSuffice) {
  // Where moving hits alone balances HBM against the link, the mirror is never used: the same bits.
  core::Rng rng(8);
  int same = 0;
  for (int k = 0; k < 20000; ++k) {
    StepCounts c;
    c.reads = rng.below(20000);
    c.hits = rng.below(c.reads + 1);
    c.prefetch = rng.below(100);
    const StepBytes none = step_bytes(paper(config::WeightsInDram::kNone), c);
    const StepBytes mirror = step_bytes(paper(config::WeightsInDram::kMirror), c);
    if (mirror.hbm_weights < 162889728) continue;
    ++same;
    ASSERT_EQ(std::bit_cast<std::uint64_t>(step_time_s(paper(config::WeightsInDram::kMirror), mirror)),
              std::bit_cast<std::uint64_t>(step_time_s(paper(config::WeightsInDram::kNone), none)));
    ASSERT_EQ(mirror.hbm_hits, none.hbm_hits);
  }
  EXPECT_GT(same, 10000);
}

TEST(WeightsMirror, ResidentReadsIgnoreIt) {
  MemorySystem m = paper(config::WeightsInDram::kMirror);
  m.hbm_reads = config::HbmReads::kResident;
  const StepCounts c{240, 240, 0, 0, true};
  EXPECT_EQ(step_bytes(m, c).hbm_weights, m.weight_bytes_per_layer);
  EXPECT_EQ(m.movable_weight_entries(), 0.0);
}

// The authors' simulator splits all bytes read, D_R = W + |S| e, by alpha = min(alpha*, (W + hits e) /
// D_R), alpha* = 4900 / (4900 + 450): with every read a hit the step is max((alpha D_R + beta e) / 4900,
// (1 - alpha) D_R / 450, ...). At P = 600 and 60 % sparsity (240 reads) the weights alone are more than
// alpha* of D_R; without the mirror kvsweep's step is W / 4900 (HBM-bound), 6.5 % slower than theirs
// (issue 27 item 11); with it, the two agree where the link-read line is the one HBM meets.
TEST(WeightsMirror, AgreesWithThePapersAlphaSplitAtShortContexts) {
  const double e = 16384, W = 162889728, alpha_star = 4900.0 / (4900.0 + 450.0);
  for (std::uint64_t reads : {60, 240, 253, 600, 913, 914, 2000}) {
    const StepCounts c{reads, reads, 0, 0, false};  // unlimited_hbm without the new entry's write
    const double d_r = W + static_cast<double>(reads) * e;
    const double alpha = std::min(alpha_star, (W + static_cast<double>(reads) * e) / d_r);
    const double theirs = std::max(alpha * d_r / 4900e9, (1 - alpha) * d_r / 450e9);
    const double mirror = step_time_s(paper(config::WeightsInDram::kMirror), c);
    EXPECT_NEAR(mirror / theirs, 1, 1e-12) << reads;
    const double none = step_time_s(paper(config::WeightsInDram::kNone), c);
    if (reads <= 253) {
      EXPECT_GT(none / theirs, 1.06) << reads;  // the 6.5 % the issue measured
    }
    if (reads >= 914) {  // W 450 / (4900 e) = 913.04 reads: from there on the hits suffice
      EXPECT_NEAR(none / theirs, 1, 1e-12) << reads;
    }
  }
}

}  // namespace
}  // namespace kvsweep::cost
