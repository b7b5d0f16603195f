// kvsweep eval --misses: for every policy, lone and batched in blocks, the profile's reads are the
// judge's reads and its misses the judge's reads that were not hits; the profile does not change a
// result; the policies leave the (W, R) tuning's pass to run in one of their own.
#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

const char* kYaml = R"(
model: {name: tiny, layers: 3, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e5}
hardware: paper-table1
hbm_capacity_ratio: 0.3
prompt_tokens: 300
decode_tokens: 50
sparsity: 0.6
variation: high
batch_size: [1, 3]
kv_block_tokens: [1, 4]
policies: [unlimited_hbm, static, reactive_lru, page, streaming, h2o, lru_hot, ema, arc, history, bandit, belady, sa_guided, fm_tracking, oracle]
seed: 5
oracle: {moves: 1.0e4, sa_rounds: 2}
)";

TEST(MissProfileEval, ProfilesAddUpToTheJudgesCountsAndChangeNothing) {
  const auto points = sweep::load_sweep_text(kYaml, "misses.yaml").points;
  ASSERT_EQ(points.size(), 4U);
  for (const auto& point : points) {
    const PointResult plain = evaluate_point(point.spec);
    EvalOptions opt;
    opt.miss_profile = true;
    const PointResult profiled = evaluate_point(point.spec, opt);
    EXPECT_TRUE(plain.policies_in_tuning);
    EXPECT_FALSE(profiled.policies_in_tuning);
    ASSERT_EQ(plain.policies.size(), profiled.policies.size());
    std::size_t with_profile = 0;
    for (std::size_t i = 0; i < plain.policies.size(); ++i) {
      const PolicyResult& p = profiled.policies[i];
      EXPECT_EQ(plain.policies[i].metrics.total_time_s, p.metrics.total_time_s) << p.name << " at " << point.spec.source;
      if (p.name == "oracle") continue;  // annealed: no pass of the simulator
      ASSERT_TRUE(p.misses.has_value()) << p.name;
      ++with_profile;
      const auto& m = *p.misses;
      const std::uint64_t reads = std::accumulate(m.reads.begin(), m.reads.end(), std::uint64_t{0});
      const std::uint64_t misses = std::accumulate(m.misses.begin(), m.misses.end(), std::uint64_t{0});
      EXPECT_EQ(reads, p.metrics.reads) << p.name;
      EXPECT_EQ(misses, p.metrics.reads - p.metrics.hits) << p.name;
      for (std::size_t c = 0; c < m.reads.size(); ++c) EXPECT_LE(m.misses[c], m.reads[c]) << p.name << " class " << c;
    }
    EXPECT_EQ(with_profile, plain.policies.size() - 1);
  }
}

}  // namespace
}  // namespace kvsweep::eval
