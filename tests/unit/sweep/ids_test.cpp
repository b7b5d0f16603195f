// Point ids: computed from the parsed point, so the way the YAML is written does not change them; the
// same point twice in one sweep is an error naming both places.
#include <gtest/gtest.h>

#include <set>

#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "sweep_test_util.hpp"

namespace kvsweep::sweep {
namespace {

std::set<std::string> ids_of(const std::string& text) {
  std::set<std::string> ids;
  for (const auto& p : load_sweep_text(text, "ids.yaml").points) ids.insert(p.id);
  return ids;
}

TEST(SweepIds, DoNotDependOnKeyOrderListOrderOrSpelling) {
  const auto a = ids_of(R"(
model: [llama-3.1-8b, llama-2-7b]
hardware: gh200-measured
hbm_capacity_ratio: [0.25, 0.5]
prompt_tokens: [1000, 2000]
decode_tokens: [100, 200]
zip: [[prompt_tokens, decode_tokens]]
synthetic: {span_tokens: [8, 16], sink_tokens: 4}
)");
  const auto b = ids_of(R"(
synthetic:
  sink_tokens: +4
  span_tokens: [16.0, 8]
decode_tokens: [200, 100]
zip: [[decode_tokens, prompt_tokens]]
prompt_tokens: [2000, 1000]
hbm_capacity_ratio: [0.50, 2.5e-1]
hardware: gh200-measured
model:
  - llama-2-7b
  - llama-3.1-8b
)");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, b);
}

TEST(SweepIds, AreThePointFileIdsAndTheEvaluatorsIds) {
  const std::string text = test::kBase + "points:\n  - {sparsity: 0.5}\n  - {sparsity: 0.9, seed: 3}\n";
  const Sweep s = load_sweep_text(text, "same.yaml");
  const auto points = config::load_point_text(text, "same.yaml");
  ASSERT_EQ(s.points.size(), points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(s.points[i].id, config::point_id(points[i]));
    EXPECT_EQ(s.points[i].id, eval::point_id(points[i]));
    EXPECT_EQ(s.points[i].spec.source, points[i].source);
  }
}

TEST(SweepIds, DifferWhenAnyParameterDiffers) {
  const auto ids =
      ids_of(test::kBase + "sparsity: [0.5, 0.6]\nseed: 2\npolicy_params: {sa_fraction: [0.5, 1]}\n");
  EXPECT_EQ(ids.size(), 4u);
}

TEST(SweepIds, AnEqualValueTwiceOnAnAxisIsADuplicate) {
  const auto d = test::only_error(test::kBase + "sparsity: [0.5, 0.7, 0.50]\n");
  EXPECT_EQ(d.where, "s.yaml:6:22");
  EXPECT_NE(d.message.find("point #2 (sparsity: 0.50) is the same point as #0 at 6:12 (sparsity: 0.5)"),
            std::string::npos)
      << d.message;
}

TEST(SweepIds, TheSamePointInTwoEntriesIsADuplicate) {
  const auto d = test::only_error(test::kBase +
                                  "points:\n  - {name: a, sparsity: 0.7}\n  - {name: b}\n"
                                  "  - {name: c, sparsity: 0.7, policies: [static]}\n");
  EXPECT_EQ(d.where, "s.yaml:9:5");
  EXPECT_NE(d.message.find("#2 (points[2]) is the same point as #0 at 7:5 (points[0])"), std::string::npos)
      << d.message;
  EXPECT_NE(d.message.find("policies"), std::string::npos) << d.message;
}

TEST(SweepIds, AGridOverlappingAnotherEntryIsADuplicate) {
  const auto d = test::only_error(test::kBase + "points:\n  - {sparsity: [0.5, 0.7]}\n  - {sparsity: 0.7}\n");
  EXPECT_EQ(d.where, "s.yaml:8:5");
  EXPECT_NE(d.message.find("is the same point as #1 at 7:5 (points[0], sparsity: 0.7)"), std::string::npos)
      << d.message;
}

}  // namespace
}  // namespace kvsweep::sweep
