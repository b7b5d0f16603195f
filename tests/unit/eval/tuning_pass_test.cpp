// With the (W, R) tuning, the point's other policies ride along in its first pass and sa_guided's
// result is the tuning's best point: every policy's result must be what a pass of its own gives (the
// per-step records still take that pass, so they compare the two).
#include <gtest/gtest.h>

#include <string>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

const char* kYaml = R"(
model: {name: tiny, layers: 3, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e5}
hardware: paper-table1
hbm_capacity_ratio: 0.3
prompt_tokens: 400
decode_tokens: 60
sparsity: 0.6
variation: high
policies: [unlimited_hbm, static, reactive_lru, page, streaming, h2o, belady, sa_guided, fm_tracking, oracle]
seed: 4
oracle: {moves: 2.0e4, sa_rounds: 4}
hbm_reads: balanced
)";

TEST(TuningPass, PoliciesRidingAlongGiveWhatTheirOwnPassGives) {
  const auto points = sweep::load_sweep_text(kYaml, "tuning.yaml").points;
  ASSERT_EQ(points.size(), 1U);
  const PointResult merged = evaluate_point(points.front().spec);
  EvalOptions own;
  own.step_detail = true;  // per-step records: a pass of their own after the tuning
  const PointResult separate = evaluate_point(points.front().spec, own);
  EXPECT_TRUE(merged.policies_in_tuning);
  EXPECT_FALSE(separate.policies_in_tuning);
  ASSERT_EQ(merged.policies.size(), separate.policies.size());
  for (std::size_t i = 0; i < merged.policies.size(); ++i) {
    const auto& a = merged.policies[i];
    const auto& b = separate.policies[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.metrics.total_time_s, b.metrics.total_time_s) << a.name;
    EXPECT_EQ(a.metrics.hbm_hit_rate, b.metrics.hbm_hit_rate) << a.name;
    EXPECT_EQ(a.metrics.migrated_bytes, b.metrics.migrated_bytes) << a.name;
  }
  EXPECT_EQ(merged.bounds.bandwidth_split_s, separate.bounds.bandwidth_split_s);
  EXPECT_EQ(merged.bounds.free_migration_s, separate.bounds.free_migration_s);
  ASSERT_TRUE(merged.oracle && separate.oracle);
  EXPECT_EQ(merged.oracle->sa_window, separate.oracle->sa_window);
  EXPECT_EQ(merged.oracle->sa_fraction, separate.oracle->sa_fraction);
  EXPECT_GT(merged.find("sa_guided")->cpu_s, 0.0);
}

}  // namespace
}  // namespace kvsweep::eval
