// The paper's (W, R) annealing of sa_guided, run as a small parallel tempering: its answer is exactly
// what sa_guided scores with those knobs, never worse than the start, deterministic, and on a tiny
// domain equal to the brute-force best.
#include "kvsweep/oracle/sa_tuning.hpp"

#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "kvsweep/policy/policies.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "kvsweep/trace/synthetic.hpp"

namespace kvsweep::oracle {
namespace {

constexpr trace::TraceShape kShape{512, 64, 4};

// Link-bound enough that placement matters: 16 KiB entries, light weights, 30 % of the footprint.
cost::MemorySystem small_memory() {
  cost::MemorySystem m;
  m.kv_entry_bytes = 16384;
  m.weight_bytes_per_layer = 2e6;
  m.hbm_bw = 4900e9;
  m.link_read_bw = 450e9;
  m.link_write_bw = 450e9;
  m.dram_bw = 500e9;
  m.capacity_entries = static_cast<std::uint64_t>(0.3 * kShape.total_tokens() * kShape.layers);
  return m;
}

struct Fixture {
  config::SyntheticParams params;
  std::uint64_t trace_seed = 17;
  int sources_made = 0;
  std::function<std::unique_ptr<trace::TraceSource>()> make_source() {
    return [this] {
      ++sources_made;
      return trace::make_synthetic_source(params, kShape, trace_seed);
    };
  }
};

// Total time of sa_guided with each (W, R), in one pass: the independent re-evaluation.
std::vector<double> sa_guided_times(Fixture& f, const std::vector<std::pair<std::uint32_t, double>>& knobs) {
  const cost::MemorySystem m = small_memory();
  std::vector<std::unique_ptr<policy::Policy>> policies;
  for (const auto& [w, r] : knobs) {
    config::PolicyParams p;
    p.sa_window = w;
    p.sa_fraction = r;
    policies.push_back(policy::make_sa_guided(policy::PolicyContext{kShape, m, p}));
  }
  auto source = trace::make_synthetic_source(f.params, kShape, f.trace_seed);
  const sim::SimulationResult run = sim::simulate(*source, m, policies);
  std::vector<double> times;
  for (const auto& p : run.policies) times.push_back(p.totals.total_time_s);
  return times;
}

TEST(SaTuning, BestIsWhatSaGuidedScoresWithThoseKnobs) {
  Fixture f;
  const config::PolicyParams start;  // W = 8, R = 0.5
  const SaTuningResult r = tune_sa_guided(f.make_source(), small_memory(), start, {});
  const std::vector<double> check =
      sa_guided_times(f, {{r.best_window, r.best_fraction}, {start.sa_window, start.sa_fraction}});
  EXPECT_EQ(r.best_total_time_s, check[0]);
  EXPECT_EQ(r.best_totals.total_time_s, check[0]);
  EXPECT_LE(r.best_total_time_s, check[1]);
  EXPECT_EQ(r.diagnostics.initial_cost, check[1]);
  EXPECT_EQ(r.diagnostics.best_cost, r.best_total_time_s);
  EXPECT_GE(r.best_window, 1U);
  EXPECT_LE(r.best_window, 64U);

  // Every point evaluated once, in the domain, none better than the best; the start comes first.
  ASSERT_EQ(r.evaluated.size(), r.evaluations);
  EXPECT_EQ(std::get<0>(r.evaluated.front()), start.sa_window);
  EXPECT_EQ(std::get<1>(r.evaluated.front()), start.sa_fraction);
  std::set<std::pair<std::uint32_t, double>> seen;
  for (const auto& [w, frac, time] : r.evaluated) {
    EXPECT_TRUE(seen.insert({w, frac}).second) << "evaluated twice: " << w << ", " << frac;
    EXPECT_GE(w, 1U);
    EXPECT_LE(w, 64U);
    EXPECT_GE(frac, 0.1 - 1e-12);
    EXPECT_LE(frac, 1.0);
    EXPECT_GE(time, r.best_total_time_s);
  }
  EXPECT_EQ(r.passes, static_cast<std::uint32_t>(f.sources_made));
  EXPECT_LE(r.passes, r.rounds);
  EXPECT_GE(r.evaluations, 2U);

  const TemperingDiagnostics& d = r.diagnostics;
  EXPECT_EQ(r.rounds, d.rounds);
  EXPECT_GT(r.rounds, 0U);
  EXPECT_TRUE(d.stop_reason == "patience" || d.stop_reason == "rounds") << d.stop_reason;
  EXPECT_EQ(d.moves_proposed, std::uint64_t{r.rounds} * 4);
  EXPECT_LE(d.moves_accepted, d.moves_proposed);
  ASSERT_EQ(d.temperatures.size(), 4U);
  ASSERT_EQ(d.swap_acceptance.size(), 3U);
  EXPECT_EQ(d.swap_attempts[0], (r.rounds + 1) / 2);
  EXPECT_EQ(d.swap_attempts[1], r.rounds / 2);
  EXPECT_EQ(d.best_vs_moves.front().second, d.initial_cost);
  EXPECT_EQ(d.best_vs_moves.back().second, r.best_total_time_s);
}

void expect_same(const SaTuningResult& a, const SaTuningResult& b) {
  EXPECT_EQ(a.best_window, b.best_window);
  EXPECT_EQ(a.best_fraction, b.best_fraction);
  EXPECT_EQ(a.best_total_time_s, b.best_total_time_s);
  EXPECT_EQ(a.evaluated, b.evaluated);
  EXPECT_EQ(a.rounds, b.rounds);
  EXPECT_EQ(a.diagnostics.moves_accepted, b.diagnostics.moves_accepted);
  EXPECT_EQ(a.diagnostics.swap_acceptance, b.diagnostics.swap_acceptance);
  EXPECT_EQ(a.diagnostics.temperatures, b.diagnostics.temperatures);
}

TEST(SaTuning, SameSeedSameResultParallelOrSerial) {
  Fixture f;
  SaTuningOptions o;
  o.seed = 5;
  o.patience = 6;
  SaTuningResult one, two;
  tbb::task_arena(1).execute([&] { one = tune_sa_guided(f.make_source(), small_memory(), {}, o); });
  tbb::task_arena(2).execute([&] { two = tune_sa_guided(f.make_source(), small_memory(), {}, o); });
  o.parallel = false;
  const SaTuningResult serial = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  expect_same(one, two);
  expect_same(one, serial);
}

TEST(SaTuning, TinyDomainFindsTheBruteForceBest) {
  Fixture f;
  std::vector<std::pair<std::uint32_t, double>> all;
  for (std::uint32_t w = 1; w <= 3; ++w) {
    for (std::uint32_t tenths = 1; tenths <= 10; ++tenths) all.emplace_back(w, tenths / 10.0);
  }
  const std::vector<double> times = sa_guided_times(f, all);
  const double best = *std::min_element(times.begin(), times.end());
  // The paper's stop rule (< 0.1 % in 3 rounds) ends after a dozen points here, where neighbours differ
  // by 0.1-0.3 %; this asks whether the search reaches the optimum, so it stops only on no strict gain.
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SaTuningOptions o;
    o.w_max = 3;
    o.min_improvement = 0;
    o.patience = 8;
    o.seed = seed;
    const SaTuningResult r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
    EXPECT_EQ(r.best_total_time_s, best)
        << "seed " << seed << ": " << r.evaluations << " points, stop " << r.diagnostics.stop_reason;
    // The start (W = 8) is clamped into the domain.
    EXPECT_EQ(std::get<0>(r.evaluated.front()), 3U);
  }
}

TEST(SaTuning, StopRulesAndBudgets) {
  Fixture f;
  SaTuningOptions o;
  o.max_rounds = 0;
  SaTuningResult r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  EXPECT_EQ(r.evaluations, 1U);
  EXPECT_EQ(r.rounds, 0U);
  EXPECT_EQ(r.diagnostics.stop_reason, "rounds");
  EXPECT_EQ(r.best_total_time_s, r.diagnostics.initial_cost);

  o.max_rounds = 2;
  o.patience = 100;
  r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  EXPECT_EQ(r.rounds, 2U);
  EXPECT_EQ(r.diagnostics.stop_reason, "rounds");

  // No improvement is ever enough: stops as soon as `patience` rounds have passed.
  o.max_rounds = 30;
  o.patience = 2;
  o.min_improvement = 1.0;
  r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  EXPECT_EQ(r.rounds, 2U);
  EXPECT_EQ(r.diagnostics.stop_reason, "patience");

  o.min_improvement = 0;
  o.patience = 1000;
  o.max_rounds = 1000;
  o.max_wall_s = 1e-9;
  r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  EXPECT_EQ(r.rounds, 1U);
  EXPECT_EQ(r.diagnostics.stop_reason, "wall");

  o = {};
  o.replicas = 0;
  EXPECT_THROW(tune_sa_guided(f.make_source(), small_memory(), {}, o), std::invalid_argument);
  o = {};
  o.w_max = 0;
  EXPECT_THROW(tune_sa_guided(f.make_source(), small_memory(), {}, o), std::invalid_argument);
}

// One replica is the paper's single chain: it runs at the 80 % temperature, cooled by 0.9 per round.
TEST(SaTuning, OneReplicaIsThePapersChain) {
  Fixture f;
  SaTuningOptions o;
  o.replicas = 1;
  o.max_rounds = 5;
  o.patience = 100;
  const SaTuningResult r = tune_sa_guided(f.make_source(), small_memory(), {}, o);
  EXPECT_EQ(r.rounds, 5U);
  EXPECT_EQ(r.diagnostics.moves_proposed, 5U);
  ASSERT_EQ(r.diagnostics.temperatures.size(), 1U);
  EXPECT_TRUE(r.diagnostics.swap_attempts.empty());
  // The first proposal's |delta| sets the temperature (uphill or not, the 80 % rule applies to it).
  const double first_delta = std::abs(std::get<2>(r.evaluated[1]) - std::get<2>(r.evaluated[0]));
  EXPECT_NEAR(r.diagnostics.temperatures[0], -first_delta / std::log(0.8) * std::pow(0.9, 5), 1e-15);
}

TEST(SaTuning, StartIsClampedIntoTheDomain) {
  Fixture f;
  config::PolicyParams start;
  start.sa_window = 500;
  start.sa_fraction = 0.02;
  SaTuningOptions o;
  o.max_rounds = 0;
  o.w_max = 16;
  const SaTuningResult r = tune_sa_guided(f.make_source(), small_memory(), start, o);
  ASSERT_EQ(r.evaluated.size(), 1U);
  EXPECT_EQ(std::get<0>(r.evaluated.front()), 16U);
  EXPECT_EQ(std::get<1>(r.evaluated.front()), 0.1);
  EXPECT_EQ(r.best_total_time_s, sa_guided_times(f, {{16, 0.1}})[0]);
}

}  // namespace
}  // namespace kvsweep::oracle
