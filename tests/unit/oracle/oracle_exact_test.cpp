// The token-level oracle against the truth: on random tiny instances an exhaustive search over every
// schedule gives the optimum; the oracle must reach it (within 1e-9) on at least 95 % of them, stay
// within 0.5 % on all, never go below it, never be worse than the best baseline, and pass the checker.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

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

Schedule as_sets(const oracle::ScheduleState& s, const oracle::OracleInstance& inst) {
  Schedule out;
  for (std::uint32_t i = 0; i < inst.states(); ++i) {
    const cost::Residency r = s.residency(i);
    std::vector<std::set<std::uint32_t>> step(r.layers());
    for (std::uint32_t l = 0; l < r.layers(); ++l) {
      r.layer(l).for_each([&](std::size_t t) { step[l].insert(static_cast<std::uint32_t>(t)); });
    }
    out.push_back(std::move(step));
  }
  return out;
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

TEST(OracleExactness, MatchesExhaustiveSearchOnTinyInstances) {
  int exact = 0, total = 0, seed_not_optimal = 0;
  double worst = 0, slowest = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed * 7919, two_layers ? 2 : 1, two_layers ? 8 : 10);
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
    const double rel = (found - optimum) / optimum;
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 0.005) << "seed " << seed << " optimum " << optimum << " oracle " << found;
    if (rel <= 1e-9) ++exact;
  }
  EXPECT_GE(exact, static_cast<int>(std::ceil(0.95 * total))) << exact << " of " << total << " exact";
  EXPECT_LE(slowest, 1.0) << "slowest instance took " << slowest << " s";
  // The annealer does real work: on a good share of the instances no baseline is optimal.
  EXPECT_GE(seed_not_optimal, total / 5);
  RecordProperty("exact", exact);
  RecordProperty("instances", total);
  std::printf("oracle exact on %d of %d tiny instances (best baseline not optimal on %d), worst gap %.3g, "
              "slowest %.3f s\n", exact, total, seed_not_optimal, worst, slowest);
}

TEST(OracleExactness, FinalScheduleIsJudgedAndChecked) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const Instance in = random_instance(seed * 31, 3, 30);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const Seeded seeded = best_baseline(inst, in.trace);
    const oracle::ScheduleProblem problem(inst);
    auto result = oracle::temper(problem, seeded.state, tiny_options(seed).tempering);
    const CheckResult check = check_schedule(in.trace, in.memory, as_sets(result.best, inst), true);
    ASSERT_TRUE(check.ok) << check.problem;
    auto source = trace::make_explicit_source(in.trace);
    const cost::ScheduleTotals judged = oracle::judge_schedule(inst, result.best, *source);
    EXPECT_NEAR(judged.total_time_s, check.total_time_s, 1e-12 * check.total_time_s);
    EXPECT_NEAR(result.best.exact_total(), check.total_time_s, 1e-12 * check.total_time_s);
  }
}

}  // namespace
}  // namespace kvsweep::testing
