// The Lagrangian bound over batches, blocks and a per-transfer cost (bound/lagrangian.hpp "In a batch"),
// in every read mode:
// - tiny batches (B = 1-3, k = 1 and 2, O = 0 and > 0): at zero duals it is bandwidth_split, at
//   free_migration's duals at least free_migration, at any feasible dual point and after the volume
//   algorithm below the exhaustive optimum (check_schedule's rules); how often it is above both simple
//   bounds is printed;
// - where every entry fits and HBM binds, no bound charges O for resident entries read from DRAM;
// - larger batches (up to 4 sequences, blocks up to 8): below every capacity-respecting policy's time;
// - the cheapest paths (fm_dual's plan) keep the block rules over the batch's positions, and replayed
//   by the checker they count the hits, piggy-backs, prefetches and kept new entries the bound priced.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>

#include "kvsweep/bound/lagrangian.hpp"
#include "kvsweep/config/point.hpp"
#include "lagrangian_helpers.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

struct BatchCase {
  std::uint32_t batch, block, decode;
  double overhead;
};

// Tiny enough for exhaustive_batch_optimum (footprint up to 10 entries, one layer).
constexpr BatchCase kTinyCases[] = {{2, 1, 2, 0.0},    {2, 2, 2, 0.0},    {3, 1, 2, 0.0},    {3, 2, 2, 0.0},
                                    {2, 1, 2, 3000.0}, {2, 2, 2, 3000.0}, {3, 1, 2, 1500.0}, {3, 2, 2, 1500.0},
                                    {2, 2, 3, 2000.0}, {2, 1, 3, 0.0},    {1, 2, 3, 3000.0}, {1, 2, 4, 0.0}};

class LagrangianBatch : public ::testing::TestWithParam<ReadMode> {};

TEST_P(LagrangianBatch, TinyBatchesBelowTheExhaustiveOptimum) {
  std::mt19937_64 rng(5);
  int checked = 0, tighter = 0;
  for (std::uint64_t seed = 1; seed <= 96; ++seed) {
    const BatchCase c = kTinyCases[seed % std::size(kTinyCases)];
    const std::uint32_t max_prompt = c.batch == 3 || c.decode > 2 ? 1 : 2;
    const Instance in = random_batch_instance(seed, c.batch, max_prompt, c.decode, 1, c.block, c.overhead, GetParam());
    if (in.trace.shape.footprint_tokens() > 10) continue;
    const double optimum = exhaustive_batch_optimum(in.trace, in.memory);
    const bound::StepMajorReads reads = reads_of(in.trace);
    const bound::BoundTotals b = bounds_of(reads, in.memory);
    const std::string what = "seed " + std::to_string(seed) + " B " + std::to_string(c.batch) + " k " +
                             std::to_string(c.block) + " O " + std::to_string(c.overhead);
    bound::PathCounts counts;
    const double zero = bound::lagrangian_value(reads, in.memory, bound::zero_duals(reads), counts, true);
    EXPECT_NEAR(zero, b.bandwidth_split_s, 1e-12 * b.bandwidth_split_s) << what;
    const double fm = bound::lagrangian_value(reads, in.memory, bound::free_migration_duals(reads, in.memory), counts, true);
    EXPECT_GE(fm, b.free_migration_s * (1 - 1e-12)) << what;
    for (int k = 0; k < 10; ++k) {
      const double v = bound::lagrangian_value(reads, in.memory, random_duals(reads, in.memory, rng), counts, true);
      ASSERT_LE(v, optimum * (1 + 1e-9)) << what << " draw " << k;
    }
    bound::LagrangianOptions o;
    o.max_passes = 200;
    o.upper_bound_s = optimum;
    const bound::LagrangianResult r = bound::lagrangian_bound(reads, in.memory, o);
    EXPECT_LE(r.bound_s, optimum * (1 + 1e-9)) << what;
    const double simple = std::max(b.bandwidth_split_s, b.free_migration_s);
    EXPECT_GE(r.bound_s, simple * (1 - 1e-9)) << what;
    tighter += r.bound_s > simple * (1 + 1e-9) ? 1 : 0;
    ++checked;
  }
  EXPECT_GE(checked, 60);
  std::printf("%s reads: the Lagrangian bound is above both simple bounds on %d of %d tiny batches\n",
              mode_name(GetParam()).c_str(), tighter, checked);
}

// Where capacity holds every entry and HBM binds, a schedule keeps the reads resident and streams some of
// them from DRAM's copy, which carries no per-transfer cost: neither the simple bounds (the Lagrangian's
// step floors) nor the Lagrangian may charge O for them.
TEST_P(LagrangianBatch, NoOverheadChargedForResidentEntriesReadFromDram) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 120; ++seed) {
    Instance in = random_batch_instance(seed, 2, 2, 2, 1, seed % 2 != 0 ? 1 : 2, 3000.0 + 1000.0 * static_cast<double>(seed % 5), GetParam());
    if (in.trace.shape.footprint_tokens() > 10) continue;
    in.memory.capacity_entries = in.trace.shape.footprint_tokens() * 2;
    in.memory.weight_bytes_per_layer *= static_cast<double>(seed % 7 + 1);
    const double optimum = exhaustive_batch_optimum(in.trace, in.memory);
    const bound::StepMajorReads reads = reads_of(in.trace);
    const bound::BoundTotals b = bounds_of(reads, in.memory);
    EXPECT_LE(b.bandwidth_split_s, optimum * (1 + 1e-12)) << "seed " << seed;
    EXPECT_LE(b.free_migration_s, optimum * (1 + 1e-12)) << "seed " << seed;
    bound::LagrangianOptions o;
    o.max_passes = 100;
    o.upper_bound_s = optimum;
    EXPECT_LE(bound::lagrangian_bound(reads, in.memory, o).bound_s, optimum * (1 + 1e-9)) << "seed " << seed;
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

// Beyond the exhaustive search: every policy that places batches gives a schedule, and the bound stays
// below each capacity-respecting one.
TEST_P(LagrangianBatch, BelowEveryBatchPolicy) {
  int tighter = 0;
  double closed = 0;  // share of the gap from the simple bounds to the best policy closed, summed
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    const std::uint32_t batch = 1 + static_cast<std::uint32_t>(seed % 4);
    const std::uint32_t k = 1U << ((seed / 4) % 4);  // 1, 2, 4, 8
    const double overhead = seed % 3 == 0 ? 2048.0 : 0.0;
    const Instance in = random_batch_instance(seed, batch, 40, 6, 2, k, overhead, GetParam());
    double best = 1e300;
    for (const std::string& name : config::simulated_policy_names()) {
      const RecordedRun run = run_and_record(name, in.trace, in.memory);
      if (run.respects_capacity) best = std::min(best, run.judged_time_s);
    }
    const bound::StepMajorReads reads = reads_of(in.trace);
    bound::LagrangianOptions o;
    o.max_passes = 150;
    o.upper_bound_s = best;
    const bound::LagrangianResult r = bound::lagrangian_bound(reads, in.memory, o);
    EXPECT_LE(r.bound_s, best * (1 + 1e-9)) << "seed " << seed;
    EXPECT_GE(r.bound_s, r.start_s * (1 - 1e-6)) << "seed " << seed;
    const bound::BoundTotals b = bounds_of(reads, in.memory);
    const double simple = std::max(b.bandwidth_split_s, b.free_migration_s);
    EXPECT_GE(r.start_s, simple * (1 - 1e-6)) << "seed " << seed;
    tighter += r.bound_s > simple * (1 + 1e-9) ? 1 : 0;
    if (best > simple) closed += (r.bound_s - simple) / (best - simple);
  }
  std::printf("%s reads: the Lagrangian bound is above both simple bounds on %d of 24 batches, closing %.0f %% "
              "of their gap to the best policy on average\n",
              mode_name(GetParam()).c_str(), tighter, 100 * closed / 24);
}

// The plan fm_dual follows: the paths' held entries, positions as the batch's layout places them. With
// the last state completed (a new token joins its block if the block is held), it is a schedule that
// keeps every rule but capacity, and its counts are the ones the bound priced.
TEST_P(LagrangianBatch, PathsKeepTheBlockRulesAndCountWhatTheCheckerCounts) {
  std::mt19937_64 rng(9);
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    const std::uint32_t batch = 1 + static_cast<std::uint32_t>(seed % 3);
    const std::uint32_t k = 1U << (seed % 4);  // 1, 2, 4, 8
    const Instance in = random_batch_instance(seed, batch, 20, 5, 2, k, seed % 2 == 0 ? 1024.0 : 0.0, GetParam());
    const auto& sh = in.trace.shape;
    const bound::StepMajorReads reads = reads_of(in.trace);
    const bound::LagrangianDuals d = random_duals(reads, in.memory, rng);
    bound::PathCounts counts;
    bound::lagrangian_value(reads, in.memory, d, counts, true);
    const std::vector<core::Word> plan = bound::lagrangian_paths(reads, in.memory, d);
    const std::uint32_t D = sh.decode_tokens;
    Schedule schedule(D + 1, std::vector<std::set<std::uint32_t>>(sh.layers));
    for (std::uint32_t i = 0; i < D; ++i) {
      for (std::uint32_t l = 0; l < sh.layers; ++l) {
        const core::Word* row = plan.data() + (static_cast<std::size_t>(l) * D + i) * reads.words();
        for (std::size_t t = 0; t < reads.words() * core::kWordBits; ++t) {
          if (((row[t / core::kWordBits] >> (t % core::kWordBits)) & 1U) != 0) schedule[i][l].insert(static_cast<std::uint32_t>(t));
        }
      }
    }
    std::uint64_t joined = 0;  // new tokens of the last step that join a held block
    schedule[D] = schedule[D - 1];
    for (std::uint32_t b = 0; b < sh.batch_size(); ++b) {
      const std::uint32_t fresh = static_cast<std::uint32_t>(sh.new_entry(b, sh.prompt_tokens + D - 1));
      const std::uint32_t first = fresh - (fresh - static_cast<std::uint32_t>(sh.base(b))) % k;
      for (std::uint32_t l = 0; l < sh.layers; ++l) {
        if (first != fresh && schedule[D][l].count(first) != 0) {
          schedule[D][l].insert(fresh);
          ++joined;
        }
      }
    }
    const CheckResult check = check_schedule(in.trace, in.memory, schedule, false);
    ASSERT_TRUE(check.ok) << "seed " << seed << ": " << check.problem;
    auto sum = [](const std::vector<std::uint32_t>& v) { return std::accumulate(v.begin(), v.end(), std::uint64_t{0}); };
    EXPECT_EQ(check.hits, sum(counts.hits)) << "seed " << seed;
    EXPECT_EQ(check.piggyback, sum(counts.piggyback)) << "seed " << seed;
    EXPECT_EQ(check.prefetch, sum(counts.prefetch)) << "seed " << seed;
    EXPECT_EQ(check.kept_new, sum(counts.kept_new) + joined) << "seed " << seed;
    // Occupancy: k entries per held block, every state.
    for (std::uint32_t i = 0; i < D; ++i) {
      std::uint64_t held = 0;
      for (std::uint32_t l = 0; l < sh.layers; ++l) {
        std::set<std::uint32_t> blocks;
        for (std::uint32_t t : schedule[i][l]) blocks.insert(t / k);
        held += std::uint64_t{k} * blocks.size();
      }
      EXPECT_EQ(counts.occupancy[i], held) << "seed " << seed << " state " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ReadModes, LagrangianBatch, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) { return mode_name(param_info.param); });

}  // namespace
}  // namespace kvsweep::testing
