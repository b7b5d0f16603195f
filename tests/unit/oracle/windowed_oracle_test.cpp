// The windowed oracle (for points too large to anneal whole) must produce a valid schedule — the
// Judge checks capacity as windows finish — that is never worse than its seed and never better than
// the true optimum.
#include <gtest/gtest.h>

#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/trace/synthetic.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

oracle::OracleOptions small_budget(std::uint64_t seed) {
  oracle::OracleOptions o;
  o.tempering.replicas = 4;
  o.tempering.moves_per_round = 500;
  o.tempering.max_moves = 400'000;
  o.tempering.patience_rounds = 50;
  o.tempering.seed = seed;
  return o;
}

TEST(WindowedOracle, BetweenOptimumAndSeedForEveryWindowSize) {
  int improved = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const bool two_layers = seed % 2 == 0;
    const Instance in = random_instance(seed * 104729, two_layers ? 2 : 1, two_layers ? 8 : 10);
    const double optimum = exhaustive_optimum(in.trace, in.memory);
    for (std::uint32_t window : {1u, 2u, 3u, in.trace.shape.decode_tokens}) {
      auto source = trace::make_explicit_source(in.trace);
      const oracle::WindowedResult r =
          oracle::anneal_windowed(*source, in.memory, "belady", {}, window, small_budget(seed));
      const RecordedRun seed_run = run_and_record("belady", in.trace, in.memory);
      EXPECT_DOUBLE_EQ(r.seed_time_s, seed_run.judged_time_s);
      EXPECT_LE(r.totals.total_time_s, seed_run.judged_time_s * (1 + 1e-12)) << "seed " << seed;
      EXPECT_GE(r.totals.total_time_s, optimum * (1 - 1e-12)) << "seed " << seed << " window " << window;
      EXPECT_EQ(r.windows, (in.trace.shape.decode_tokens + r.window_steps - 1) / r.window_steps);
      improved += r.improved ? 1 : 0;
    }
  }
  EXPECT_GT(improved, 10);
}

TEST(WindowedOracle, ImprovesAMediumSyntheticPointWithinMemory) {
  const trace::TraceShape shape{2048, 256, 4};
  config::SyntheticParams p;
  cost::MemorySystem m;
  m.kv_entry_bytes = 16384;
  m.weight_bytes_per_layer = 5e6;
  m.hbm_bw = 4900e9;
  m.link_read_bw = m.link_write_bw = 450e9;
  m.dram_bw = 500e9;
  m.capacity_entries = static_cast<std::uint64_t>(0.3 * shape.total_tokens() * shape.layers);
  auto source = trace::make_synthetic_source(p, shape, 3);
  oracle::OracleOptions o = small_budget(5);
  o.tempering.max_moves = 2'000'000;
  const oracle::WindowedResult r = oracle::anneal_windowed(*source, m, "sa_guided", {}, 64, o);
  EXPECT_EQ(r.windows, 4u);
  EXPECT_TRUE(r.improved);
  EXPECT_LT(r.totals.total_time_s, r.seed_time_s);
  EXPECT_GT(r.diagnostics.moves_accepted, 0u);
  // The window a memory budget allows grows with the budget and never exceeds D.
  EXPECT_LE(oracle::window_for_memory(shape, 8, 0.01), oracle::window_for_memory(shape, 8, 1.0));
  EXPECT_EQ(oracle::window_for_memory(shape, 8, 1000.0), shape.decode_tokens);
}

}  // namespace
}  // namespace kvsweep::testing
