#include <gtest/gtest.h>

#include "kvsweep/cost/cost_model.hpp"
#include "kvsweep/cost/judge.hpp"

namespace kvsweep::cost {
namespace {

MemorySystem paper_like() {
  MemorySystem m;
  m.kv_entry_bytes = 16384;         // llama-3.1-8b, MHA accounting
  m.weight_bytes_per_layer = 5e8;   // 16 GB / 32 layers
  m.hbm_bw = 4900e9;
  m.link_read_bw = 450e9;
  m.link_write_bw = 450e9;
  m.dram_bw = 500e9;
  m.capacity_entries = 100;
  m.hbm_reads = config::HbmReads::kResident;
  return m;
}

TEST(CostModel, HandComputedHbmBoundStep) {
  const MemorySystem m = paper_like();
  // 1000 reads, 900 hits, 10 piggy-backed, 5 prefetched, new entry kept.
  const StepCounts c{1000, 900, 10, 5, true};
  const StepBytes b = step_bytes(m, c);
  EXPECT_DOUBLE_EQ(b.hbm, 5e8 + 16384.0 * 916);
  EXPECT_DOUBLE_EQ(b.link_read, 16384.0 * 105);
  EXPECT_DOUBLE_EQ(b.link_write, 16384.0);
  EXPECT_DOUBLE_EQ(b.dram, 16384.0 * 106);
  // HBM: (5e8 + 15,007,744) / 4.9e12 = 1.0510362e-4 s; DRAM 1,736,704 / 5e11 = 3.47e-6 s.
  EXPECT_NEAR(step_time_s(m, c), (5e8 + 16384.0 * 916) / 4900e9, 1e-18);
}

TEST(CostModel, HandComputedLinkBoundStep) {
  MemorySystem m = paper_like();
  m.weight_bytes_per_layer = 0;
  const StepCounts c{100000, 0, 0, 0, false};
  // link-read 1.6384e9 bytes / 450e9 = 3.6409e-3 s; DRAM (1.6384e9 + 16384) / 500e9 = 3.2768e-3 s.
  EXPECT_NEAR(step_time_s(m, c), 16384.0 * 100000 / 450e9, 1e-15);
}

TEST(CostModel, HandComputedDramAndWriteBound) {
  MemorySystem m = paper_like();
  m.weight_bytes_per_layer = 0;
  m.dram_bw = 100e9;  // DRAM slower than the link
  const StepCounts c{10, 0, 0, 2, false};
  EXPECT_NEAR(step_time_s(m, c), 16384.0 * 13 / 100e9, 1e-18);
  m.link_write_bw = 1e3;  // a pathological write link: e / B_lw wins
  EXPECT_NEAR(step_time_s(m, c), 16384.0 / 1e3, 1e-12);
}

// Balanced reads on the step above with the paper's 2e7-byte-scale weights: x = 83.6... of the 900 hits
// move to the link, where HBM time meets link-read time: (2e7 + e (916 - x)) / 4.9e12 = e (105 + x) / 4.5e11.
TEST(CostModel, BalancedReadsMoveHitsUntilHbmMeetsTheLink) {
  MemorySystem resident = paper_like();
  resident.weight_bytes_per_layer = 2e7;
  MemorySystem m = resident;
  m.hbm_reads = config::HbmReads::kBalanced;
  const StepCounts c{1000, 900, 10, 5, true};
  const double e = 16384;
  const double x = ((2e7 + e * 916) * 450e9 - e * 105 * 4900e9) / (e * (4900e9 + 450e9));
  ASSERT_GT(x, 0);
  ASSERT_LT(x, 900);
  const StepBytes b = step_bytes(m, c);
  EXPECT_NEAR(b.hbm_hits, 900 - x, 1e-9);
  EXPECT_NEAR(b.hbm, 2e7 + e * (916 - x), 1e-3);
  EXPECT_NEAR(b.link_read, e * (105 + x), 1e-3);
  EXPECT_NEAR(b.dram, e * (106 + x), 1e-3);
  EXPECT_NEAR(b.hbm / m.hbm_bw, b.link_read / m.link_read_bw, 1e-15);
  EXPECT_NEAR(step_time_s(m, c), e * (105 + x) / 450e9, 1e-15);
  EXPECT_LT(step_time_s(m, c), step_time_s(resident, c));  // faster than resident reads
  // Too few hits to balance: all of them go to the link, HBM stays the bottleneck.
  const StepCounts few{10, 10, 0, 0, false};
  EXPECT_DOUBLE_EQ(step_bytes(m, few).hbm_hits, 0);
  EXPECT_NEAR(step_time_s(m, few), 2e7 / 4900e9, 1e-18);
  // A link-bound step is left as it is.
  const StepCounts link_bound{100000, 10, 0, 0, false};
  EXPECT_DOUBLE_EQ(step_time_s(m, link_bound), step_time_s(resident, link_bound));
  EXPECT_DOUBLE_EQ(step_bytes(m, link_bound).hbm_hits, 10);
}

// DRAM or the write link can be the term HBM meets first.
TEST(CostModel, BalancedReadsStopAtDramOrTheWriteLink) {
  MemorySystem m = paper_like();
  m.hbm_reads = config::HbmReads::kBalanced;
  m.weight_bytes_per_layer = 0;
  m.hbm_bw = 1e9;
  m.dram_bw = 2e9;  // slower than the link read (4.5e11): DRAM is met first
  const StepCounts c{100, 100, 0, 0, false};
  const double e = 16384;
  // (e (100 - x)) / 1e9 = e (x + 1) / 2e9  ->  x = 199 / 3
  EXPECT_NEAR(step_bytes(m, c).hbm_hits, 100 - 199.0 / 3, 1e-9);
  EXPECT_NEAR(step_time_s(m, c), e * (100 - 199.0 / 3) / 1e9, 1e-15);
  m.dram_bw = 500e9;
  m.link_write_bw = e / 1e-3;  // the new entry's write takes 1 ms; HBM alone 100 e / 1e9 = 1.64 ms
  // (e (100 - x)) / 1e9 = 1e-3  ->  x = 100 - 1e6 / e; the link read and DRAM are far from binding.
  EXPECT_NEAR(step_bytes(m, c).hbm_hits, 1e6 / e, 1e-9);
  EXPECT_NEAR(step_time_s(m, c), 1e-3, 1e-15);
}

// A two-step, one-layer schedule scored by hand.
TEST(Judge, ScoresAHandMadeSchedule) {
  MemorySystem m;
  m.kv_entry_bytes = 1;
  m.weight_bytes_per_layer = 0;
  m.hbm_bw = 10;
  m.link_read_bw = 1;
  m.link_write_bw = 100;
  m.dram_bw = 100;
  m.hbm_reads = config::HbmReads::kResident;  // the numbers below serve every hit from HBM
  m.capacity_entries = 3;
  const trace::TraceShape shape{4, 2, 1};
  Judge judge(m, shape, true);
  Residency r(1, 6);
  r.layer(0).set(0);
  r.layer(0).set(1);
  judge.begin(r);
  // Step 4 reads {0, 2, 3}: hits {0}; promote 2 (piggy-back) and 3 (read too), keep 4? No: capacity 3 ->
  // after = {0, 2, 3}: a1 = 2, beta = 0. HBM = 1 + 2 = 3 -> 0.3 s; link-read = 2 misses -> 2 s.
  std::vector<core::TokenBitset> reads(1, core::TokenBitset(6));
  for (int t : {0, 2, 3}) reads[0].set(t);
  r.layer(0).reset(1);
  r.layer(0).set(2);
  r.layer(0).set(3);
  judge.score_step(4, reads, r);
  EXPECT_DOUBLE_EQ(judge.totals().total_time_s, 2.0);
  EXPECT_EQ(judge.totals().hits, 1u);
  EXPECT_EQ(judge.totals().piggyback, 2u);
  // Step 5 reads {4}: miss. Prefetch 1 (not read), keep 5, drop 0 and 2: after = {1, 3, 5}.
  // HBM = 1 (prefetch) + 1 (beta) = 2 -> 0.2 s; link-read = 1 miss + 1 prefetch = 2 -> 2 s.
  reads[0].clear();
  reads[0].set(4);
  r.layer(0).clear();
  for (int t : {1, 3, 5}) r.layer(0).set(t);
  judge.score_step(5, reads, r);
  EXPECT_DOUBLE_EQ(judge.totals().total_time_s, 4.0);
  EXPECT_EQ(judge.totals().prefetch, 1u);
  EXPECT_EQ(judge.totals().kept_new, 1u);
  const PolicyMetrics pm = summarise(judge.totals(), m, 2);
  EXPECT_DOUBLE_EQ(pm.throughput_tok_s, 0.5);
  EXPECT_DOUBLE_EQ(pm.kv_hit_rate, 0.25);
  EXPECT_DOUBLE_EQ(pm.migrated_bytes, 3.0);
}

TEST(Judge, RejectsCapacityViolationsAndFutureTokens) {
  MemorySystem m;
  m.kv_entry_bytes = 1;
  m.hbm_bw = m.link_read_bw = m.link_write_bw = m.dram_bw = 1;
  m.capacity_entries = 1;
  const trace::TraceShape shape{2, 2, 1};
  std::vector<core::TokenBitset> reads(1, core::TokenBitset(4));
  {
    Judge judge(m, shape, true);
    Residency r(1, 4);
    judge.begin(r);
    r.layer(0).set(0);
    r.layer(0).set(2);
    EXPECT_THROW(judge.score_step(2, reads, r), std::logic_error);
  }
  {
    Judge judge(m, shape, true);
    Residency r(1, 4);
    judge.begin(r);
    r.layer(0).set(3);  // token 3 does not exist at step 2
    EXPECT_THROW(judge.score_step(2, reads, r), std::logic_error);
  }
  {
    Judge judge(m, shape, false);  // unlimited: capacity not enforced
    Residency r(1, 4);
    r.layer(0).set(0);
    r.layer(0).set(1);
    EXPECT_NO_THROW(judge.begin(r));
  }
}

}  // namespace
}  // namespace kvsweep::cost
