// The paper under its own accounting (docs/paper.md "The paper, audited"), at 1/16 scale so that it runs in a
// second: P, D, the KV capacity and the weights per layer-step all / 16, the KV entry and bandwidths
// unchanged. Every step then moves 1/16 of the bytes and there are 1/16 of the steps, so times are
// 1/256 of the full scale's; the position profile is relative to n, so the share of reads in the first
// C / L tokens — static's KV hit rate — is the same (full and 1/16 scale agree within 0.006).
// Pins (1) unlimited_hbm against the authors' "best" column and their own formula, and (2) the
// calibrated trace's static against their published static latencies (within 5 %).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

struct Published {
  double sparsity, best, static_s, formula;  // s; formula: their sum L (W + e |S|) / 5350 GB/s
};
// plot_scripts/data/latency_vs_sparsity.csv (analysis/data/paper_published.csv); at 80-90 % their
// "best" is 0.4 / 0.6 / 0.2 s below their own formula, so unlimited_hbm is held to the formula there.
const std::vector<Published> kPublished = {
    {0.4, 31.90528498, 189.69611276, 31.90528498}, {0.5, 28.25044844, 166.79594455, 28.25044844},
    {0.6, 24.59591295, 140.00842914, 24.59591295}, {0.8, 16.88654092, 76.14524439, 17.287},
    {0.85, 14.85932335, 58.18784771, 15.459},      {0.9, 13.43190508, 39.51305280, 13.632},
};

TEST(PaperAccounting, UnlimitedIsTheirBestAndCalibratedStaticIsTheirStatic) {
  const std::string yaml = R"(
model: {name: llama-3.1-8b-paper-1/16, layers: 32, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 10180608}
hardware: paper-table1
hbm_kv_capacity_entries: 33172   # 530,765 / 16
hbm_reads: balanced
prompt_tokens: 1956              # 31,299 / 16
decode_tokens: 639               # 10,239 / 16
variation: actual
policies: [unlimited_hbm, static]
points:
  - {sparsity: [0.4, 0.5, 0.6, 0.8, 0.85, 0.9]}
)";
  const auto points = sweep::load_sweep_text(yaml, "paper-1/16").points;
  ASSERT_EQ(points.size(), kPublished.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Published& pub = kPublished[i];
    SCOPED_TRACE(::testing::Message() << "sparsity " << pub.sparsity);
    ASSERT_DOUBLE_EQ(points[i].spec.trace.synthetic.sparsity, pub.sparsity);
    const PointResult r = evaluate_point(points[i].spec);
    const double unlimited = r.find("unlimited_hbm")->metrics.total_time_s * 256;
    const double stat = r.find("static")->metrics.total_time_s * 256;
    // 1/16 scale rounds k(n) at 1/16 of the steps: within 0.2 % (full scale: 0.011 %, docs/paper.md).
    EXPECT_NEAR(unlimited / pub.formula, 1, 2e-3) << unlimited;
    EXPECT_NEAR(stat / pub.static_s, 1, 0.05) << stat;
    RecordProperty("static_" + std::to_string(pub.sparsity), std::to_string(stat));
  }
}

}  // namespace
}  // namespace kvsweep::eval

namespace kvsweep::eval {
namespace {

// fm_tracking (policy/fm_tracking.cpp) aims at the free_migration bound's hits; at 1/16 of the paper's
// point, in both read modes, it is within 3 % of the best lower bound at every sparsity (measured:
// 0.2-2.0 % balanced, 0.8-2.6 % resident) and ahead of belady, the strongest look-ahead baseline before it.
TEST(FmTracking, WithinThreePercentOfTheBoundAtThePaperShape) {
  for (const char* mode : {"balanced", "resident"}) {
    const std::string yaml = std::string(R"(
model: {name: llama-3.1-8b-paper-1/16, layers: 32, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 10180608}
hardware: paper-table1
hbm_kv_capacity_entries: 33172
prompt_tokens: 1956
decode_tokens: 639
policies: [belady, fm_tracking]
hbm_reads: )") + mode + R"(
points:
  - {sparsity: [0.4, 0.5, 0.6, 0.8, 0.85, 0.9]}
)";
    for (const auto& p : sweep::load_sweep_text(yaml, "fm-1/16").points) {
      SCOPED_TRACE(::testing::Message() << mode << " sparsity " << p.spec.trace.synthetic.sparsity);
      const PointResult r = evaluate_point(p.spec);
      const double bound = std::max(r.bounds.bandwidth_split_s, r.bounds.free_migration_s);
      const double fm = r.find("fm_tracking")->metrics.total_time_s;
      EXPECT_GE(fm, bound * (1 - 1e-12));
      EXPECT_LE(fm, bound * 1.03);
      EXPECT_LE(fm, r.find("belady")->metrics.total_time_s);
    }
  }
}

}  // namespace
}  // namespace kvsweep::eval

#include "kvsweep/bound/lagrangian.hpp"

namespace kvsweep::eval {
namespace {

// Issue 27 item 11: at short contexts the paper's weights alone are more than HBM's share of a step's
// bytes (alpha* = 4900 / 5350 of D_R = W + |S| e), and the authors' simulator then reads part of the
// weights over the link: their step is D_R / 5350 GB/s. The paper preset mirrors its weights in DRAM by
// default (weights_in_dram: mirror), so kvsweep's static agrees with that to 1e-12 at P = 600, 60 %
// sparsity; with weights_in_dram: none it is HBM-bound at (W + hits e) / 4900 GB/s, over 6 % slower.
TEST(PaperAccounting, ThePaperPresetMirrorsItsWeightsAtShortContexts) {
  auto point = [](const std::string& extra) {
    const std::string yaml = R"(
model: llama-3.1-8b-paper
hardware: paper-table1
hbm_kv_capacity_entries: 1000   # static keeps 1,000 prompt entries; no new entry fits: beta = 0
prompt_tokens: 600
decode_tokens: 24
sparsity: 0.6
policies: [static]
)" + extra;
    return sweep::load_sweep_text(yaml, "short-context").points.at(0).spec;
  };
  const config::PointSpec mirror = point(""), none = point("weights_in_dram: none\n");
  EXPECT_EQ(mirror.weights_in_dram, config::WeightsInDram::kMirror);  // the preset's default
  EXPECT_EQ(none.weights_in_dram, config::WeightsInDram::kNone);
  EXPECT_NE(config::point_id(mirror), config::point_id(none));
  // Their formula on the same trace: every step's D_R at 5350 GB/s (the weights alone exceed alpha* D_R).
  auto source = make_trace_source(mirror);
  const bound::StepMajorReads reads(*source);
  const double e = 16384, W = 162889728;
  double theirs = 0;
  std::uint64_t fewest = ~0ULL;
  for (std::uint32_t j = 0; j < 24; ++j) {
    for (std::uint32_t l = 0; l < 32; ++l) {
      const double d_r = W + e * reads.count(j, l);
      ASSERT_GT(W, 4900.0 / 5350.0 * d_r);
      theirs += d_r / 5350e9;
      fewest = std::min<std::uint64_t>(fewest, reads.count(j, l));
    }
  }
  EXPECT_GE(fewest, 200u);  // 60 % of 600..623 past tokens: 240-250 reads
  const double with_mirror = evaluate_point(mirror).find("static")->metrics.total_time_s;
  const double without = evaluate_point(none).find("static")->metrics.total_time_s;
  EXPECT_NEAR(with_mirror / theirs, 1, 1e-12);
  EXPECT_GT(without / theirs, 1.06);
}

}  // namespace
}  // namespace kvsweep::eval
