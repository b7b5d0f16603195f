// The block model of exact.hpp (a batch, blocks, a per-transfer cost) against the truth, in every read
// mode: on tiny random batches (B = 2-3, k = 1, 2 and 4, O = 0 and > 0, 1-2 layers, 1-4 steps) Cbc's
// objective and the judged time of its schedule both equal the exhaustive optimum over every schedule
// (DP over sets of (sequence, token, layer) entries, tests/support/checker.cpp), and the schedule passes
// the independent checker with the same time. On a lone sequence placed token by token the block model
// is the per-entry model.
#include <gtest/gtest.h>

#include <string>

#include "kvsweep/oracle/exact.hpp"
#include "exact_limits.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

Schedule as_sets(const std::vector<cost::Residency>& states) {
  Schedule s;
  for (const cost::Residency& r : states) {
    std::vector<std::set<std::uint32_t>> layers(r.layers());
    for (std::uint32_t l = 0; l < r.layers(); ++l) {
      r.layer(l).for_each([&](std::size_t t) { layers[l].insert(static_cast<std::uint32_t>(t)); });
    }
    s.push_back(std::move(layers));
  }
  return s;
}

oracle::ExactResult solve(const Instance& in) {
  auto source = trace::make_explicit_source(in.trace);
  const oracle::BlockInstance inst(*source, in.memory);
  return oracle::solve_exact(inst);
}

struct Case {
  std::uint32_t batch, max_prompt, decode, layers, block;
  double overhead;
};

// The MILP's objective, its schedule's judged time, the checker's time and the exhaustive optimum agree;
// Cbc's bound is below the optimum. Returns the promotions (a1 + a2) of the MILP's schedule.
std::uint64_t expect_optimal(const Instance& in, const std::string& what) {
  const double optimum = exhaustive_batch_optimum(in.trace, in.memory);
  const oracle::ExactResult r = solve(in);
  EXPECT_TRUE(r.proven_optimal) << what;
  EXPECT_NEAR(r.objective_s, optimum, 1e-9 * optimum) << "MILP objective, " << what;
  EXPECT_NEAR(r.total_time_s, optimum, 1e-9 * optimum) << "judged time, " << what;
  EXPECT_LE(r.bound_s, optimum * (1 + 1e-9)) << what;
  const CheckResult check = check_schedule(in.trace, in.memory, as_sets(r.states), true);
  EXPECT_TRUE(check.ok) << check.problem << ", " << what;
  EXPECT_NEAR(check.total_time_s, r.total_time_s, 1e-12 * r.total_time_s) << what;
  return check.piggyback + check.prefetch;
}

class ExactBatch : public ::testing::TestWithParam<ReadMode> {};

TEST_P(ExactBatch, EqualsExhaustiveSearchOnTinyBatches) {
  const Case cases[] = {
      {2, 2, 2, 1, 1, 0.0},    {2, 2, 2, 1, 2, 0.0},    {3, 1, 2, 1, 1, 0.0},    {3, 1, 2, 1, 2, 0.0},
      {2, 2, 2, 1, 1, 3000.0}, {2, 2, 2, 1, 2, 3000.0}, {3, 1, 2, 1, 1, 1500.0}, {3, 1, 2, 1, 2, 1500.0},
      {2, 1, 1, 2, 2, 2000.0}, {2, 2, 3, 1, 2, 0.0},    {2, 2, 3, 1, 1, 800.0},  {2, 2, 3, 1, 4, 4000.0},
      {2, 1, 4, 1, 1, 0.0},    {2, 1, 4, 1, 2, 2000.0}, {2, 1, 4, 1, 1, 1000.0}, {2, 1, 4, 1, 2, 0.0},
  };
  constexpr std::size_t kCases = sizeof cases / sizeof cases[0];
  int checked = 0, with_overhead = 0, blocked = 0, three = 0, two_layers = 0, promoting = 0;
  for (std::uint64_t seed = 1; seed <= 96; ++seed) {
    const Case c = cases[seed % kCases];
    const Instance in = random_batch_instance(seed * 131, c.batch, c.max_prompt, c.decode, c.layers, c.block,
                                              c.overhead, GetParam());
    if (in.trace.shape.footprint_tokens() * c.layers > 10) continue;  // the exhaustive search's reach
    const std::uint64_t promotions =
        expect_optimal(in, "seed " + std::to_string(seed) + " B=" + std::to_string(c.batch) +
                               " k=" + std::to_string(c.block) + " O=" + std::to_string(c.overhead));
    ++checked;
    promoting += promotions > 0 && c.overhead > 0 ? 1 : 0;
    with_overhead += c.overhead > 0 ? 1 : 0;
    blocked += c.block > 1 ? 1 : 0;
    three += c.batch == 3 ? 1 : 0;
    two_layers += c.layers == 2 ? 1 : 0;
  }
  EXPECT_GE(checked, 30);
  EXPECT_GE(with_overhead, 10);
  EXPECT_GE(blocked, 10);
  EXPECT_GE(three, 8);
  EXPECT_GE(two_layers, 2);
  EXPECT_GE(promoting, 5);  // optima that promote blocks and pay O for it: the transfer terms are exercised
}

// One sequence with blocks or a per-transfer cost (the judge's batched path without a batch) is exact too.
TEST_P(ExactBatch, EqualsExhaustiveSearchOnALoneSequenceWithBlocksOrOverhead) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const std::uint32_t k = seed % 3 == 0 ? 1 : 2;
    const double overhead = k == 1 || seed % 2 == 0 ? 2500.0 : 0.0;
    const Instance in = random_batch_instance(seed * 977, 1, 4, 3, 1 + static_cast<std::uint32_t>(seed % 2),
                                              k, overhead, GetParam());
    if (in.trace.shape.footprint_tokens() * in.trace.shape.layers > 10) continue;
    expect_optimal(in, "seed " + std::to_string(seed));
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

// Token by token, O = 0: the block model (one entry per block) finds the per-entry model's optimum.
TEST_P(ExactBatch, IsThePerEntryModelOnALoneSequence) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed * 7919, two_layers ? 2 : 1, two_layers ? 6 : 8, GetParam());
    if (in.trace.shape.decode_tokens == 0) continue;
    const double optimum = exhaustive_optimum(in.trace, in.memory);
    const oracle::ExactResult blocks = solve(in);
    const oracle::ExactResult entries = oracle::solve_exact(oracle::OracleInstance(in.trace, in.memory));
    ASSERT_TRUE(blocks.proven_optimal) << "seed " << seed;
    EXPECT_NEAR(blocks.total_time_s, optimum, 1e-9 * optimum) << "seed " << seed;
    EXPECT_NEAR(blocks.total_time_s, entries.total_time_s, 1e-9 * optimum) << "seed " << seed;
    auto source = trace::make_explicit_source(in.trace);
    EXPECT_EQ(blocks.binaries, oracle::exact_binaries(oracle::BlockInstance(*source, in.memory)));
    EXPECT_EQ(blocks.binaries, entries.binaries) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(ReadModes, ExactBatch, ::testing::ValuesIn(kReadModes),
                         [](const ::testing::TestParamInfo<ReadMode>& param_info) {
                           return mode_name(param_info.param);
                         });

// The refusals: above the size limit (naming the size), a window, a memory system set up for another
// batch, and a per-entry model asked to place a batch.
TEST(ExactBatchLimits, Refusals) {
  const Instance in = random_batch_instance(5, 2, 2, 2, 1, 2, 1000.0);
  auto source = trace::make_explicit_source(in.trace);
  const oracle::BlockInstance inst(*source, in.memory);
  const std::uint64_t binaries = oracle::exact_binaries(inst);
  ASSERT_GT(binaries, 1U);
  expect_refused_above_its_size(inst, binaries);

  cost::MemorySystem lone = in.memory;
  lone.writes_per_step = 1;
  auto again = trace::make_explicit_source(in.trace);
  EXPECT_THROW((oracle::BlockInstance{*again, lone}), std::invalid_argument);
  EXPECT_THROW(oracle::solve_exact(oracle::OracleInstance(in.trace, in.memory)), std::invalid_argument);
}

// judge_states (what eval reports) is the judge over the states, and refuses a schedule of the wrong
// length.
TEST(ExactBatchLimits, JudgeStatesEqualsTheChecker) {
  const Instance in = random_batch_instance(9, 3, 2, 2, 1, 2, 1500.0, config::HbmReads::kResident);
  const oracle::ExactResult r = solve(in);
  auto source = trace::make_explicit_source(in.trace);
  const cost::ScheduleTotals t = oracle::judge_states(r.states, in.memory, *source);
  EXPECT_NEAR(t.total_time_s, r.total_time_s, 1e-12 * r.total_time_s);
  const CheckResult check = check_schedule(in.trace, in.memory, as_sets(r.states), true);
  ASSERT_TRUE(check.ok) << check.problem;
  EXPECT_EQ(t.hits, check.hits);
  std::vector<cost::Residency> short_states(r.states.begin(), r.states.end() - 1);
  auto third = trace::make_explicit_source(in.trace);
  EXPECT_THROW(oracle::judge_states(short_states, in.memory, *third), std::invalid_argument);
}

}  // namespace
}  // namespace kvsweep::testing
