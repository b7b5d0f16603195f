// Move proposals per second of the token-level oracle on its reference instance: Llama-like shape cut
// down (P = 1024, D = 128, L = 4, 60 % sparsity, synthetic `actual`), 30 % of the KV footprint in HBM,
// seeded from belady's schedule, Metropolis at a temperature that accepts ~0.7 % of the proposals (3 % of the legal ones).
// The long variant (D = 2048, L = 2) shows how the cost of a move grows with D: capacity over a range
// is checked in O(log D).
#include <benchmark/benchmark.h>

#include <cmath>

#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/trace/synthetic.hpp"
#include "reference_memory.hpp"

namespace {

using namespace kvsweep;

struct Reference {
  trace::TraceShape shape;
  config::SyntheticParams params;
  cost::MemorySystem memory;
  std::unique_ptr<oracle::OracleInstance> inst;
  std::unique_ptr<oracle::ScheduleState> seed;

  explicit Reference(trace::TraceShape s) : shape(s), memory(bench::reference_memory(s)) {
    auto source = trace::make_synthetic_source(params, shape, 1);
    inst = std::make_unique<oracle::OracleInstance>(*source, memory);
    auto again = trace::make_synthetic_source(params, shape, 1);
    seed = std::make_unique<oracle::ScheduleState>(oracle::record_schedule(*inst, "belady", {}, *again));
  }
};

void run_proposals(benchmark::State& state, const Reference& ref) {
  const oracle::ScheduleProblem problem(*ref.inst);
  oracle::ScheduleState s = *ref.seed;
  core::Rng rng(7);
  const double inv_t = 1.0 / (1e-9 * s.total());
  std::uint64_t accepted = 0, legal = 0;
  for (auto _ : state) {
    const auto out = problem.step(s, rng, [&](double d) { return oracle::metropolis_accept(d, inv_t, rng); });
    accepted += out.accepted ? 1 : 0;
    legal += out.proposed ? 1 : 0;
  }
  // Every call is a proposal; `legal` is the share that passed capacity and domain checks and had its
  // cost delta computed.
  state.SetItemsProcessed(state.iterations());
  state.counters["accepted"] = static_cast<double>(accepted) / static_cast<double>(state.iterations());
  state.counters["legal"] = static_cast<double>(legal) / static_cast<double>(state.iterations());
}
void BM_OracleProposals(benchmark::State& state) {
  static const Reference ref({1024, 128, 4});
  run_proposals(state, ref);
}
BENCHMARK(BM_OracleProposals)->MinTime(2.0);

void BM_OracleProposalsLongD(benchmark::State& state) {
  static const Reference ref({1024, 2048, 2});
  run_proposals(state, ref);
}
BENCHMARK(BM_OracleProposalsLongD)->MinTime(2.0);

}  // namespace
