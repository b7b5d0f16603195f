// The oracle's editable schedule must agree with the judge and the independent checker after any
// sequence of edits, commits and undos.
#include <gtest/gtest.h>

#include "kvsweep/oracle/schedule_oracle.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

std::vector<cost::Residency> to_residency(const Schedule& schedule, const trace::TraceShape& shape) {
  std::vector<cost::Residency> out;
  for (const auto& step : schedule) {
    cost::Residency r(shape.layers, shape.total_tokens());
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      for (std::uint32_t t : step[l]) r.layer(l).set(t);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Incremental total, a from-scratch rebuild and the independent checker agree; capacity holds.
void expect_consistent(const oracle::ScheduleState& s, const oracle::OracleInstance& inst, const Instance& in,
                       std::uint64_t seed) {
  const Schedule sched = schedule_of(s, inst);
  const CheckResult check = check_schedule(in.trace, in.memory, sched, true);
  ASSERT_TRUE(check.ok) << check.problem;
  std::vector<cost::Residency> states;
  for (std::uint32_t i = 0; i < inst.states(); ++i) states.push_back(s.residency(i));
  const oracle::ScheduleState rebuilt(inst, states);
  const double scale = std::max(1e-300, check.total_time_s);
  EXPECT_NEAR(s.exact_total(), check.total_time_s, 1e-12 * scale) << "seed " << seed;
  EXPECT_NEAR(rebuilt.exact_total(), check.total_time_s, 1e-12 * scale) << "seed " << seed;
  EXPECT_NEAR(s.total(), check.total_time_s, 1e-9 * scale) << "seed " << seed;
  for (std::uint32_t i = 0; i < inst.states(); ++i) {
    ASSERT_EQ(s.occupancy(i), rebuilt.occupancy(i));
    ASSERT_LE(s.occupancy(i), in.memory.capacity_entries);
  }
}

TEST(ScheduleState, RecordedPoliciesCostWhatTheJudgeSaid) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const Instance in = random_instance(seed, 3, 30);
    const oracle::OracleInstance inst(in.trace, in.memory);
    for (const char* name : {"static", "reactive_lru", "belady", "sa_guided", "page"}) {
      const RecordedRun run = run_and_record(name, in.trace, in.memory);
      const oracle::ScheduleState s(inst, to_residency(run.schedule, in.trace.shape));
      ASSERT_NEAR(s.exact_total(), run.judged_time_s, 1e-12 * run.judged_time_s) << name << " seed " << seed;
      ASSERT_DOUBLE_EQ(s.total(), s.exact_total());
    }
  }
}

TEST(ScheduleState, RandomEditsStayConsistent) {
  int accepted = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const Instance in = random_instance(seed + 100, 3, 24);
    const oracle::OracleInstance inst(in.trace, in.memory);
    const oracle::ScheduleProblem problem(inst);
    oracle::ScheduleState s(inst);
    core::Rng rng(seed);
    for (int move = 0; move < 3000; ++move) {
      const auto out = problem.step(s, rng, [&](double) { return rng.bernoulli(0.6); });
      accepted += out.accepted ? 1 : 0;
    }
    expect_consistent(s, inst, in, seed);
  }
  EXPECT_GT(accepted, 40 * 300);  // the edits really happened
}

// Ranges spanning several words of states (D up to ~300), through the edit API directly, and the
// capacity-neutral hand-over.
TEST(ScheduleState, LongRangeEditsStayConsistent) {
  int edits = 0, handovers = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Instance in = random_instance(seed + 500, 2, 320);
    const oracle::OracleInstance inst(in.trace, in.memory);
    oracle::ScheduleState s(inst);
    core::Rng rng(seed);
    const std::uint32_t states = inst.states();
    for (int move = 0; move < 2000; ++move) {
      const std::uint64_t e = rng.below(inst.entries());
      const auto a = static_cast<std::uint32_t>(rng.below(states));
      const auto b = a + 1 + static_cast<std::uint32_t>(rng.below(states - a));
      bool ok = false;
      if (rng.bernoulli(0.2)) {
        // Hand e's longest held range starting at a to an entry that holds none of it.
        const std::uint64_t other = rng.below(inst.entries());
        std::uint32_t u = a;
        while (u < b && s.resident(e, u) && !s.resident(other, u)) ++u;
        ok = other != e && u > a && s.hand_over(e, other, a, u);
        handovers += ok ? 1 : 0;
      } else {
        ok = s.set_range(e, a, b, rng.bernoulli(0.5));
      }
      edits += ok ? 1 : 0;
      if (ok && rng.bernoulli(0.5)) {
        s.commit();
      } else {
        s.undo();
      }
    }
    expect_consistent(s, inst, in, seed);
  }
  EXPECT_GT(edits, 20 * 500);
  EXPECT_GT(handovers, 20 * 5);
}

TEST(ScheduleState, HandOverChecksItsPreconditions) {
  const Instance in = random_instance(7, 1, 40);
  const oracle::OracleInstance inst(in.trace, in.memory);
  oracle::ScheduleState s(inst);  // nothing resident: entry 0 holds no state it could hand over
  EXPECT_THROW(s.hand_over(0, 1, inst.states() - 1, inst.states()), std::logic_error);
}

}  // namespace
}  // namespace kvsweep::testing
