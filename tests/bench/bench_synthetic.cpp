// Generation speed of the synthetic trace. The target: the whole paper-scale trace (P = 31,299,
// D = 10,239, L = 32, 60 % sparsity, 4.7e9 reads) in <= 5 s on one core. The one-core numbers run in
// a one-thread task_arena; the last benchmark shows what the layer-parallel path gains.
// This file holds the microbench binary's BENCHMARK_MAIN().

#include <benchmark/benchmark.h>
#include <tbb/task_arena.h>

#include <vector>

#include "kvsweep/trace/synthetic.hpp"

namespace {

using kvsweep::trace::TraceShape;

constexpr TraceShape kPaperShape{31299, 10239, 32};
// 1/8 of the context (prompt and decode), same model depth.
constexpr TraceShape kEighthShape{31299 / 8, 10239 / 8, 32};

double total_reads(const kvsweep::config::SyntheticParams& p, const TraceShape& s) {
  double reads = 0;
  for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
    reads += kvsweep::trace::read_layout(p, n).budget;
  }
  return reads * s.layers;
}

void generate(benchmark::State& state, const TraceShape& s, int threads, double target_jaccard = 0.8) {
  kvsweep::config::SyntheticParams p;  // 60 % sparsity; Jaccard 0.8 is the default "actual" variation
  p.target_jaccard = target_jaccard;
  std::vector<kvsweep::core::TokenBitset> step(s.layers, kvsweep::core::TokenBitset(s.total_tokens()));
  tbb::task_arena arena(threads);
  for (auto _ : state) {
    arena.execute([&] {
      kvsweep::trace::SyntheticSource src(p, s, 2025, threads != 1);
      for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
        src.read_step(n, step);
        benchmark::DoNotOptimize(step.front().data());
      }
    });
  }
  const double reads = total_reads(p, s);
  state.counters["reads"] = reads;
  state.counters["reads_per_s"] =
      benchmark::Counter(reads * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_SyntheticPaperScaleOneCore(benchmark::State& state) { generate(state, kPaperShape, 1); }
void BM_SyntheticEighthScaleOneCore(benchmark::State& state) { generate(state, kEighthShape, 1); }
// Jaccard 0.6, the low end of the literature bracket: 2.3x the churn, so the most spans per step.
void BM_SyntheticPaperScaleJaccard06OneCore(benchmark::State& state) { generate(state, kPaperShape, 1, 0.6); }
void BM_SyntheticPaperScaleAllCores(benchmark::State& state) {
  generate(state, kPaperShape, tbb::task_arena::automatic);
}

BENCHMARK(BM_SyntheticPaperScaleOneCore)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_SyntheticEighthScaleOneCore)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SyntheticPaperScaleJaccard06OneCore)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_SyntheticPaperScaleAllCores)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
