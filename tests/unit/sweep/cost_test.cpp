// The cost estimate's Lagrangian term: present exactly where evaluation may compute the bound, whatever
// the policies listed, and bounded by the point's own limits on it. Every policy costs something, and
// the oracle over a batch too large to hold whole costs its seed's pass only, as evaluation runs it.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/cost.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "sweep_test_util.hpp"

namespace kvsweep::sweep {
namespace {

using test::kBase;

// A small point whose baselines leave a gap; lagrangian_gap 0 has the bound computed wherever it may be.
const std::string kGapPoint =
    "model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}\n"
    "hardware: paper-table1\nhbm_capacity_ratio: 0.25\nprompt_tokens: 200\ndecode_tokens: 40\n"
    "policies: [unlimited_hbm, static]\n";

// The one point of `text` (oracle budgets are one per sweep: each variant is a sweep of its own).
SweepPoint point(const std::string& text) {
  Sweep s = load_sweep_text(text, "c.yaml");
  EXPECT_EQ(s.points.size(), 1u);
  return s.points.at(0);
}

TEST(SweepCost, TheLagrangianTermIsThereExactlyWhereEvaluationComputesTheBound) {
  const std::pair<const char*, std::string> variants[] = {
      {"runs", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5}\n"},
      {"off", "oracle: {lagrangian_gap: 0, lagrangian_passes: 0}\n"},
      // Its reads: L D ceil((P + D) / 64) 8 = 2,560 bytes.
      {"runs within the memory", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5, max_memory_gb: 2.6e-6}\n"},
      {"above the memory", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5, max_memory_gb: 2.5e-6}\n"},
      {"runs over blocks", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5}\nkv_block_tokens: 16\n"},
      {"runs over a batch", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5}\nbatch_size: 2\n"},
      // The batch's reads: 2 sequences of 240 positions, the first padded to 256: 8 words, 5,120 bytes.
      {"above the memory, a batch", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5, max_memory_gb: 5.1e-6}\nbatch_size: 2\n"},
      {"runs within the memory, a batch", "oracle: {lagrangian_gap: 0, lagrangian_passes: 5, max_memory_gb: 5.2e-6}\nbatch_size: 2\n"},
  };
  for (const auto& [name, keys] : variants) {
    SCOPED_TRACE(name);
    const SweepPoint p = point(kGapPoint + keys);
    const eval::PointResult r = eval::evaluate_point(p.spec);
    const bool computed = r.lagrangian && r.lagrangian->computed;
    EXPECT_EQ(computed, std::string(name).starts_with("runs")) << (r.lagrangian ? r.lagrangian->note : "no report");
    EXPECT_EQ(p.estimated_lagrangian_s > 0, computed);
  }
}

TEST(SweepCost, TheTermIsTheSameWhateverThePoliciesListed) {
  const SweepPoint alone = point(kBase + "policies: [static]\n");
  const SweepPoint all = point(kBase + "policies: [static, belady, fm_dual, oracle]\n");
  EXPECT_GT(alone.estimated_lagrangian_s, 0);
  EXPECT_DOUBLE_EQ(alone.estimated_lagrangian_s, all.estimated_lagrangian_s);
}

TEST(SweepCost, TurningTheBoundOffRemovesExactlyItsTerm) {
  const SweepPoint on = point(kBase + "policies: [static, belady]\n");
  const SweepPoint off = point(kBase + "policies: [static, belady]\noracle: {lagrangian_passes: 0}\n");
  EXPECT_EQ(off.estimated_lagrangian_s, 0);
  EXPECT_NEAR(on.estimated_s, off.estimated_s, 1e-9 * on.estimated_s);  // the bound is shown apart
  EXPECT_GT(on.cost_estimate, off.cost_estimate);  // the MPI master ranks it as the longer point
}

TEST(SweepCost, MorePassesCostMoreUpToTheWallLimit) {
  const std::string big =
      "model: llama-3.1-8b\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\nprompt_tokens: 32768\n"
      "decode_tokens: 2048\npolicies: [static]\n";
  const double passes_100 = point(big + "oracle: {lagrangian_passes: 100}\n").estimated_lagrangian_s;
  const double passes_300 = point(big + "oracle: {lagrangian_passes: 300}\n").estimated_lagrangian_s;
  const double limited = point(big + "oracle: {lagrangian_passes: 300, lagrangian_wall_s: 30}\n").estimated_lagrangian_s;
  EXPECT_GT(passes_300, 2.5 * passes_100);
  EXPECT_GT(passes_300, 60);
  // A limit of 30 s (checked between passes) holds the passes to it plus one; the reads and the
  // certificate come on top.
  EXPECT_GT(limited, 30);
  EXPECT_LT(limited, 45);
}

TEST(SweepCost, EveryPolicyCostsSomething) {
  const double alone = point(kBase + "policies: [unlimited_hbm]\noracle: {lagrangian_passes: 0}\n").cost_estimate;
  for (const char* name : {"static", "reactive_lru", "page", "streaming", "h2o", "lru_hot", "ema", "arc", "history",
                           "bandit", "belady", "sa_guided", "fm_tracking"}) {
    SCOPED_TRACE(name);
    const double with = point(kBase + "policies: [unlimited_hbm, " + name + "]\noracle: {lagrangian_passes: 0}\n").cost_estimate;
    EXPECT_GT(with, alone * 1.0001);
  }
}

TEST(SweepCost, ABatchTooLargeToHoldWholeCostsTheOracleItsSeedOnly) {
  const std::string batch = kBase + "batch_size: 8\nkv_block_tokens: 16\npolicies: [static, belady, oracle]\n";
  const SweepPoint whole = point(batch + "oracle: {lagrangian_passes: 0, moves: 1e7}\n");
  const SweepPoint seed = point(batch + "oracle: {lagrangian_passes: 0, moves: 1e7, max_memory_gb: 0.001}\n");
  const SweepPoint none = point(kBase + "batch_size: 8\nkv_block_tokens: 16\npolicies: [static, belady]\n"
                                "oracle: {lagrangian_passes: 0}\n");
  ASSERT_FALSE(oracle_keeps_seed(whole.spec));
  ASSERT_TRUE(oracle_keeps_seed(seed.spec));
  EXPECT_GT(whole.cost_estimate, 3 * seed.cost_estimate);  // 1e7 moves vs one pass
  EXPECT_GT(seed.cost_estimate, none.cost_estimate);       // the seed's pass
  EXPECT_LT(seed.cost_estimate, 3 * none.cost_estimate);   // one pass of one policy, on one core
}

}  // namespace
}  // namespace kvsweep::sweep
