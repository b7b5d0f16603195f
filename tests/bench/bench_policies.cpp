// One pass of a single policy (with its judge) on one thread, over a cut-down paper-like instance:
// P = 32,768, D = 256, L = 4, 60 % sparsity, synthetic `actual`, 30 % of the KV footprint in HBM.
// sa_guided at the paper point's tuned W* = 17 is what the (W, R) tuning spends its passes on.
#include <benchmark/benchmark.h>

#include "kvsweep/policy/policy.hpp"
#include "reference_memory.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "kvsweep/trace/synthetic.hpp"

namespace {

using namespace kvsweep;

void run_policy(benchmark::State& state, const std::string& name, config::PolicyParams params) {
  const trace::TraceShape shape{32768, 256, 4};
  const cost::MemorySystem memory = bench::reference_memory(shape);
  const config::SyntheticParams synthetic;
  for (auto _ : state) {
    auto source = trace::make_synthetic_source(synthetic, shape, 1);
    std::vector<std::unique_ptr<policy::Policy>> policies;
    policies.push_back(policy::make_policy(name, policy::PolicyContext{shape, memory, params}));
    sim::SimulationOptions opt;
    opt.parallel = false;
    const auto run = sim::simulate(*source, memory, policies, opt);
    benchmark::DoNotOptimize(run.policies[0].totals.total_time_s);
    state.counters["policy_cpu_s"] = run.policies[0].cpu_s;
    state.counters["trace_s"] = run.trace_s;
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t{shape.decode_tokens} * shape.layers);
}

void BM_SaGuidedW8(benchmark::State& state) { run_policy(state, "sa_guided", {}); }
BENCHMARK(BM_SaGuidedW8)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SaGuidedW17(benchmark::State& state) {
  config::PolicyParams p;
  p.sa_window = 17;
  run_policy(state, "sa_guided", p);
}
BENCHMARK(BM_SaGuidedW17)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FmTracking(benchmark::State& state) { run_policy(state, "fm_tracking", {}); }
BENCHMARK(BM_FmTracking)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Belady(benchmark::State& state) { run_policy(state, "belady", {}); }
BENCHMARK(BM_Belady)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
