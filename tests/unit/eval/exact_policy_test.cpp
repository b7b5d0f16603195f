// `exact` as a policy of a point: the MILP's schedule is judged like every other, is never slower than
// any capacity-respecting policy, its certified bound joins the point's bounds (lower_bound_kind
// "exact" when it is the largest), the oracle still starts from a real policy, and a point too large
// for the MILP is refused as an input error naming the limit.
#include <gtest/gtest.h>

#include <string>

#include "kvsweep/core/diagnostics.hpp"
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
policies: [static, reactive_lru, belady, fm_tracking, exact, oracle]
seed: 2
oracle: {moves: 2.0e5, exact_max_nodes: 500}
points:
  - {hbm_reads: [balanced, resident]}
)";

TEST(ExactPolicy, NeverSlowerThanAnyPolicyAndItsBoundJoinsTheBounds) {
  const auto points = sweep::load_sweep_text(kYaml, "exact.yaml").points;
  ASSERT_EQ(points.size(), 2U);
  for (const auto& point : points) {
    SCOPED_TRACE(std::string(config::to_string(point.spec.hbm_reads)));
    const PointResult r = evaluate_point(point.spec);
    const PolicyResult* exact = r.find("exact");
    ASSERT_NE(exact, nullptr);
    ASSERT_TRUE(r.exact.has_value());
    EXPECT_GT(r.exact->binaries, 0U);
    const double t = exact->metrics.total_time_s;
    // Proven or not, Cbc's bound is below every capacity-respecting schedule.
    for (const auto& p : r.policies) {
      if (p.name != "unlimited_hbm") {
        EXPECT_GE(p.metrics.total_time_s, r.exact->bound_s * (1 - 1e-7)) << p.name;
      }
    }
    EXPECT_GE(r.lower_bound().value_s, r.exact->bound_s);
    // Resident reads are much harder for Cbc (docs/policies-and-oracle.md "Exact optima"): 500 nodes
    // prove only the balanced point.
    if (point.spec.hbm_reads == config::HbmReads::kResident) continue;
    ASSERT_TRUE(r.exact->proven_optimal);
    for (const auto& p : r.policies) {
      if (p.name != "unlimited_hbm") {
        EXPECT_GE(p.metrics.total_time_s, t * (1 - 1e-12)) << p.name;
      }
    }
    EXPECT_GE(r.exact->bound_s, t * (1 - 1e-6));  // proven: the bound is the optimum
    const LowerBound lb = r.lower_bound();
    EXPECT_STREQ(lb.kind, "exact");
    EXPECT_DOUBLE_EQ(lb.value_s, r.exact->bound_s);
    ASSERT_TRUE(r.oracle.has_value());
    EXPECT_NE(r.oracle->seed_policy, "exact");
    EXPECT_GE(r.oracle->gap_to_bound, -1e-6);
  }
}

TEST(ExactPolicy, RefusesAPointAboveItsSizeLimit) {
  std::string yaml = kYaml;
  yaml.replace(yaml.find("exact_max_nodes: 500"), 20, "exact_max_binaries: 50");
  const auto points = sweep::load_sweep_text(yaml, "exact.yaml").points;
  try {
    evaluate_point(points.front().spec);
    FAIL() << "expected a refusal";
  } catch (const core::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("exact.yaml"), std::string::npos) << what;
    EXPECT_NE(what.find("exact_max_binaries = 50"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace kvsweep::eval
