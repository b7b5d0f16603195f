// `exact` on batched points (issue 25): validate accepts it beside the other batch policies (and leaves it
// out of a batched point's default list), eval gives the point to the block model, and the time the
// judge reports for its schedule is the exhaustive optimum of the point's own trace, never above any
// capacity-respecting policy, and equal to Cbc's certified bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "support/checker.hpp"

namespace kvsweep::eval {
namespace {

const char* kYaml = R"(
model: {name: tiny, layers: 1, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e4}
hardware: paper-table1
hbm_capacity_ratio: 0.5
batch_size: 2
batch_prompt_tokens: [2, 3]
decode_tokens: 2
sparsity: 0.4
variation: actual
policies: [unlimited_hbm, static, reactive_lru, belady, exact]
seed: 3
points:
  - {hbm_reads: [balanced, resident], kv_block_tokens: [1, 2], link_transfer_overhead_bytes: [0, 4096]}
)";

TEST(ExactBatchPolicy, EqualsTheExhaustiveOptimumOfThePoint) {
  const auto points = sweep::load_sweep_text(kYaml, "exact_batch.yaml").points;
  ASSERT_EQ(points.size(), 8U);
  for (const auto& point : points) {
    const auto& spec = point.spec;
    SCOPED_TRACE(std::string(config::to_string(spec.hbm_reads)) +
                 " k=" + std::to_string(spec.kv_block_tokens) +
                 " O=" + std::to_string(spec.hardware.link_transfer_overhead_bytes));
    const PointResult r = evaluate_point(spec);
    ASSERT_TRUE(r.shape.batched());
    const PolicyResult* exact = r.find("exact");
    ASSERT_NE(exact, nullptr);
    ASSERT_TRUE(r.exact.has_value());
    ASSERT_TRUE(r.exact->proven_optimal);
    EXPECT_GT(r.exact->binaries, 0U);
    const double t = exact->metrics.total_time_s;
    auto source = make_trace_source(spec);
    const trace::ExplicitTrace trace = trace::materialise(*source);
    const double optimum = testing::exhaustive_batch_optimum(trace, r.memory);
    EXPECT_NEAR(t, optimum, 1e-9 * optimum);
    EXPECT_NEAR(r.exact->bound_s, t, 1e-6 * t);  // proven: Cbc's bound is the optimum
    for (const auto& p : r.policies) {
      if (p.name != "unlimited_hbm") {
        EXPECT_GE(p.metrics.total_time_s, t * (1 - 1e-12)) << p.name;
      }
    }
    EXPECT_LE(r.lower_bound().value_s, t * (1 + 1e-9));
  }
}

TEST(ExactBatchPolicy, AcceptedForBatchesButNotByDefault) {
  std::string yaml = kYaml;
  yaml.erase(yaml.find("policies:"), yaml.find("seed:") - yaml.find("policies:"));
  const auto points = sweep::load_sweep_text(yaml, "exact_batch.yaml").points;
  ASSERT_FALSE(points.empty());
  const auto& policies = points.front().spec.policies;
  EXPECT_EQ(std::find(policies.begin(), policies.end(), "exact"), policies.end());
  EXPECT_NE(std::find(policies.begin(), policies.end(), "belady"), policies.end());
}

TEST(ExactBatchPolicy, RefusesABatchAboveItsSizeLimit) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("seed: 3"), 7, "seed: 3\noracle: {exact_max_binaries: 2}");
  const auto points = sweep::load_sweep_text(yaml, "exact_batch.yaml").points;
  try {
    evaluate_point(points.front().spec);
    FAIL() << "expected a refusal";
  } catch (const core::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exact_batch.yaml"), std::string::npos) << what;
    EXPECT_NE(what.find("B=2"), std::string::npos) << what;
    EXPECT_NE(what.find("exact_max_binaries = 2"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace kvsweep::eval
