// The Lagrangian bound (bound/lagrangian.hpp), in both read modes:
// - at zero duals it is bandwidth_split, at free_migration's duals at least free_migration;
// - at any feasible dual point it is below the exhaustive optimum (weak duality) and below the LP
//   relaxation solved by Clp;
// - the volume algorithm stays below the LP relaxation, never below where it started, and closes most
//   of the distance from free_migration to the LP;
// - every path kernel (plain, AVX2, AVX-512) gives the same paths.
#include "kvsweep/bound/lagrangian.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/oracle/exact.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "lagrangian_helpers.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

class Lagrangian : public ::testing::TestWithParam<ReadMode> {};

TEST_P(Lagrangian, ZeroDualsGiveBandwidthSplitAndFreeMigrationDualsAtLeastFreeMigration) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const Instance in = persistent_instance(seed, static_cast<std::uint32_t>(2 + seed % 3), static_cast<std::uint32_t>(10 + seed % 20),
                                            static_cast<std::uint32_t>(8 + seed % 9), GetParam());
    const bound::StepMajorReads reads = reads_of(in.trace);
    const bound::BoundTotals b = bounds_of(reads, in.memory);
    bound::PathCounts c;
    const double zero = bound::lagrangian_value(reads, in.memory, bound::zero_duals(reads), c, true);
    EXPECT_NEAR(zero, b.bandwidth_split_s, 1e-12 * b.bandwidth_split_s) << "seed " << seed;
    const double fm = bound::lagrangian_value(reads, in.memory, bound::free_migration_duals(reads, in.memory), c, true);
    EXPECT_GE(fm, b.free_migration_s * (1 - 1e-12)) << "seed " << seed;
    ++checked;
  }
  EXPECT_EQ(checked, 40);
}

TEST_P(Lagrangian, AnyDualPointIsBelowTheOptimumAndTheLpRelaxation) {
  std::mt19937_64 rng(7);
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed * 104729, two_layers ? 2 : 1, two_layers ? 8 : 10, GetParam());
    if (in.trace.shape.decode_tokens == 0) continue;
    const bound::StepMajorReads reads = reads_of(in.trace);
    const double optimum = exhaustive_optimum(in.trace, in.memory);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const double lp = oracle::solve_lp_relaxation(inst).value_s;
    EXPECT_LE(lp, optimum * (1 + 1e-9)) << "seed " << seed;
    for (int k = 0; k < 20; ++k) {
      bound::PathCounts c;
      const double v = bound::lagrangian_value(reads, in.memory, random_duals(reads, in.memory, rng), c, true);
      ASSERT_LE(v, lp * (1 + 1e-9) + 1e-15) << "seed " << seed << " draw " << k;
    }
    ++checked;
  }
  EXPECT_GE(checked, 50);
}

TEST_P(Lagrangian, VolumeAlgorithmClimbsTowardsTheLpRelaxation) {
  int instances = 0;
  double closed = 0;  // share of the distance from free_migration to the LP closed, summed
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    const Instance in = persistent_instance(seed, static_cast<std::uint32_t>(2 + seed % 2), static_cast<std::uint32_t>(16 + seed % 10),
                                            static_cast<std::uint32_t>(12 + seed % 5), GetParam());
    const bound::StepMajorReads reads = reads_of(in.trace);
    const bound::BoundTotals b = bounds_of(reads, in.memory);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const double lp = oracle::solve_lp_relaxation(inst).value_s;
    // The step length aims at a schedule's time: fm_tracking's, as in kvsweep eval.
    auto source = trace::make_explicit_source(in.trace);
    const double schedule = oracle::record_schedule(inst, "fm_tracking", {}, *source).exact_total();
    bound::LagrangianOptions o;
    o.max_passes = 400;
    o.upper_bound_s = schedule;
    const bound::LagrangianResult r = bound::lagrangian_bound(reads, in.memory, o);
    EXPECT_LE(r.bound_s, lp * (1 + 1e-9)) << "seed " << seed;  // and so below the optimum
    EXPECT_GE(r.bound_s, r.start_s * (1 - 1e-6)) << "seed " << seed;
    EXPECT_GE(r.start_s, b.free_migration_s * (1 - 1e-6)) << "seed " << seed;
    ASSERT_EQ(r.best_by_pass_s.size(), r.passes);
    for (std::size_t k = 1; k < r.best_by_pass_s.size(); ++k) EXPECT_GE(r.best_by_pass_s[k], r.best_by_pass_s[k - 1]);
    const double room = lp - b.free_migration_s;
    if (room > 1e-6 * lp) {
      closed += (r.bound_s - b.free_migration_s) / room;
      ++instances;
    }
  }
  ASSERT_GE(instances, 10);
  std::printf("%s reads: the volume algorithm closes %.0f %% of the distance from free_migration to the LP "
              "on average over %d instances\n",
              mode_name(GetParam()).c_str(), 100 * closed / instances, instances);
  EXPECT_GE(closed / instances, 0.5);
}

TEST_P(Lagrangian, EveryKernelFindsTheSamePaths) {
  const Instance in = persistent_instance(11, 3, 150, 70, GetParam());
  const bound::StepMajorReads reads = reads_of(in.trace);
  std::mt19937_64 rng(3);
  const bound::LagrangianDuals d = random_duals(reads, in.memory, rng);
  for (bool precise : {false, true}) {
    bound::PathCounts ref;
    const double v = bound::lagrangian_value(reads, in.memory, d, ref, precise, false, bound::PathKernel::kScalar);
    for (auto k : {bound::PathKernel::kAvx2, bound::PathKernel::kAvx512, bound::PathKernel::kAuto}) {
      if (!bound::kernel_available(k)) continue;
      bound::PathCounts c;
      EXPECT_EQ(bound::lagrangian_value(reads, in.memory, d, c, precise, true, k), v);
      EXPECT_EQ(c.hits, ref.hits);
      EXPECT_EQ(c.piggyback, ref.piggyback);
      EXPECT_EQ(c.prefetch, ref.prefetch);
      EXPECT_EQ(c.kept_new, ref.kept_new);
      EXPECT_EQ(c.occupancy, ref.occupancy);
    }
  }
}

TEST(LagrangianDuals, InfeasibleDualsAreRefused) {
  const Instance in = persistent_instance(2, 2, 12, 8);
  const bound::StepMajorReads reads = reads_of(in.trace);
  bound::PathCounts c;
  bound::LagrangianDuals d = bound::zero_duals(reads);
  d.hbm[0] = 0.7;
  d.link[0] = 0.4;
  EXPECT_THROW(bound::lagrangian_value(reads, in.memory, d, c, true), std::invalid_argument);
  d = bound::zero_duals(reads);
  d.capacity[1] = -1;
  EXPECT_THROW(bound::lagrangian_value(reads, in.memory, d, c, true), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(ReadModes, Lagrangian, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) {
                           return mode_name(param_info.param);
                         });

}  // namespace
}  // namespace kvsweep::testing
