// The Lagrangian bound and fm_dual in evaluate_point: computed exactly where the baselines' certified
// gap is above oracle.lagrangian_gap; the bound stays below the proven MILP optimum and joins
// lower_bound_s; fm_dual's schedule is judged like every other, never below the optimum; the oracle
// may start from it; with the gap below the threshold neither runs and the report says why.
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace kvsweep::eval
