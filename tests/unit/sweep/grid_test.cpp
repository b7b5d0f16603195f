// Expanding good sweeps: product sizes and order, zip, exclude, `points:` with axes, nested axes, and
// what a Sweep reports (axes, policies, sources, hash).
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "sweep_test_util.hpp"

namespace kvsweep::sweep {
namespace {

using test::axis_value;
using test::kBase;

TEST(SweepGrid, APointFileWithoutListsIsOnePoint) {
  const Sweep s = load_sweep_text(kBase, "one.yaml");
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_TRUE(s.axes.empty());
  EXPECT_EQ(s.points[0].spec.source, "one.yaml");  // as load_point_text names it
  EXPECT_EQ(s.points[0].id, config::point_id(config::load_point_text(kBase, "one.yaml")[0]));
}

TEST(SweepGrid, ProductOfAxesInDocumentOrderLastFastest) {
  const Sweep s = load_sweep_text(kBase + "sparsity: [0.5, 0.7, 0.9]\nvariation: [low, high]\n", "g.yaml");
  EXPECT_EQ(s.axes, (std::vector<std::string>{"sparsity", "variation"}));
  ASSERT_EQ(s.points.size(), 6u);
  EXPECT_DOUBLE_EQ(s.points[0].spec.trace.synthetic.sparsity, 0.5);
  EXPECT_EQ(s.points[0].spec.trace.synthetic.variation, "low");
  EXPECT_EQ(s.points[1].spec.trace.synthetic.variation, "high");
  EXPECT_DOUBLE_EQ(s.points[5].spec.trace.synthetic.sparsity, 0.9);
  EXPECT_EQ(axis_value(s.points[3], "sparsity"), "0.7");
  EXPECT_EQ(axis_value(s.points[3], "variation"), "high");
  EXPECT_EQ(s.points[4].spec.source, "g.yaml#4");
}

TEST(SweepGrid, EveryKindOfAxis) {
  // Five axes of 2 values each, at the top level and inside the knob groups.
  const Sweep s = load_sweep_text(R"(
model: [llama-3.1-8b, {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}]
hardware: [gh200-measured, paper-table1]
hbm_capacity_gb: [90, 95]
prompt_tokens: 1000
decode_tokens: 100
link_read_gbps: [100, 200]
kv_accounting: [true, mha]
synthetic: {span_tokens: [8, 16], sink_tokens: 4}
policy_params: {sa_window: [4, 16]}
exclude: [{model: tiny, kv_accounting: mha}]
)",
                                  "k.yaml");
  EXPECT_EQ(s.axes,
            (std::vector<std::string>{"model", "hardware", "hbm_capacity_gb", "link_read_gbps",
                                      "kv_accounting", "synthetic.span_tokens", "policy_params.sa_window"}));
  EXPECT_EQ(s.points.size(), 128u - 32u);  // mha applies only to presets: excluded for the inline model
  std::set<std::string> models, hardware;
  std::set<double> spans, links;
  std::set<std::uint32_t> windows;
  for (const auto& p : s.points) {
    models.insert(p.spec.model_name);
    hardware.insert(p.spec.hardware.name);
    spans.insert(p.spec.trace.synthetic.span_tokens);
    links.insert(p.spec.hardware.link_read_gbps);
    windows.insert(p.spec.policy_params.sa_window);
    EXPECT_EQ(p.spec.trace.synthetic.sink_tokens, 4u);
  }
  EXPECT_EQ(models, (std::set<std::string>{"llama-3.1-8b", "tiny"}));
  EXPECT_EQ(hardware, (std::set<std::string>{"gh200-measured", "paper-table1"}));
  EXPECT_EQ(spans, (std::set<double>{8, 16}));
  EXPECT_EQ(links, (std::set<double>{100, 200}));
  EXPECT_EQ(windows, (std::set<std::uint32_t>{4, 16}));
  EXPECT_EQ(axis_value(s.points.back(), "model"),
            "{name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}");
}

TEST(SweepGrid, AnInlineMappingAndThePolicyListAreSingleValues) {
  const Sweep s = load_sweep_text(R"(
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}
hardware: {name: hw, hbm_bw_gbps: 1000, link_read_gbps: 100, link_write_gbps: 100, dram_bw_gbps: 200}
hbm_kv_capacity_entries: 100
prompt_tokens: 100
decode_tokens: 10
policies: [static, belady]
)",
                                  "m.yaml");
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_TRUE(s.axes.empty());
  EXPECT_EQ(s.policies, (std::vector<std::string>{"static", "belady"}));
}

TEST(SweepGrid, ZipStepsAxesTogether) {
  const Sweep s = load_sweep_text(R"(
model: llama-3.1-8b
hardware: gh200-measured
hbm_capacity_ratio: [0.1, 0.2]
prompt_tokens: [1000, 2000, 4000]
decode_tokens: [100, 200, 400]
zip: [[prompt_tokens, decode_tokens]]
)",
                                  "z.yaml");
  ASSERT_EQ(s.points.size(), 6u);
  for (const auto& p : s.points) EXPECT_EQ(p.spec.prompt_tokens, 10 * p.spec.decode_tokens);
  // The zip group takes the place of its first axis; the ratio axis stays outermost.
  EXPECT_DOUBLE_EQ(s.points[2].spec.capacity.value, 0.1);
  EXPECT_EQ(s.points[2].spec.prompt_tokens, 4000u);
  // A flat list is one group.
  const Sweep flat = load_sweep_text(kBase +
                                         "link_read_gbps: [1, 2]\nlink_write_gbps: [3, 4]\n"
                                         "zip: [link_read_gbps, link_write_gbps]\n",
                                     "f.yaml");
  EXPECT_EQ(flat.points.size(), 2u);
}

TEST(SweepGrid, ExcludeComparesParsedValuesAndAcceptsLists) {
  const std::string grid = kBase + "sparsity: [0.5, 0.7, 0.9]\nvariation: [low, actual, high]\n";
  EXPECT_EQ(load_sweep_text(grid + "exclude: [{sparsity: 0.50}]\n", "e.yaml").points.size(), 6u);
  EXPECT_EQ(load_sweep_text(grid + "exclude: [{sparsity: 5e-1, variation: low}]\n", "e.yaml").points.size(),
            8u);
  EXPECT_EQ(load_sweep_text(grid + "exclude: [{sparsity: [0.5, 0.9], variation: [low, high]}]\n", "e.yaml")
                .points.size(),
            5u);
  const Sweep two =
      load_sweep_text(grid + "exclude:\n  - {sparsity: 0.5}\n  - {variation: high}\n", "e.yaml");
  ASSERT_EQ(two.points.size(), 4u);
  for (const auto& p : two.points) {
    EXPECT_NE(p.spec.trace.synthetic.sparsity, 0.5);
    EXPECT_NE(p.spec.trace.synthetic.variation, "high");
  }
}

TEST(SweepGrid, PointsEntriesExpandOnTheirOwnOverTheDefaults) {
  const Sweep s = load_sweep_text(R"(
model: llama-3.1-8b
hardware: gh200-measured
prompt_tokens: [1000, 2000]
decode_tokens: 100
hbm_capacity_ratio: [0.2, 0.4]
exclude: [{hbm_capacity_ratio: 0.4, sparsity: 0.6}]
points:
  - {sparsity: [0.5, 0.6]}                         # 2 x 2 x 2, minus (0.4, 0.6): 6
  - {hbm_capacity_gb: 90, prompt_tokens: 500}      # both default axes replaced: 1
  - {decode_tokens: [5, 6], zip: [[prompt_tokens, decode_tokens]]}   # 2 zipped x 2 ratios: 4
)",
                                  "p.yaml");
  ASSERT_EQ(s.points.size(), 11u);
  EXPECT_EQ(s.axes,
            (std::vector<std::string>{"prompt_tokens", "hbm_capacity_ratio", "sparsity", "decode_tokens"}));
  const auto& lone = s.points[6].spec;
  EXPECT_EQ(lone.capacity.kind, config::CapacitySpec::Kind::kGigabytes);
  EXPECT_EQ(lone.prompt_tokens, 500u);
  EXPECT_EQ(axis_value(s.points[6], "hbm_capacity_ratio"), "");  // replaced by hbm_capacity_gb
  EXPECT_EQ(axis_value(s.points[6], "prompt_tokens"), "500");    // a single value of an axis elsewhere
  for (std::size_t i = 7; i < 11; ++i) {
    EXPECT_EQ(s.points[i].spec.prompt_tokens == 1000 ? 5u : 6u, s.points[i].spec.decode_tokens);
  }
  EXPECT_EQ(s.points[10].spec.source, "p.yaml#10");
}

TEST(SweepGrid, ExcludeMatchesASingleValueAnEntryGives) {
  const Sweep s = load_sweep_text(R"(
hardware: gh200-measured
prompt_tokens: 1000
decode_tokens: 100
hbm_capacity_ratio: [0.2, 0.4]
model: [llama-3.1-8b, llama-2-7b]
exclude: [{model: llama-2-7b, hbm_capacity_ratio: 0.2}]
points:
  - {name: both}
  - {name: fixed, model: llama-2-7b, prompt_tokens: 2000}
)",
                                  "x.yaml");
  ASSERT_EQ(s.points.size(), 3u + 1u);
  EXPECT_EQ(s.points[3].spec.name, "fixed");
  EXPECT_DOUBLE_EQ(s.points[3].spec.capacity.value, 0.4);
}

TEST(SweepGrid, PoliciesAreTheUnionInOrderOfFirstAppearance) {
  const Sweep s = load_sweep_text(kBase +
                                      "points:\n  - {policies: [static, belady]}\n"
                                      "  - {policies: [unlimited_hbm, static], sparsity: 0.7}\n",
                                  "u.yaml");
  EXPECT_EQ(s.policies, (std::vector<std::string>{"static", "belady", "unlimited_hbm"}));
}

TEST(SweepGrid, HashIsOfTheBytes) {
  const Sweep a = load_sweep_text(kBase, "a.yaml");
  const Sweep b = load_sweep_text(kBase, "b.yaml");
  const Sweep c = load_sweep_text(kBase + "\n", "a.yaml");
  EXPECT_EQ(a.hash.size(), 16u);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
  EXPECT_EQ(a.text, kBase);
}

TEST(SweepGrid, LargestGridIsAccepted) {
  std::string list = "[";
  for (int i = 1; i <= 100; ++i) list += std::to_string(i) + (i < 100 ? ", " : "]");
  const Sweep s =
      load_sweep_text(kBase + "synthetic: {sink_tokens: " + list + ", span_tokens: " + list +
                          "}\npolicy_params: {page_tokens: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]}\n",
                      "big.yaml");
  EXPECT_EQ(s.points.size(), kMaxSweepPoints);
}

TEST(SweepGrid, CostRanksTheBiggerPointFirst) {
  const Sweep s = load_sweep_text(R"(
model: llama-3.1-8b
hardware: gh200-measured
hbm_capacity_ratio: 0.25
prompt_tokens: [1000, 4000]
decode_tokens: [100, 400]
sparsity: [0.5, 0.9]
policies: [static, belady, sa_guided, oracle]
)",
                                  "c.yaml");
  ASSERT_EQ(s.points.size(), 8u);
  for (const auto& p : s.points) {
    EXPECT_GT(p.cost_estimate, 0);
    EXPECT_GT(p.estimated_s, 0);
  }
  // More decode steps, a longer prompt, denser reads: more work.
  EXPECT_LT(s.points[0].cost_estimate, s.points[2].cost_estimate);  // D 100 -> 400
  EXPECT_LT(s.points[0].cost_estimate, s.points[4].cost_estimate);  // P 1000 -> 4000
  EXPECT_GT(s.points[0].cost_estimate, s.points[1].cost_estimate);  // sparsity 0.5 -> 0.9
}

TEST(SweepGrid, ATraceFilePointIsCostedFromTheFileSize) {
  const char* env = std::getenv("KVSWEEP_TEST_DATA");
  const std::string data = env != nullptr && *env != '\0' ? env : KVSWEEP_TEST_DATA;
  const Sweep s = load_sweep_text(
      "model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}\n"
      "hardware: paper-table1\nhbm_kv_capacity_entries: [4, 6]\ntrace: {file: " +
          data + "/tiny_trace.csv}\n",
      "t.yaml");
  ASSERT_EQ(s.points.size(), 2u);
  EXPECT_GT(s.points[0].cost_estimate, 0);
  EXPECT_EQ(s.points[0].spec.prompt_tokens, 0u);  // the file's header decides, at evaluation
}

}  // namespace
}  // namespace kvsweep::sweep
