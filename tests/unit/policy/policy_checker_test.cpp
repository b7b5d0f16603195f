// Every policy's schedule must pass the independent checker: capacity holds after every step, no future
// token is resident, and the engine's judged cost equals the token-by-token replay.
#include <gtest/gtest.h>

#include <cmath>

#include "kvsweep/config/point.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

const std::vector<std::string> kPolicies = {"unlimited_hbm", "static",  "reactive_lru", "page",    "streaming",
                                            "h2o",           "lru_hot", "ema",          "arc",     "history",
                                            "bandit",        "belady",  "sa_guided",    "fm_tracking", "fm_dual"};

config::PolicyParams small_params(std::uint64_t seed) {
  config::PolicyParams p;
  p.page_tokens = 1 + static_cast<std::uint32_t>(seed % 4);
  p.streaming_sinks = static_cast<std::uint32_t>(seed % 3);
  p.belady_lookahead = 1 + static_cast<std::uint32_t>(seed % 5);
  p.fm_lookahead = 1 + static_cast<std::uint32_t>(seed % 6);
  p.sa_window = seed % 5 == 4 ? (seed % 2 == 0 ? 13 : 22) : 1 + static_cast<std::uint32_t>(seed % 4);  // 13, 22: class and sort paths
  p.sa_fraction = 0.25 + 0.25 * static_cast<double>(seed % 4);
  p.ema_decay = 0.3 + 0.2 * static_cast<double>(seed % 4);
  p.ema_admit = static_cast<double>(seed % 3);           // 0, 1: every read block; 2: a second read
  p.ema_prefetch = seed % 4 == 0 ? 0.0 : 0.5 + static_cast<double>(seed % 3);
  return p;
}

class EveryPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPolicy, SchedulesPassTheIndependentChecker) {
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    // Both read modes, alternating by seed.
    const Instance in = random_instance(seed, 3, 40, kReadModes[seed % 3]);
    const RecordedRun run = run_and_record(GetParam(), in.trace, in.memory, small_params(seed));
    const CheckResult check = check_schedule(in.trace, in.memory, run.schedule, run.respects_capacity);
    ASSERT_TRUE(check.ok) << GetParam() << " seed " << seed << ": " << check.problem;
    ASSERT_NEAR(check.total_time_s, run.judged_time_s, 1e-9 * check.total_time_s)
        << GetParam() << " seed " << seed;
    ASSERT_EQ(check.hits, run.judged_hits) << GetParam() << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, EveryPolicy, ::testing::ValuesIn(kPolicies),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

TEST(Policies, NamesMatchTheConfigList) {
  std::vector<std::string> with_oracle = kPolicies;
  with_oracle.push_back("oracle");
  with_oracle.push_back("exact");
  EXPECT_EQ(config::known_policy_names(), with_oracle);
}

// Hand-checked behaviour on a trace where the right answer is obvious.
TEST(Policies, StaticKeepsThePrefixAndReactivePromotesMisses) {
  trace::ExplicitTrace t;
  t.shape = {4, 3, 1};
  t.tokens = {{3}, {3}, {3}};  // token 3 read at steps 4, 5, 6
  cost::MemorySystem m;
  m.kv_entry_bytes = 1;
  m.weight_bytes_per_layer = 0;
  m.hbm_bw = 100;
  m.link_read_bw = m.link_write_bw = m.dram_bw = 1;
  m.capacity_entries = 2;
  const RecordedRun st = run_and_record("static", t, m);
  EXPECT_EQ(st.schedule[0][0], (std::set<std::uint32_t>{0, 1}));
  EXPECT_EQ(st.schedule.back()[0], (std::set<std::uint32_t>{0, 1}));
  EXPECT_EQ(st.judged_hits, 0u);
  const RecordedRun lru = run_and_record("reactive_lru", t, m);
  // Step 4: promote 3 and keep 4, evicting 0 and 1; steps 5 and 6 then hit on 3.
  EXPECT_EQ(lru.schedule[1][0], (std::set<std::uint32_t>{3, 4}));
  EXPECT_EQ(lru.judged_hits, 2u);
  const RecordedRun bel = run_and_record("belady", t, m);
  EXPECT_EQ(bel.judged_hits, 2u);
}

}  // namespace
}  // namespace kvsweep::testing
