// The oracle on batches and blocks (issue 25): its incremental costs are the judge's, move after move;
// on tiny batches it reaches the exhaustive optimum (within 0.5 %), and its schedule passes the
// independent checker with the judged time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "kvsweep/config/point.hpp"
#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

struct Seeded {
  oracle::ScheduleState state;
  std::string policy;
};

// The best schedule of the policies that place batches (the oracle's own seeds in evaluate).
Seeded best_batch_seed(const oracle::OracleInstance& inst, const trace::ExplicitTrace& trace) {
  std::optional<Seeded> best;
  for (const std::string& name : config::simulated_policy_names()) {
    if (name == "unlimited_hbm" || name == "fm_dual") continue;  // fm_dual follows a plan: none here
    auto source = trace::make_explicit_source(trace);
    oracle::ScheduleState s = oracle::record_schedule(inst, name, {}, *source);
    if (!best || s.exact_total() < best->state.exact_total()) best = Seeded{std::move(s), name};
  }
  return std::move(*best);
}

double judged(const oracle::OracleInstance& inst, const oracle::ScheduleState& s, const trace::ExplicitTrace& trace) {
  auto source = trace::make_explicit_source(trace);
  return oracle::judge_schedule(inst, s, *source).total_time_s;
}

// Accepts every move with probability 1/2: both commits and undos are exercised.
struct CoinAccept {
  core::Rng* rng;
  bool operator()(double) const { return rng->bernoulli(0.5); }
};

// Random moves on random batches (B 1..4, k 1..8, O 0 or not, every read mode): after every move the
// tracked total equals the judge's time of the schedule from scratch, and the schedule keeps the rules
// (the checker replays it token by token). A rebuild from the states gives the same counts. A lone
// sequence token by token is here only with O > 0 (its transfers; schedule_state_test has the rest).
TEST(OracleBatchState, EveryMoveCostsWhatTheJudgeSays) {
  int moves_applied = 0;
  for (std::uint64_t seed = 1; seed <= 36; ++seed) {
    const std::uint32_t batch = 1 + static_cast<std::uint32_t>(seed % 4);
    const std::uint32_t k = 1U << ((seed / 4) % 4);
    const bool lone = batch == 1 && k == 1;
    const double overhead = seed % 3 == 0 || lone ? 2048.0 : 0.0;
    const Instance in = random_batch_instance(seed, batch, 12, 5, 2, k, overhead, kReadModes[seed % 3]);
    const oracle::OracleInstance inst(in.trace, in.memory);
    ASSERT_EQ(inst.general(), !lone);
    oracle::ScheduleState s = best_batch_seed(inst, in.trace).state;
    EXPECT_NEAR(s.exact_total(), judged(inst, s, in.trace), 1e-12 * s.exact_total()) << "seed " << seed;
    const oracle::ScheduleProblem problem(inst);
    core::Rng rng(seed);
    for (int m = 0; m < 600; ++m) {
      const oracle::MoveOutcome out = problem.step(s, rng, CoinAccept{&rng});
      if (!out.accepted) continue;
      ++moves_applied;
      const double want = judged(inst, s, in.trace);
      ASSERT_NEAR(s.total(), want, 1e-9 * want) << "seed " << seed << " move " << m << " kind " << int{out.kind};
      ASSERT_NEAR(s.exact_total(), want, 1e-12 * want) << "seed " << seed << " move " << m;
    }
    const CheckResult check = check_schedule(in.trace, in.memory, schedule_of(s, inst), true);
    ASSERT_TRUE(check.ok) << "seed " << seed << ": " << check.problem;
    EXPECT_NEAR(check.total_time_s, s.exact_total(), 1e-12 * check.total_time_s) << "seed " << seed;
    std::vector<cost::Residency> states;
    for (std::uint32_t i = 0; i < inst.states(); ++i) states.push_back(s.residency(i));
    EXPECT_EQ(oracle::ScheduleState(inst, states).exact_total(), s.exact_total()) << "seed " << seed;
  }
  EXPECT_GT(moves_applied, 1000);
  std::printf("%d moves accepted and judged\n", moves_applied);
}

// A unit is a whole block over the batch's token space: it holds only existing tokens, counts k
// entries of capacity, and is refused before its first token exists or beyond capacity.
TEST(OracleBatchState, BlocksExistFromTheirFirstTokenAndCostKEntries) {
  trace::ExplicitTrace trace;
  trace.shape.prompt_tokens = 3;
  trace.shape.decode_tokens = 3;
  trace.shape.layers = 1;
  trace.shape.prompts = {3, 1};
  trace.shape.block_tokens = 2;
  trace.tokens.assign(3, {});
  const std::uint32_t b1 = static_cast<std::uint32_t>(trace.shape.base(1));
  trace.reads(3, 0) = {0, 1, b1};
  trace.reads(4, 0) = {2, b1 + 1};
  trace.reads(5, 0) = {0, b1 + 2};
  cost::MemorySystem m;
  m.kv_entry_bytes = 1000;
  m.weight_bytes_per_layer = 1e5;
  m.hbm_bw = 1e12;
  m.link_read_bw = m.link_write_bw = m.dram_bw = 1e11;
  m.capacity_entries = 5;  // two blocks of 2
  m.writes_per_step = 2;
  m.block_tokens = 2;
  const oracle::OracleInstance inst(trace, m);
  EXPECT_EQ(inst.capacity_units(), 2U);
  // Sequence 0 has tokens 0..5: blocks 0, 1 (prompt) and 2 (its first token, 4, comes at step 4).
  EXPECT_EQ(inst.first_state(0), 0U);
  EXPECT_EQ(inst.first_state(2), 2U);
  const std::uint64_t seq1 = b1 / 2;  // sequence 1's first block: token 0 in the prompt, 1 at step 3
  EXPECT_EQ(inst.first_state(seq1), 0U);
  EXPECT_EQ(inst.existing(seq1, 0), 1U);
  EXPECT_EQ(inst.existing(seq1, 1), 2U);
  EXPECT_EQ(inst.first_state(seq1 + 1), 2U);  // tokens 2 (step 4) and 3 (step 5)
  oracle::ScheduleState s(inst);
  EXPECT_FALSE(s.set_range(2, 1, 4, true));  // block 2 does not exist in state 1
  s.undo();
  ASSERT_TRUE(s.set_range(0, 0, 4, true));
  s.commit();
  ASSERT_TRUE(s.set_range(seq1, 0, 4, true));
  s.commit();
  EXPECT_FALSE(s.set_range(1, 2, 3, true));  // a third block: 6 entries > 5
  s.undo();
  const cost::Residency r1 = s.residency(1);
  EXPECT_TRUE(r1.layer(0).test(b1) && r1.layer(0).test(b1 + 1));  // the new token joins its resident block
  EXPECT_FALSE(s.residency(0).layer(0).test(b1 + 1));               // and does not exist before
  const CheckResult check = check_schedule(trace, m, schedule_of(s, inst), true);
  ASSERT_TRUE(check.ok) << check.problem;
  EXPECT_EQ(check.kept_new, 1U);  // sequence 1's token at step 3
  EXPECT_NEAR(s.exact_total(), check.total_time_s, 1e-12 * check.total_time_s);
  EXPECT_NEAR(s.exact_total(), judged(inst, s, trace), 1e-12 * check.total_time_s);
}

oracle::OracleOptions tiny_options(std::uint64_t seed) {
  oracle::OracleOptions o;
  o.tempering.replicas = 8;
  o.tempering.moves_per_round = 500;
  o.tempering.max_moves = 1'000'000;
  o.tempering.patience_rounds = 100;
  o.tempering.seed = seed;
  return o;
}

struct TinyCase {
  std::uint32_t batch, block;
  double overhead;
};

class OracleBatchExactness : public ::testing::TestWithParam<ReadMode> {};

// The acceptance: B = 2-3, k = 1 and 2, O = 0 and > 0, each read mode: within 0.5 % of the
// exhaustive optimum (never below it), never worse than its seed, and the schedule checked with the
// judged time.
TEST_P(OracleBatchExactness, WithinHalfAPercentOfTheExhaustiveOptimum) {
  const TinyCase cases[] = {{2, 1, 0.0}, {2, 2, 0.0}, {3, 1, 0.0}, {2, 1, 3000.0}, {2, 2, 3000.0}, {3, 2, 1500.0}};
  int total = 0, exact = 0, seed_not_optimal = 0;
  int per_case[6] = {};
  double worst = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const TinyCase c = cases[seed % 6];
    // At most 12 entries in all (the exhaustive search's limit): B = 3 decodes 2 steps, B = 2 three.
    const std::uint32_t decode = c.batch == 3 ? 2 : 3;
    const Instance in = random_batch_instance(seed * 13, c.batch, 2, decode, 1, c.block, c.overhead, GetParam());
    const double optimum = exhaustive_batch_optimum(in.trace, in.memory);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const Seeded seeded = best_batch_seed(inst, in.trace);
    const oracle::OracleResult r = oracle::anneal_schedule(inst, seeded.state, seeded.policy, tiny_options(seed));
    const double found = r.total_time_s;
    ++total;
    ++per_case[seed % 6];
    EXPECT_GE(found, optimum * (1 - 1e-12)) << "below the optimum, seed " << seed;
    EXPECT_LE(found, seeded.state.exact_total() * (1 + 1e-12)) << "worse than its seed, seed " << seed;
    const double rel = (found - optimum) / optimum;
    EXPECT_LE(rel, 0.005) << "seed " << seed << " optimum " << optimum << " oracle " << found;
    worst = std::max(worst, rel);
    if (rel <= 1e-9) ++exact;
    if (seeded.state.exact_total() > optimum * (1 + 1e-9)) ++seed_not_optimal;
    const CheckResult check = check_schedule(in.trace, in.memory, schedule_of(r.best, inst), true);
    ASSERT_TRUE(check.ok) << "seed " << seed << ": " << check.problem;
    const double judge = judged(inst, r.best, in.trace);
    EXPECT_NEAR(judge, check.total_time_s, 1e-12 * judge) << "seed " << seed;
    EXPECT_NEAR(found, judge, 1e-12 * judge) << "seed " << seed;
  }
  for (int c = 0; c < 6; ++c) EXPECT_EQ(per_case[c], 10) << "case " << c << " (B, k, O)";
  // The annealer has real work: no seed is optimal on some of them (measured: 9 or 10 of 60 with the
  // seven simple baselines as seeds, 5 or more with fm_tracking and sa_guided among them).
  EXPECT_GE(seed_not_optimal, total / 20) << "the annealer had little to do";
  std::printf("%s: oracle exact on %d of %d tiny batches (seed not optimal on %d), worst gap %.3g\n",
              mode_name(GetParam()).c_str(), exact, total, seed_not_optimal, worst);
}

INSTANTIATE_TEST_SUITE_P(ReadModes, OracleBatchExactness, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) { return mode_name(param_info.param); });

}  // namespace
}  // namespace kvsweep::testing
