// Overhead of the parallel-tempering engine per proposal. The problem is nearly free (a table lookup on
// a rugged 1-D landscape), so what is measured is the engine: the replica loop, the inlined step and
// Metropolis test, the RNG, rounds, swaps and best tracking. The oracle needs >= 2e7 proposals/s per core
// on its reference instance, so the engine's share must stay well below 50 ns per proposal.
// BM_BareMetropolis is the same chain hand-written without the engine, the floor to compare with.

#include <benchmark/benchmark.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/oracle/tempering_engine.hpp"

namespace {

using kvsweep::core::Rng;
using kvsweep::oracle::MoveOutcome;

// f(x) = a slow sine plus uniform noise over 2^16 cells: many local minima, one global one.
class Rugged1D {
 public:
  using State = std::uint32_t;
  static constexpr std::uint32_t kCells = 1U << 16;

  Rugged1D() : f_(kCells) {
    Rng rng(2025);
    for (std::uint32_t x = 0; x < kCells; ++x) {
      f_[x] = std::sin(static_cast<double>(x) * 1e-3) + 0.5 * rng.uniform();
    }
  }
  double cost(const State& x) const { return f_[x]; }

  // A jump of 1..8 cells either way, wrapping around.
  template <class Accept>
  MoveOutcome step(State& x, Rng& rng, Accept&& accept) const {
    const auto r = static_cast<std::uint32_t>(rng.below(16));
    const std::uint32_t y = (x + (r < 8 ? r + 1 : kCells - (r - 7))) & (kCells - 1);
    const double delta = f_[y] - f_[x];
    if (!accept(delta)) return {true, false, delta};
    x = y;
    return {true, true, delta};
  }

 private:
  std::vector<double> f_;
};

kvsweep::oracle::TemperingOptions bench_options(bool parallel) {
  kvsweep::oracle::TemperingOptions o;
  o.replicas = 8;
  o.moves_per_round = 20000;
  o.max_moves = 40'000'000;
  o.patience_rounds = 1U << 30;  // the budget, not convergence, ends the run
  o.adapt_ladder = false;        // the bare chains below run this same geometric ladder
  o.parallel = parallel;
  return o;
}

void report(benchmark::State& state, double proposals, int cores) {
  const double total = proposals * static_cast<double>(state.iterations());
  state.counters["proposals_per_s"] = benchmark::Counter(total, benchmark::Counter::kIsRate);
  state.counters["proposals_per_s_per_core"] = benchmark::Counter(total / cores, benchmark::Counter::kIsRate);
  state.counters["ns_per_proposal_core"] =
      benchmark::Counter(total / cores, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void run_engine(benchmark::State& state, int threads) {
  const Rugged1D problem;
  const auto options = bench_options(true);
  tbb::task_arena arena(threads);
  double proposals = 0;
  for (auto _ : state) {
    arena.execute([&] {
      const auto r = kvsweep::oracle::temper(problem, Rugged1D::State{12345}, options);
      proposals = static_cast<double>(r.diagnostics.moves_proposed);
      benchmark::DoNotOptimize(r.best_cost);
    });
  }
  report(state, proposals, threads);
}

void BM_TemperingOneCore(benchmark::State& state) { run_engine(state, 1); }
void BM_TemperingTwoCores(benchmark::State& state) { run_engine(state, 2); }

// The serial path on the calling thread, no TBB at all.
void BM_TemperingSerial(benchmark::State& state) {
  const Rugged1D problem;
  const auto options = bench_options(false);
  double proposals = 0;
  for (auto _ : state) {
    const auto r = kvsweep::oracle::temper(problem, Rugged1D::State{12345}, options);
    proposals = static_cast<double>(r.diagnostics.moves_proposed);
    benchmark::DoNotOptimize(r.best_cost);
  }
  report(state, proposals, 1);
}

// The same chains written out by hand, one temperature after another (no rounds, swaps or best
// tracking): the cost of the problem and the Metropolis test themselves.
void BM_BareMetropolis(benchmark::State& state) {
  const Rugged1D problem;
  auto options = bench_options(false);
  options.max_moves = 0;  // only resolves the ladder
  const std::vector<double> ladder =
      kvsweep::oracle::temper(problem, 12345, options).diagnostics.temperatures;
  constexpr std::uint64_t kMovesPerChain = 5'000'000;
  for (auto _ : state) {
    double sum = 0;
    for (std::size_t k = 0; k < ladder.size(); ++k) {
      Rng rng(7 + k);
      Rugged1D::State x = 12345;
      double e = problem.cost(x);
      const double inv_t = 1.0 / ladder[k];
      for (std::uint64_t i = 0; i < kMovesPerChain; ++i) {
        const MoveOutcome out =
            problem.step(x, rng, [&](double d) { return d <= 0 || rng.uniform() < std::exp(-d * inv_t); });
        if (out.accepted) e += out.delta;
      }
      sum += e;
    }
    benchmark::DoNotOptimize(sum);
  }
  report(state, static_cast<double>(kMovesPerChain * ladder.size()), 1);
}

BENCHMARK(BM_BareMetropolis)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TemperingSerial)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TemperingOneCore)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TemperingTwoCores)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
