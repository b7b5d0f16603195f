// The seed paper's experiments at 1/32 scale (tests/data/sweeps/paper-tiny.yaml: the earlier sweeps/paper.yaml's
// eight points, small annealing budgets), evaluated end to end. Pins what must hold at every point — the
// oracle is never beaten and never below a lower bound — and the trends docs/paper.md "Past the paper:
// true-size weights and resident reads" reports, including the one where we differ from the paper's
// expectation: above ~85 % sparsity the paper's sa_guided falls behind static (weights make the step
// HBM-bound, and static's fuller use of the link wins; the bound confirms little is left to gain there).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

struct Evaluated {
  std::string label;  // "fig3 sparsity 0.6 actual"
  double sparsity = 0;
  std::string variation;
  PointResult result;
  double time(const std::string& policy) const { return result.find(policy)->metrics.total_time_s; }
};

const std::vector<Evaluated>& paper_points() {
  static const std::vector<Evaluated> points = [] {
    const sweep::Sweep sw = sweep::load_sweep_file(std::string(KVSWEEP_TEST_DATA) + "/sweeps/paper-tiny.yaml");
    std::vector<Evaluated> out;
    for (const auto& p : sw.points) {
      Evaluated e;
      e.sparsity = p.spec.trace.synthetic.sparsity;
      e.variation = p.spec.trace.synthetic.variation;
      e.label = p.spec.name + " sparsity " + std::to_string(e.sparsity).substr(0, 4) + " " + e.variation;
      e.result = evaluate_point(p.spec);
      out.push_back(std::move(e));
    }
    return out;
  }();
  return points;
}

const Evaluated& at(double sparsity, const std::string& variation) {
  for (const auto& e : paper_points()) {
    if (std::abs(e.sparsity - sparsity) < 1e-9 && e.variation == variation) return e;
  }
  throw std::logic_error("paper-tiny.yaml lacks a point");
}

TEST(PaperInvariants, OracleBeatsEveryPolicyAndRespectsTheBounds) {
  ASSERT_EQ(paper_points().size(), 8U);
  for (const auto& e : paper_points()) {
    const double oracle = e.time("oracle");
    for (const auto& p : e.result.policies) {
      if (p.name == "unlimited_hbm") continue;  // ignores the capacity: a reference, not a schedule
      EXPECT_LE(oracle, p.metrics.total_time_s * (1 + 1e-12)) << e.label << ": oracle slower than " << p.name;
    }
    const double bound = std::max(e.result.bounds.bandwidth_split_s, e.result.bounds.free_migration_s);
    EXPECT_GE(oracle, bound * (1 - 1e-12)) << e.label << ": oracle below a lower bound";
    ASSERT_TRUE(e.result.oracle.has_value());
    EXPECT_TRUE(e.result.oracle->sa_tuned) << e.label;
  }
}

TEST(PaperInvariants, SaGuidedBeatsStaticUpTo80PercentSparsityButNotAt90) {
  for (const auto& e : paper_points()) {
    const double speedup = e.time("static") / e.time("sa_guided");
    std::printf("%-28s sa_guided %.3fx static, oracle %.3fx, unlimited_hbm %.3fx\n", e.label.c_str(), speedup,
                e.time("static") / e.time("oracle"), e.time("static") / e.time("unlimited_hbm"));
    if (e.sparsity <= 0.8 + 1e-9) {
      EXPECT_GT(speedup, 1.3) << e.label;
    }
  }
  // The finding docs/paper.md reports: at 90 % sparsity sa_guided is slower than static, and so is even
  // unlimited_hbm (every KV read on HBM, the link idle); the oracle barely beats static.
  const Evaluated& dense = at(0.9, "actual");
  EXPECT_LT(dense.time("static"), dense.time("sa_guided"));
  EXPECT_LT(dense.time("static"), dense.time("unlimited_hbm"));
  EXPECT_LT(dense.time("static") / dense.time("oracle"), 1.05);
}

TEST(PaperInvariants, TheGainNarrowsAbove80PercentSparsity) {
  const double at60 = at(0.6, "actual").time("static") / at(0.6, "actual").time("oracle");
  const double at80 = at(0.8, "actual").time("static") / at(0.8, "actual").time("oracle");
  const double at90 = at(0.9, "actual").time("static") / at(0.9, "actual").time("oracle");
  EXPECT_GT(at60, at80);
  EXPECT_GT(at80, at90);
}

TEST(PaperInvariants, AtSixtyPercentDynamicPlacementMatchesUnlimitedHbmAtEveryVariation) {
  // Normalised to unlimited_hbm (the paper's Fig. 4). Where the paper sees high variation pull page and
  // sa_guided away from the ideal, here sa_guided stays at or above it at every variation: both tiers
  // are read in parallel, so leaving some reads on the link beats holding everything in HBM, and more
  // churn sends more reads there (docs/paper.md "Past the paper: true-size weights and resident
  // reads"). Page does degrade as the paper says.
  auto page_vs_ideal = [](const Evaluated& e) { return e.time("unlimited_hbm") / e.time("page"); };
  EXPECT_GT(page_vs_ideal(at(0.6, "low")), page_vs_ideal(at(0.6, "actual")));
  EXPECT_GT(page_vs_ideal(at(0.6, "actual")), page_vs_ideal(at(0.6, "high")));
  for (const char* variation : {"low", "actual", "high"}) {
    const Evaluated& e = at(0.6, variation);
    const double sa = e.time("unlimited_hbm") / e.time("sa_guided");
    const double page = e.time("unlimited_hbm") / e.time("page");
    std::printf("60 %% sparsity, %-6s variation: throughput / unlimited_hbm's: sa_guided %.3f, page %.3f, "
                "oracle %.3f\n", variation, sa, page, e.time("unlimited_hbm") / e.time("oracle"));
    EXPECT_GT(sa, 0.98) << variation;
  }
}

}  // namespace
}  // namespace kvsweep::eval
