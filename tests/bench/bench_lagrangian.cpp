// One pass of the Lagrangian bound (every entry's cheapest in/out path at fixed duals, then the value
// and its subgradient's counts) on a paper-shaped slice: P = 4,096, D = 1,024, L = 8, 60 % sparsity,
// synthetic `actual` trace, 40 % of the KV footprint in HBM, at free_migration's duals. Items are
// entry-states (tokens existing x layers x states); the kernels side by side (plain C++, AVX2,
// AVX-512; same paths), in float (the search's passes) and double (the certificate).
#include <benchmark/benchmark.h>

#include <memory>

#include "kvsweep/bound/lagrangian.hpp"
#include "kvsweep/trace/synthetic.hpp"

namespace {

using namespace kvsweep;

struct Slice {
  trace::TraceShape shape{4096, 1024, 8};
  cost::MemorySystem memory;
  std::unique_ptr<bound::StepMajorReads> reads;
  bound::LagrangianDuals duals;
  double entry_states = 0;

  Slice() {
    memory.kv_entry_bytes = 16384;
    memory.weight_bytes_per_layer = 162889728.0 / 8;
    memory.hbm_bw = 4900e9;
    memory.link_read_bw = memory.link_write_bw = 450e9;
    memory.dram_bw = 500e9;
    memory.capacity_entries = static_cast<std::uint64_t>(0.4 * shape.total_tokens() * shape.layers);
    config::SyntheticParams params;
    params.sparsity = 0.6;
    auto source = trace::make_synthetic_source(params, shape, 1);
    reads = std::make_unique<bound::StepMajorReads>(*source);
    duals = bound::free_migration_duals(*reads, memory);
    for (std::uint32_t i = 0; i < shape.decode_tokens; ++i) entry_states += static_cast<double>(shape.prompt_tokens + i) * shape.layers;
  }
};

const Slice& slice() {
  static const Slice s;
  return s;
}

void BM_LagrangianPass(benchmark::State& state) {
  const auto kernel = static_cast<bound::PathKernel>(state.range(0));
  const bool precise = state.range(1) != 0;
  if (!bound::kernel_available(kernel)) {
    state.SkipWithError("this machine lacks the kernel");
    return;
  }
  const Slice& s = slice();
  bound::PathCounts counts;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bound::lagrangian_value(*s.reads, s.memory, s.duals, counts, precise, true, kernel));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(s.entry_states) * state.iterations());
}
// Args: kernel (1 plain, 2 AVX2, 3 AVX-512), double precision (0/1).
BENCHMARK(BM_LagrangianPass)
    ->ArgsProduct({{1, 2, 3}, {0, 1}})
    ->ArgNames({"kernel", "double"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
