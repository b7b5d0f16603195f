// The token-level oracle against the truth: on random tiny instances an exhaustive search over every
// schedule gives the optimum; the oracle must reach it (within 1e-9) on at least 95 % of them, stay
// within 0.5 % on all, never go below it, never be worse than the best baseline, and pass the checker.
#include <gtest/gtest.h>

#include <tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

// The seeds of this test: the baselines without fm_tracking, which is optimal on most tiny instances
// and would leave the annealer nothing to do (it is measured on its own below).
const std::vector<std::string> kBaselines = {"static", "reactive_lru", "page", "streaming", "h2o", "belady",
                                             "sa_guided"};

struct Seeded {
  oracle::ScheduleState state;
  std::string policy;
};

Seeded best_baseline(const oracle::OracleInstance& inst, const trace::ExplicitTrace& trace) {
  std::optional<Seeded> best;
  for (const auto& name : kBaselines) {
    auto source = trace::make_explicit_source(trace);
    oracle::ScheduleState s = oracle::record_schedule(inst, name, {}, *source);
    if (!best || s.exact_total() < best->state.exact_total()) best = Seeded{std::move(s), name};
  }
  return std::move(*best);
}

oracle::OracleOptions tiny_options(std::uint64_t seed) {
  oracle::OracleOptions o;
  o.tempering.replicas = 8;
  o.tempering.moves_per_round = 500;
  o.tempering.max_moves = 2'000'000;
  o.tempering.patience_rounds = 150;
  o.tempering.seed = seed;
  return o;
}

class OracleExactness : public ::testing::TestWithParam<ReadMode> {};

TEST_P(OracleExactness, MatchesExhaustiveSearchOnTinyInstances) {
  int exact = 0, total = 0, seed_not_optimal = 0, fm_optimal = 0;
  double worst = 0, slowest = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed * 7919, two_layers ? 2 : 1, two_layers ? 8 : 10, GetParam());
    if (in.trace.shape.decode_tokens == 0) continue;
    const double optimum = exhaustive_optimum(in.trace, in.memory);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const Seeded seeded = best_baseline(inst, in.trace);
    const auto t0 = std::chrono::steady_clock::now();
    const oracle::OracleResult r = oracle::anneal_schedule(inst, seeded.state, seeded.policy, tiny_options(seed));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    slowest = std::max(slowest, seconds);
    const double found = r.total_time_s;
    ++total;
    EXPECT_GE(found, optimum * (1 - 1e-12)) << "below the optimum: the search or the oracle is wrong, seed " << seed;
    EXPECT_LE(found, seeded.state.exact_total() * (1 + 1e-12)) << "worse than its seed, seed " << seed;
    if (seeded.state.exact_total() > optimum * (1 + 1e-9)) ++seed_not_optimal;
    auto fm_source = trace::make_explicit_source(in.trace);
    const double fm = oracle::record_schedule(inst, "fm_tracking", {}, *fm_source).exact_total();
    EXPECT_GE(fm, optimum * (1 - 1e-12)) << "fm_tracking below the optimum, seed " << seed;
    if (fm <= optimum * (1 + 1e-9)) ++fm_optimal;
    const double rel = (found - optimum) / optimum;
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 0.005) << "seed " << seed << " optimum " << optimum << " oracle " << found;
    if (rel <= 1e-9) ++exact;
  }
  EXPECT_GE(exact, static_cast<int>(std::ceil(0.95 * total))) << exact << " of " << total << " exact";
  // The slowest instance's time is printed, not asserted: a timed assertion flakes on a shared machine
  // (it failed once at 1.06 s against 1 s in CI while every instance was exact).
  // The annealer does real work: on a good share of the instances no baseline is optimal.
  EXPECT_GE(seed_not_optimal, total / 5);
  // fm_tracking alone is optimal on many of them (measured: 46 of 60 balanced, 29 of 60 resident).
  EXPECT_GE(fm_optimal, total * 2 / 5) << "fm_tracking optimal on " << fm_optimal << " of " << total;
  RecordProperty("exact", exact);
  RecordProperty("instances", total);
  std::printf("%s reads: oracle exact on %d of %d tiny instances (best baseline not optimal on %d; fm_tracking "
              "optimal on %d), worst gap %.3g, slowest %.3f s\n", mode_name(GetParam()).c_str(),
              exact, total, seed_not_optimal, fm_optimal, worst, slowest);
}

TEST_P(OracleExactness, FinalScheduleIsJudgedAndChecked) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const Instance in = random_instance(seed * 31, 3, 30, GetParam());
    const oracle::OracleInstance inst(in.trace, in.memory);
    const Seeded seeded = best_baseline(inst, in.trace);
    const oracle::ScheduleProblem problem(inst);
    auto result = oracle::temper(problem, seeded.state, tiny_options(seed).tempering);
    const CheckResult check = check_schedule(in.trace, in.memory, schedule_of(result.best, inst), true);
    ASSERT_TRUE(check.ok) << check.problem;
    auto source = trace::make_explicit_source(in.trace);
    const cost::ScheduleTotals judged = oracle::judge_schedule(inst, result.best, *source);
    EXPECT_NEAR(judged.total_time_s, check.total_time_s, 1e-12 * check.total_time_s);
    EXPECT_NEAR(result.best.exact_total(), check.total_time_s, 1e-12 * check.total_time_s);
    // Between the lower bounds and every baseline.
    bound::BoundAccumulator bounds(in.memory);
    std::vector<std::uint32_t> reads(in.trace.shape.layers);
    for (std::uint32_t n = in.trace.shape.prompt_tokens; n < in.trace.shape.total_tokens(); ++n) {
      for (std::uint32_t l = 0; l < in.trace.shape.layers; ++l) {
        reads[l] = static_cast<std::uint32_t>(in.trace.reads(n, l).size());
      }
      bounds.add_step(reads);
    }
    EXPECT_GE(judged.total_time_s, bounds.totals().free_migration_s * (1 - 1e-9)) << "seed " << seed;
    EXPECT_GE(judged.total_time_s, bounds.totals().bandwidth_split_s * (1 - 1e-9)) << "seed " << seed;
    for (const auto& name : kBaselines) {
      EXPECT_LE(judged.total_time_s, run_and_record(name, in.trace, in.memory).judged_time_s * (1 + 1e-12))
          << name << " seed " << seed;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ReadModes, OracleExactness, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) {
                           return mode_name(param_info.param);
                         });

}  // namespace
}  // namespace kvsweep::testing

namespace kvsweep::testing {
namespace {

// Same seed: the same schedule, bit for bit, with 1 or 2 TBB threads and serially.
TEST(OracleDeterminism, SameScheduleWithOneOrTwoThreads) {
  const Instance in = random_instance(4242, 3, 40);
  const oracle::OracleInstance inst(in.trace, in.memory);
  const Seeded seeded = best_baseline(inst, in.trace);
  const oracle::ScheduleProblem problem(inst);
  auto run = [&](int threads, bool parallel) {
    oracle::TemperingOptions o = tiny_options(9).tempering;
    o.parallel = parallel;
    o.max_moves = 400'000;
    tbb::task_arena arena(threads);
    return arena.execute([&] { return oracle::temper(problem, seeded.state, o); });
  };
  const auto one = run(1, true), two = run(2, true), serial = run(1, false);
  for (const auto* other : {&two, &serial}) {
    EXPECT_EQ(one.best_cost, other->best_cost);
    EXPECT_EQ(one.diagnostics.moves_accepted, other->diagnostics.moves_accepted);
    for (std::uint64_t e = 0; e < inst.entries(); ++e) {
      for (std::size_t w = 0; w < inst.words_per_entry(); ++w) {
        ASSERT_EQ(one.best.state_word(e, w), other->best.state_word(e, w));
      }
    }
  }
}

}  // namespace
}  // namespace kvsweep::testing
