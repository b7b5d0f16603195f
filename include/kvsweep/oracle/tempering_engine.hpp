#pragma once
// temper(): the parallel-tempering engine over any Problem (concept, options and results in
// oracle/tempering.hpp). A template so that a Problem's step() and the Metropolis test inline into one
// tight loop per replica: no virtual call, std::function or allocation per move.
//
// One round: every temperature slot runs moves_per_round proposals (in parallel over slots with
// tbb::parallel_for, or one slot after another), costs tracked incrementally (cost += delta on
// acceptance); then the best round-end state is kept; then neighbours swap states (by index, never by
// copying a state); every kAdaptEveryRounds rounds the ladder is adapted. The best state is copied at
// most once per round, so huge states stay affordable; a better state visited mid-round and left
// before the round ends is not kept ("best" is the best round-end state).

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/oracle/tempering.hpp"

namespace kvsweep::oracle {

// Rounds between ladder adaptations: each pair is attempted every other round, so 2 fresh attempts.
inline constexpr std::uint32_t kAdaptEveryRounds = 4;
// Moves proposed from the initial state (all rejected) to set t_max when it is not given.
inline constexpr std::uint32_t kProbeMoves = 200;
// A round-end state replaces the best only when better by more than this, relative: incremental cost
// tracking accumulates rounding, and a copy of a huge state for a rounding-level "gain" is waste.
inline constexpr double kBestRelativeTolerance = 1e-12;

namespace detail {

// t_max from the mean positive delta of kProbeMoves rejected proposals from `s` (left unchanged):
// 80 % of such uphill moves pass at t_max. Without any uphill move, a temperature negligible
// against the cost (the landscape looks flat or downhill from here).
template <class Problem>
double probe_t_max(const Problem& problem, typename Problem::State& s, double cost, std::uint64_t seed) {
  core::Rng rng(core::derive_seed({seed, kStreamProbe}));
  double sum = 0;
  std::uint64_t uphill = 0;
  for (std::uint32_t i = 0; i < kProbeMoves; ++i) {
    const MoveOutcome out = problem.step(s, rng, [](double) { return false; });
    if (out.proposed && out.delta > 0) {
      sum += out.delta;
      ++uphill;
    }
  }
  if (uphill == 0) return 1e-9 * std::abs(cost) + 1e-30;
  return uphill_temperature(sum / static_cast<double>(uphill));
}

}  // namespace detail

template <class Problem>
TemperingResult<typename Problem::State> temper(const Problem& problem,
                                                const typename Problem::State& initial,
                                                const TemperingOptions& options) {
  using State = typename Problem::State;
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - t_start).count(); };
  validate(options);

  const double initial_cost = problem.cost(initial);
  TemperingResult<State> result{initial, initial_cost, {}};
  TemperingDiagnostics& d = result.diagnostics;
  d.initial_cost = d.best_cost = initial_cost;
  d.best_vs_moves.emplace_back(0, initial_cost);
  d.best_vs_time.emplace_back(0.0, initial_cost);

  const std::size_t n = options.ladder.empty() ? options.replicas : options.ladder.size();
  std::vector<State> states(n, initial);  // by state number; slots point into it
  const double probed = options.ladder.empty() && options.t_max == 0
                            ? detail::probe_t_max(problem, states[0], initial_cost, options.seed)
                            : 0;
  ReplicaExchange exchange(resolve_ladder(options, probed), options.seed);

  std::vector<double> energy(n, initial_cost);  // by slot, permuted with the states
  std::vector<core::Rng> rngs;                  // by slot: a stream stays with its temperature
  rngs.reserve(n);
  for (std::size_t k = 0; k < n; ++k) rngs.emplace_back(core::derive_seed({options.seed, kStreamMoves, k}));
  std::vector<std::uint64_t> round_moves(n, 0), round_accepted(n, 0);
  d.slot_moves_proposed.assign(n, 0);
  d.slot_moves_accepted.assign(n, 0);
  // A problem that names its move kinds gets them counted, per slot and round, summed in slot order
  // (the same totals with 1 or N threads).
  constexpr bool kNamedKinds = requires { problem.move_kinds(); };
  if constexpr (kNamedKinds) {
    for (const auto& name : problem.move_kinds()) d.move_kinds.push_back({std::string(name), 0, 0, 0});
  }
  std::vector<std::vector<MoveKindStats>> slot_kinds(n, d.move_kinds);

  auto run_slot = [&](std::size_t k) {
    State& s = states[exchange.state_at(k)];
    core::Rng rng = rngs[k];  // a local copy stays in registers through the loop
    const double inv_t = 1.0 / exchange.temperature(k);
    auto accept = [&rng, inv_t](double delta) { return metropolis_accept(delta, inv_t, rng); };
    double e = energy[k];
    std::uint64_t accepted = 0;
    const std::uint64_t moves = round_moves[k];
    for (std::uint64_t i = 0; i < moves; ++i) {
      const MoveOutcome out = problem.step(s, rng, accept);
      if (out.accepted) {
        e += out.delta;
        ++accepted;
      }
      if constexpr (kNamedKinds) {
        MoveKindStats& kind = slot_kinds[k][out.kind];
        ++kind.proposed;
        if (out.accepted) {
          ++kind.accepted;
          if (out.delta < 0) kind.improvement -= out.delta;
        }
      }
    }
    rngs[k] = rng;
    energy[k] = e;
    round_accepted[k] = accepted;
  };

  std::uint32_t rounds_without_best = 0;
  std::uint64_t round = 0;
  for (;; ++round) {
    if (d.moves_proposed >= options.max_moves) {
      d.stop_reason = "moves";
      break;
    }
    if (rounds_without_best >= options.patience_rounds) {
      d.stop_reason = "patience";
      break;
    }
    if (options.max_wall_s > 0 && elapsed_s() >= options.max_wall_s) {
      d.stop_reason = "wall";
      break;
    }
    // The last round shares what is left of the budget, so exactly max_moves are proposed.
    const std::uint64_t left = options.max_moves - d.moves_proposed;
    for (std::size_t k = 0; k < n; ++k) {
      const bool full = left / n >= options.moves_per_round;
      round_moves[k] = full ? options.moves_per_round : left / n + (k < left % n ? 1U : 0U);
    }
    if (options.parallel && n > 1) {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, n, 1),
          [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t k = r.begin(); k != r.end(); ++k) run_slot(k);
          },
          tbb::simple_partitioner());
    } else {
      for (std::size_t k = 0; k < n; ++k) run_slot(k);
    }
    std::size_t best_slot = 0;
    for (std::size_t k = 0; k < n; ++k) {
      d.moves_proposed += round_moves[k];
      d.moves_accepted += round_accepted[k];
      d.slot_moves_proposed[k] += round_moves[k];
      d.slot_moves_accepted[k] += round_accepted[k];
      for (std::size_t m = 0; m < d.move_kinds.size(); ++m) {
        d.move_kinds[m].proposed += slot_kinds[k][m].proposed;
        d.move_kinds[m].accepted += slot_kinds[k][m].accepted;
        d.move_kinds[m].improvement += slot_kinds[k][m].improvement;
        slot_kinds[k][m].proposed = slot_kinds[k][m].accepted = 0;
        slot_kinds[k][m].improvement = 0;
      }
      if (energy[k] < energy[best_slot]) best_slot = k;
    }
    if (energy[best_slot] < result.best_cost - kBestRelativeTolerance * std::abs(result.best_cost)) {
      result.best = states[exchange.state_at(best_slot)];
      result.best_cost = energy[best_slot];
      rounds_without_best = 0;
      d.best_vs_moves.emplace_back(d.moves_proposed, result.best_cost);
      d.best_vs_time.emplace_back(elapsed_s(), result.best_cost);
    } else {
      ++rounds_without_best;
    }
    exchange.exchange(round, energy);
    if (options.adapt_ladder && (round + 1) % kAdaptEveryRounds == 0) {
      exchange.adapt(options.swap_low, options.swap_high);
    }
  }

  d.rounds = static_cast<std::uint32_t>(round);
  d.best_cost = result.best_cost;
  exchange.report(d);
  d.wall_s = elapsed_s();
  return result;
}

}  // namespace kvsweep::oracle
