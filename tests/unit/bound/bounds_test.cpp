// The lower bounds must hold for every schedule: below every policy on random small instances and below
// the true optimum found by exhaustive search on tiny ones.
#include <gtest/gtest.h>

#include "kvsweep/bound/bounds.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

const std::vector<std::string> kPolicies = {"unlimited_hbm", "static", "reactive_lru", "page",    "streaming",
                                            "h2o",           "lru_hot", "ema",         "arc",     "history",
                                            "bandit",        "belady", "sa_guided"};

bound::BoundTotals bounds_of(const Instance& in) {
  bound::BoundAccumulator acc(in.memory);
  const auto& sh = in.trace.shape;
  std::vector<std::uint32_t> reads(sh.layers);
  for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
    for (std::uint32_t l = 0; l < sh.layers; ++l) reads[l] = static_cast<std::uint32_t>(in.trace.reads(n, l).size());
    acc.add_step(reads);
  }
  return acc.totals();
}

constexpr double kSlack = 1e-9;

class BoundsInMode : public ::testing::TestWithParam<ReadMode> {};

TEST_P(BoundsInMode, BelowEveryPolicyOnRandomInstances) {
  for (std::uint64_t seed = 1000; seed < 1220; ++seed) {
    const Instance in = random_instance(seed, 4, 48, GetParam());
    const bound::BoundTotals b = bounds_of(in);
    EXPECT_LE(b.bandwidth_split_s, b.free_migration_s * (1 + kSlack)) << "seed " << seed;
    for (const auto& name : kPolicies) {
      const RecordedRun run = run_and_record(name, in.trace, in.memory);
      EXPECT_LE(b.bandwidth_split_s, run.judged_time_s * (1 + kSlack)) << name << " seed " << seed;
      if (run.respects_capacity) {
        EXPECT_LE(b.free_migration_s, run.judged_time_s * (1 + kSlack)) << name << " seed " << seed;
      }
    }
  }
}

TEST_P(BoundsInMode, BelowTheExhaustiveOptimumOnTinyInstances) {
  int tight = 0;
  for (std::uint64_t seed = 5000; seed < 5080; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed, two_layers ? 2 : 1, two_layers ? 7 : 10, GetParam());
    const double optimum = exhaustive_optimum(in.trace, in.memory);
    const bound::BoundTotals b = bounds_of(in);
    EXPECT_LE(b.bandwidth_split_s, optimum * (1 + kSlack)) << "seed " << seed;
    EXPECT_LE(b.free_migration_s, optimum * (1 + kSlack)) << "seed " << seed;
    // The optimum is itself below every capacity-respecting policy (checks the search).
    for (const auto& name : kPolicies) {
      const RecordedRun run = run_and_record(name, in.trace, in.memory);
      if (run.respects_capacity) {
        EXPECT_LE(optimum, run.judged_time_s * (1 + kSlack)) << name << " seed " << seed;
      }
    }
    if (b.free_migration_s >= optimum * (1 - 1e-9)) ++tight;
  }
  // The bound is not vacuous: on some tiny instances it is exactly achievable.
  EXPECT_GT(tight, 0);
}

INSTANTIATE_TEST_SUITE_P(ReadModes, BoundsInMode, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) {
                           return mode_name(param_info.param);
                         });

// The mirrored-weights variant of the suites above is not vacuous: on some of their instances the
// optimum is faster with the weights' copy in DRAM, and never slower.
TEST(Bounds, MirroredWeightsMatterOnTheTinyInstances) {
  int faster = 0;
  for (std::uint64_t seed = 5000; seed < 5080; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance plain = random_instance(seed, two_layers ? 2 : 1, two_layers ? 7 : 10, kReadModes[0]);
    const Instance mirror = random_instance(seed, two_layers ? 2 : 1, two_layers ? 7 : 10, kReadModes[2]);
    const double a = exhaustive_optimum(plain.trace, plain.memory);
    const double b = exhaustive_optimum(mirror.trace, mirror.memory);
    EXPECT_LE(b, a * (1 + 1e-12)) << "seed " << seed;
    if (b < a * (1 - 1e-9)) ++faster;
  }
  EXPECT_GT(faster, 5);
}

// With balanced reads, unlimited_hbm holds every entry, so each step's T is min over x of f(x) of the
// bounds with the new entry's HBM write added: unlimited_hbm - bandwidth_split is exactly what that
// write adds, step by step (and at most e / B_hbm per step).
TEST(Bounds, UnlimitedHbmIsBandwidthSplitPlusTheNewEntrysWrite) {
  for (std::uint64_t seed = 7000; seed < 7200; ++seed) {
    const Instance in = random_instance(seed, 4, 48, config::HbmReads::kBalanced);
    const auto& m = in.memory;
    const auto& sh = in.trace.shape;
    double beta_term = 0;
    for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
      for (std::uint32_t l = 0; l < sh.layers; ++l) {
        const auto s = static_cast<double>(in.trace.reads(n, l).size());
        // f with beta = 1 is f of a memory whose weights are e bytes larger.
        cost::MemorySystem with_write = m;
        with_write.weight_bytes_per_layer += m.kv_entry_bytes;
        const double step = bound::bandwidth_split_step(with_write, in.trace.reads(n, l).size()) -
                            bound::bandwidth_split_step(m, in.trace.reads(n, l).size());
        EXPECT_GE(step, -1e-18) << "seed " << seed;
        EXPECT_LE(step, m.kv_entry_bytes / m.hbm_bw * (1 + 1e-12)) << "seed " << seed << " s " << s;
        beta_term += step;
      }
    }
    const double unlimited = run_and_record("unlimited_hbm", in.trace, m).judged_time_s;
    const double split = bounds_of(in).bandwidth_split_s;
    EXPECT_NEAR(unlimited - split, beta_term, 1e-9 * unlimited) << "seed " << seed;
  }
}

TEST(Bounds, StepMinimumIsAtTheCrossing) {
  cost::MemorySystem m;
  m.kv_entry_bytes = 1;
  m.weight_bytes_per_layer = 0;
  m.hbm_bw = 3;
  m.link_read_bw = 1;
  m.link_write_bw = 1e9;
  m.dram_bw = 1e9;
  m.capacity_entries = 1000;
  // f(x) = max(x / 3, 8 - x): crossing at x = 6 -> 2 s.
  EXPECT_NEAR(bound::bandwidth_split_step(m, 8), 2.0, 1e-12);
  // Two layers of 8 reads with C = 6 hits in total: best split 3 + 3 -> 5 + 5 = 10 s.
  const std::vector<std::uint32_t> reads{8, 8};
  m.capacity_entries = 6;
  EXPECT_NEAR(bound::free_migration_step(m, reads), 10.0, 1e-12);
}

}  // namespace
}  // namespace kvsweep::testing
