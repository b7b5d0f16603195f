// The parallel-tempering engine on toy problems whose optimum is known by enumeration: it finds the
// optimum, its diagnostics add up, every stop rule fires, the adapted ladder swaps inside the band, and
// the same seed gives bit-identical results on 1 or 2 threads and on the serial path.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/oracle/tempering_engine.hpp"

namespace kvsweep::oracle {
namespace {

// Sherrington-Kirkpatrick spin glass, E(s) = -sum_{i<j} J_ij s_i s_j, with integer couplings in
// [-100, 100] so that every energy and delta is exact in double arithmetic (incremental cost tracking
// cannot drift, and "finds the optimum" can be checked with ==).
class SpinGlass {
 public:
  struct State {
    std::vector<std::int8_t> spin;
    std::vector<double> field;  // h_i = sum_j J_ij s_j, kept so a flip's delta is O(1)
    bool operator==(const State&) const = default;
  };

  SpinGlass(std::uint32_t n, std::uint64_t seed) : n_(n), j_(static_cast<std::size_t>(n) * n, 0.0) {
    core::Rng rng(seed);
    for (std::uint32_t a = 0; a < n; ++a) {
      for (std::uint32_t b = a + 1; b < n; ++b) {
        const double c = static_cast<double>(rng.below(201)) - 100.0;
        j_[a * n + b] = j_[b * n + a] = c;
      }
    }
  }

  std::uint32_t size() const { return n_; }
  double coupling(std::uint32_t a, std::uint32_t b) const { return j_[a * n_ + b]; }

  State make_state(std::uint64_t seed) const {
    core::Rng rng(seed);
    State s{std::vector<std::int8_t>(n_), std::vector<double>(n_, 0.0)};
    for (auto& x : s.spin) x = rng.bernoulli(0.5) ? 1 : -1;
    for (std::uint32_t a = 0; a < n_; ++a) {
      for (std::uint32_t b = 0; b < n_; ++b) s.field[a] += coupling(a, b) * s.spin[b];
    }
    return s;
  }

  double cost(const State& s) const {
    double e = 0;
    for (std::uint32_t a = 0; a < n_; ++a) {
      for (std::uint32_t b = a + 1; b < n_; ++b) e -= coupling(a, b) * s.spin[a] * s.spin[b];
    }
    return e;
  }

  template <class Accept>
  MoveOutcome step(State& s, core::Rng& rng, Accept&& accept) const {
    const auto i = static_cast<std::uint32_t>(rng.below(n_));
    const double delta = 2.0 * s.spin[i] * s.field[i];
    if (!accept(delta)) return {true, false, delta};
    flip(s, i);
    return {true, true, delta};
  }

  void flip(State& s, std::uint32_t i) const {
    s.spin[i] = static_cast<std::int8_t>(-s.spin[i]);
    const double twice = 2.0 * s.spin[i];
    for (std::uint32_t b = 0; b < n_; ++b) {
      if (b != i) s.field[b] += twice * coupling(b, i);
    }
  }

  // Ground-state energy by Gray-code enumeration of the 2^(n-1) states with the last spin fixed
  // (E is symmetric under flipping every spin).
  double ground_energy() const {
    State s = make_state(0);
    for (std::uint32_t a = 0; a < n_; ++a) {
      if (s.spin[a] != 1) flip(s, a);
    }
    double e = cost(s);
    double best = e;
    for (std::uint64_t g = 1; g < (std::uint64_t{1} << (n_ - 1)); ++g) {
      const auto i = static_cast<std::uint32_t>(std::countr_zero(g));
      e += 2.0 * s.spin[i] * s.field[i];
      flip(s, i);
      best = std::min(best, e);
    }
    return best;
  }

 private:
  std::uint32_t n_;
  std::vector<double> j_;
};

// Every move changes the cost by `delta`, or (proposes = false) no move is ever found.
class ConstantDelta {
 public:
  using State = int;
  ConstantDelta(double delta, bool proposes) : delta_(delta), proposes_(proposes) {}
  double cost(const State& s) const { return 1000.0 + delta_ * s; }
  template <class Accept>
  MoveOutcome step(State& s, core::Rng& rng, Accept&& accept) const {
    rng();
    if (!proposes_) return {};
    if (!accept(delta_)) return {true, false, delta_};
    ++s;
    return {true, true, delta_};
  }

 private:
  double delta_;
  bool proposes_;
};

TemperingOptions spin_options() {
  TemperingOptions o;
  o.replicas = 8;
  o.moves_per_round = 500;
  o.max_moves = 2000000;
  o.patience_rounds = 150;
  o.seed = 7;
  return o;
}

TEST(Tempering, FindsTheSpinGlassGroundState) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const SpinGlass glass(20, seed);
    const double ground = glass.ground_energy();
    TemperingOptions o = spin_options();
    o.seed = seed;
    const auto r = temper(glass, glass.make_state(100 + seed), o);
    EXPECT_EQ(r.best_cost, ground) << "instance " << seed;
    EXPECT_EQ(glass.cost(r.best), r.best_cost) << "instance " << seed;
    EXPECT_LT(r.best_cost, r.diagnostics.initial_cost);
  }
}

TEST(Tempering, DiagnosticsAreConsistent) {
  const SpinGlass glass(24, 3);
  const SpinGlass::State initial = glass.make_state(5);
  const auto r = temper(glass, initial, spin_options());
  const TemperingDiagnostics& d = r.diagnostics;
  const std::size_t n = spin_options().replicas;
  EXPECT_EQ(d.initial_cost, glass.cost(initial));
  EXPECT_EQ(d.best_cost, r.best_cost);
  EXPECT_GT(d.rounds, 0U);
  EXPECT_FALSE(d.stop_reason.empty());
  EXPECT_GT(d.wall_s, 0.0);
  EXPECT_LE(d.moves_accepted, d.moves_proposed);
  EXPECT_GT(d.moves_accepted, 0U);
  ASSERT_EQ(d.slot_moves_proposed.size(), n);
  ASSERT_EQ(d.slot_moves_accepted.size(), n);
  std::uint64_t proposed = 0, accepted = 0;
  for (std::size_t k = 0; k < n; ++k) {
    proposed += d.slot_moves_proposed[k];
    accepted += d.slot_moves_accepted[k];
    EXPECT_LE(d.slot_moves_accepted[k], d.slot_moves_proposed[k]);
  }
  EXPECT_EQ(proposed, d.moves_proposed);
  EXPECT_EQ(accepted, d.moves_accepted);
  EXPECT_LT(d.slot_moves_accepted.front(), d.slot_moves_accepted.back());  // cold accepts less
  if (d.stop_reason == "moves") {
    EXPECT_EQ(d.moves_proposed, spin_options().max_moves);
  } else {
    EXPECT_EQ(d.moves_proposed, std::uint64_t{d.rounds} * n * spin_options().moves_per_round);
  }
  // Pairs of one parity are tried on even rounds, the others on odd rounds.
  ASSERT_EQ(d.swap_attempts.size(), n - 1);
  ASSERT_EQ(d.swap_acceptance.size(), n - 1);
  for (std::size_t k = 0; k + 1 < n; ++k) {
    const std::uint64_t rounds_of_parity = k % 2 == 0 ? (d.rounds + 1) / 2 : d.rounds / 2;
    EXPECT_EQ(d.swap_attempts[k], rounds_of_parity) << "pair " << k;
    EXPECT_GE(d.swap_acceptance[k], 0.0);
    EXPECT_LE(d.swap_acceptance[k], 1.0);
  }
  ASSERT_EQ(d.temperatures.size(), n);
  for (std::size_t k = 1; k < n; ++k) EXPECT_GT(d.temperatures[k], d.temperatures[k - 1]);
  EXPECT_GT(d.round_trips, 0U);
  // The trajectory starts at the initial state, only improves and ends at the best.
  ASSERT_GE(d.best_vs_moves.size(), 2U);
  ASSERT_EQ(d.best_vs_moves.size(), d.best_vs_time.size());
  EXPECT_EQ(d.best_vs_moves.front(), (std::pair<std::uint64_t, double>{0, d.initial_cost}));
  EXPECT_EQ(d.best_vs_moves.back().second, r.best_cost);
  for (std::size_t i = 1; i < d.best_vs_moves.size(); ++i) {
    EXPECT_LT(d.best_vs_moves[i].second, d.best_vs_moves[i - 1].second);
    EXPECT_GT(d.best_vs_moves[i].first, d.best_vs_moves[i - 1].first);
    EXPECT_GE(d.best_vs_time[i].first, d.best_vs_time[i - 1].first);
    EXPECT_EQ(d.best_vs_time[i].second, d.best_vs_moves[i].second);
  }
}

TEST(Tempering, AdaptationKeepsTheEndsAndSwapsLandInTheBand) {
  const SpinGlass glass(24, 11);
  TemperingOptions o = spin_options();
  o.replicas = 6;
  o.max_moves = 6000000;
  o.patience_rounds = 1000000;
  const auto adapted = temper(glass, glass.make_state(1), o);
  TemperingOptions fixed = o;
  fixed.adapt_ladder = false;
  const auto geometric = temper(glass, glass.make_state(1), fixed);
  const std::vector<double>& t = adapted.diagnostics.temperatures;
  EXPECT_EQ(t.front(), geometric.diagnostics.temperatures.front());
  EXPECT_EQ(t.back(), geometric.diagnostics.temperatures.back());
  // Re-run on the adapted ladder, held fixed: every neighbour pair swaps inside [0.15, 0.5].
  fixed.ladder = t;
  fixed.seed = 99;
  const auto rerun = temper(glass, glass.make_state(1), fixed);
  for (std::size_t k = 0; k < rerun.diagnostics.swap_acceptance.size(); ++k) {
    EXPECT_GE(rerun.diagnostics.swap_acceptance[k], 0.15) << "pair " << k;
    EXPECT_LE(rerun.diagnostics.swap_acceptance[k], 0.5) << "pair " << k;
  }
}

TEST(Tempering, EveryStopRuleFires) {
  const SpinGlass glass(16, 2);
  TemperingOptions o = spin_options();
  o.max_moves = 12345;
  o.patience_rounds = 1000000;
  auto r = temper(glass, glass.make_state(1), o);
  EXPECT_EQ(r.diagnostics.stop_reason, "moves");
  EXPECT_EQ(r.diagnostics.moves_proposed, 12345U);

  o.max_moves = std::numeric_limits<std::uint64_t>::max();
  o.patience_rounds = 5;
  r = temper(glass, glass.make_state(1), o);
  EXPECT_EQ(r.diagnostics.stop_reason, "patience");
  const std::uint64_t last_gain = r.diagnostics.best_vs_moves.back().first;
  EXPECT_EQ(r.diagnostics.moves_proposed, last_gain + 5 * o.replicas * o.moves_per_round);

  o.patience_rounds = std::numeric_limits<std::uint32_t>::max();
  o.max_wall_s = 0.05;
  r = temper(glass, glass.make_state(1), o);
  EXPECT_EQ(r.diagnostics.stop_reason, "wall");
  EXPECT_GE(r.diagnostics.wall_s, 0.05);

  o.max_moves = 0;
  r = temper(glass, glass.make_state(1), o);
  EXPECT_EQ(r.diagnostics.stop_reason, "moves");
  EXPECT_EQ(r.diagnostics.rounds, 0U);
  EXPECT_EQ(r.best_cost, glass.cost(glass.make_state(1)));
}

void expect_identical(const TemperingResult<SpinGlass::State>& a,
                      const TemperingResult<SpinGlass::State>& b) {
  EXPECT_EQ(a.best_cost, b.best_cost);
  EXPECT_TRUE(a.best == b.best);
  EXPECT_EQ(a.diagnostics.moves_proposed, b.diagnostics.moves_proposed);
  EXPECT_EQ(a.diagnostics.moves_accepted, b.diagnostics.moves_accepted);
  EXPECT_EQ(a.diagnostics.slot_moves_accepted, b.diagnostics.slot_moves_accepted);
  EXPECT_EQ(a.diagnostics.swap_acceptance, b.diagnostics.swap_acceptance);
  EXPECT_EQ(a.diagnostics.temperatures, b.diagnostics.temperatures);
  EXPECT_EQ(a.diagnostics.round_trips, b.diagnostics.round_trips);
  EXPECT_EQ(a.diagnostics.best_vs_moves, b.diagnostics.best_vs_moves);
  EXPECT_EQ(a.diagnostics.rounds, b.diagnostics.rounds);
}

TEST(Tempering, SameSeedSameResultOnOneOrTwoThreadsAndSerially) {
  const SpinGlass glass(28, 4);
  const SpinGlass::State initial = glass.make_state(3);
  TemperingOptions o = spin_options();
  o.max_moves = 400000;
  TemperingResult<SpinGlass::State> one, two;
  tbb::task_arena(1).execute([&] { one = temper(glass, initial, o); });
  tbb::task_arena(2).execute([&] { two = temper(glass, initial, o); });
  o.parallel = false;
  const auto serial = temper(glass, initial, o);
  expect_identical(one, two);
  expect_identical(one, serial);
  o.seed += 1;
  const auto other = temper(glass, initial, o);
  EXPECT_NE(other.diagnostics.moves_accepted, serial.diagnostics.moves_accepted);
}

TEST(Tempering, ProbeSetsTheHottestTemperatureForEightyPercentUphill) {
  TemperingOptions o;
  o.replicas = 4;
  o.max_moves = 1000;
  o.moves_per_round = 10;
  o.adapt_ladder = false;
  const auto r = temper(ConstantDelta(2.5, true), 0, o);
  const double t_max = -2.5 / std::log(0.8);
  EXPECT_DOUBLE_EQ(r.diagnostics.temperatures.back(), t_max);
  EXPECT_DOUBLE_EQ(r.diagnostics.temperatures.front(), t_max * 1e-4);
  // Uphill only: the initial state stays the best.
  EXPECT_EQ(r.best, 0);
  EXPECT_GT(r.diagnostics.moves_accepted, 0U);

  // No uphill move: a temperature negligible against the cost.
  const auto flat = temper(ConstantDelta(-1.0, true), 0, o);
  EXPECT_DOUBLE_EQ(flat.diagnostics.temperatures.back(), 1e-9 * 1000.0 + 1e-30);
}

TEST(Tempering, StepsWithoutAMoveCountAsRejectedProposals) {
  TemperingOptions o;
  o.replicas = 3;
  o.moves_per_round = 7;
  o.max_moves = 100;
  o.t_max = 1.0;
  const auto r = temper(ConstantDelta(1.0, false), 0, o);
  EXPECT_EQ(r.diagnostics.moves_proposed, 100U);
  EXPECT_EQ(r.diagnostics.moves_accepted, 0U);
  EXPECT_EQ(r.diagnostics.stop_reason, "moves");
  EXPECT_EQ(r.best_cost, 1000.0);
}

TEST(Tempering, RejectsBadOptions) {
  const ConstantDelta p(1.0, true);
  TemperingOptions o;
  o.replicas = 0;
  EXPECT_THROW(temper(p, 0, o), std::invalid_argument);
  o = {};
  o.moves_per_round = 0;
  EXPECT_THROW(temper(p, 0, o), std::invalid_argument);
  o = {};
  o.swap_low = 0.5;
  o.swap_high = 0.4;
  EXPECT_THROW(temper(p, 0, o), std::invalid_argument);
  o = {};
  o.ladder = {1.0, 1.0};
  EXPECT_THROW(temper(p, 0, o), std::invalid_argument);
  o = {};
  o.t_max = -1;
  EXPECT_THROW(temper(p, 0, o), std::invalid_argument);
}

TEST(Tempering, GeometricLadderAndUphillTemperature) {
  const std::vector<double> t = geometric_ladder(0.5, 8.0, 5);
  ASSERT_EQ(t.size(), 5U);
  EXPECT_EQ(t.front(), 0.5);
  EXPECT_EQ(t.back(), 8.0);
  for (std::size_t k = 1; k < t.size(); ++k) EXPECT_NEAR(t[k] / t[k - 1], 2.0, 1e-12);
  EXPECT_EQ(geometric_ladder(3.0, 9.0, 1), std::vector<double>{3.0});
  EXPECT_THROW(geometric_ladder(2.0, 1.0, 3), std::invalid_argument);
  EXPECT_DOUBLE_EQ(uphill_temperature(1.0), -1.0 / std::log(0.8));
}

}  // namespace
}  // namespace kvsweep::oracle
