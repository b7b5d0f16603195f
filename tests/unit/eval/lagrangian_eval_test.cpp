// The Lagrangian bound and fm_dual in evaluate_point: computed exactly where the baselines' certified
// gap is above oracle.lagrangian_gap; the bound stays below the proven MILP optimum and joins
// lower_bound_s; fm_dual's schedule is judged like every other, never below the optimum; the oracle
// may start from it; it stops once the baselines are within the threshold; with the gap below the
// threshold, or no passes allowed, neither runs and the report says why; its progress is reported pass
// by pass; over a batch of blocks with a per-transfer cost it is computed too, below every schedule
// and above both simple bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

const char* kYaml = R"(
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e5}
hardware: paper-table1
hbm_capacity_ratio: 0.3
prompt_tokens: 24
decode_tokens: 16
sparsity: 0.6
variation: actual
policies: [static, reactive_lru, belady, fm_tracking, fm_dual, exact, oracle]
seed: 2
oracle: {moves: 2.0e5, exact_max_nodes: 500, lagrangian_gap: 0}
hbm_reads: balanced
)";

TEST(LagrangianInEval, BelowTheOptimumAndFmDualJudgedLikeEveryPolicy) {
  const auto points = sweep::load_sweep_text(kYaml, "lagrangian.yaml").points;
  ASSERT_EQ(points.size(), 1U);
  const PointResult r = evaluate_point(points.front().spec);
  ASSERT_TRUE(r.exact.has_value());
  ASSERT_TRUE(r.exact->proven_optimal);
  const double optimum = r.find("exact")->metrics.total_time_s;
  ASSERT_TRUE(r.lagrangian.has_value());
  ASSERT_TRUE(r.lagrangian->computed) << r.lagrangian->note;
  EXPECT_LE(r.lagrangian->bound_s, optimum * (1 + 1e-9));
  EXPECT_GE(r.lagrangian->bound_s, r.bounds.free_migration_s * (1 - 1e-6));
  EXPECT_GE(r.lower_bound().value_s, r.lagrangian->bound_s);
  EXPECT_GT(r.lagrangian->passes, 1U);
  ASSERT_FALSE(r.lagrangian->best_by_pass.empty());
  EXPECT_EQ(r.lagrangian->best_by_pass.front().first, 1U);
  EXPECT_EQ(r.lagrangian->best_by_pass.back().first, r.lagrangian->passes);
  const PolicyResult* dual = r.find("fm_dual");
  ASSERT_NE(dual, nullptr);
  EXPECT_GE(dual->metrics.total_time_s, optimum * (1 - 1e-12));
  ASSERT_TRUE(r.oracle.has_value());
  EXPECT_LE(r.find("oracle")->metrics.total_time_s, dual->metrics.total_time_s * (1 + 1e-12));
}

// Computed until the best baseline is within oracle.lagrangian_gap of the bound, not for every pass.
TEST(LagrangianInEval, StopsOnceTheBaselinesAreWithinTheThreshold) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("fm_dual, exact, oracle"), 22, "fm_dual");
  const auto full = evaluate_point(sweep::load_sweep_text(yaml, "lagrangian.yaml").points.front().spec);
  ASSERT_TRUE(full.lagrangian.has_value() && full.lagrangian->computed);
  double baselines = 1e300;  // the best schedule when the bound starts
  for (const char* name : {"static", "reactive_lru", "belady", "fm_tracking"}) {
    baselines = std::min(baselines, full.find(name)->metrics.total_time_s);
  }
  const double before = std::max(full.bounds.bandwidth_split_s, full.bounds.free_migration_s);
  const double at_start = baselines / before - 1, at_end = baselines / full.lagrangian->bound_s - 1;
  const double threshold = (at_start + at_end) / 2;  // the bound passes it on the way
  ASSERT_GT(at_end, 0);
  ASSERT_GT(at_start, at_end * 1.01);
  ASSERT_GT(full.lagrangian->passes, 2U);

  yaml.replace(yaml.find("lagrangian_gap: 0"), 17, "lagrangian_gap: " + std::to_string(threshold));
  const auto r = evaluate_point(sweep::load_sweep_text(yaml, "lagrangian.yaml").points.front().spec);
  ASSERT_TRUE(r.lagrangian.has_value() && r.lagrangian->computed) << r.lagrangian->note;
  EXPECT_EQ(r.lagrangian->stop_reason, "gap");
  EXPECT_LT(r.lagrangian->passes, full.lagrangian->passes);
  EXPECT_LE(baselines / r.lagrangian->bound_s - 1, threshold * (1 + 1e-9));
  EXPECT_LE(r.lagrangian->bound_s, full.lagrangian->bound_s * (1 + 1e-12));
}

TEST(LagrangianInEval, NotComputedBelowTheThreshold) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("lagrangian_gap: 0"), 17, "lagrangian_gap: 10");
  const auto points = sweep::load_sweep_text(yaml, "lagrangian.yaml").points;
  const PointResult r = evaluate_point(points.front().spec);
  EXPECT_EQ(r.find("fm_dual"), nullptr);
  ASSERT_TRUE(r.lagrangian.has_value());  // fm_dual was asked for: the report says why it has no result
  EXPECT_FALSE(r.lagrangian->computed);
  EXPECT_NE(r.lagrangian->note.find("lagrangian_gap"), std::string::npos) << r.lagrangian->note;
  EXPECT_STRNE(r.lower_bound().kind, "lagrangian");
}

TEST(LagrangianInEval, NoPassesAllowedSaysSoForFmDual) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("lagrangian_gap: 0"), 17, "lagrangian_passes: 0");
  const PointResult r = evaluate_point(sweep::load_sweep_text(yaml, "lagrangian.yaml").points.front().spec);
  EXPECT_EQ(r.find("fm_dual"), nullptr);
  ASSERT_TRUE(r.lagrangian.has_value());
  EXPECT_FALSE(r.lagrangian->computed);
  EXPECT_NE(r.lagrangian->note.find("lagrangian_passes is 0"), std::string::npos) << r.lagrangian->note;

  // Without fm_dual nothing is reported: the bound was switched off.
  yaml.replace(yaml.find("fm_dual, "), 9, "");
  EXPECT_FALSE(evaluate_point(sweep::load_sweep_text(yaml, "lagrangian.yaml").points.front().spec).lagrangian.has_value());
}

// The progress callback: pass 0 as the bound starts, with the gap the baselines left; then every pass
// in order, the gap to the best bound so far never rising, the last as many as the result says.
TEST(LagrangianInEval, ReportsItsPassesAndGap) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("fm_dual, exact, oracle"), 22, "fm_dual");
  const auto points = sweep::load_sweep_text(yaml, "lagrangian.yaml").points;
  std::vector<std::uint32_t> passes;
  std::vector<double> gaps;
  EvalOptions options;
  options.lagrangian_progress = [&](std::uint32_t pass, std::uint32_t allowed, double gap) {
    EXPECT_EQ(allowed, 300u);
    passes.push_back(pass);
    gaps.push_back(gap);
  };
  const PointResult r = evaluate_point(points.front().spec, options);
  ASSERT_TRUE(r.lagrangian && r.lagrangian->computed);
  ASSERT_EQ(passes.size(), r.lagrangian->passes + 1);
  for (std::uint32_t k = 0; k < passes.size(); ++k) EXPECT_EQ(passes[k], k);
  EXPECT_GT(gaps.front(), 0);
  for (std::size_t k = 2; k < gaps.size(); ++k) EXPECT_LE(gaps[k], gaps[k - 1]);

  // Not computed: not reported.
  yaml.replace(yaml.find("lagrangian_gap: 0"), 17, "lagrangian_gap: 10");
  passes.clear();
  evaluate_point(sweep::load_sweep_text(yaml, "lagrangian.yaml").points.front().spec, options);
  EXPECT_TRUE(passes.empty());
}

// A batch of 3 sequences with blocks of 4 tokens and O = 8 KiB: the bound is computed, stays below every
// policy's schedule and starts at free_migration.
TEST(LagrangianInEval, ComputedForABatchOfBlocks) {
  const char* batch = R"(
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e5}
hardware: paper-table1
hbm_capacity_ratio: 0.3
prompt_tokens: 24
decode_tokens: 16
batch_size: 3
prompt_tokens_spread: 0.5
kv_block_tokens: 4
link_transfer_overhead_bytes: 8192
sparsity: 0.6
variation: actual
policies: [static, reactive_lru, belady, page]
seed: 2
oracle: {lagrangian_gap: 0}
hbm_reads: balanced
)";
  const PointResult r = evaluate_point(sweep::load_sweep_text(batch, "batch.yaml").points.front().spec);
  ASSERT_TRUE(r.shape.batched());
  ASSERT_TRUE(r.lagrangian.has_value());
  ASSERT_TRUE(r.lagrangian->computed) << r.lagrangian->note;
  for (const PolicyResult& p : r.policies) EXPECT_LE(r.lagrangian->bound_s, p.metrics.total_time_s * (1 + 1e-9)) << p.name;
  EXPECT_GE(r.lagrangian->start_s, r.bounds.free_migration_s * (1 - 1e-6));
  EXPECT_GE(r.lagrangian->bound_s, r.lagrangian->start_s * (1 - 1e-6));
  EXPECT_STREQ(r.lower_bound().kind, "lagrangian");
}

}  // namespace
}  // namespace kvsweep::eval
