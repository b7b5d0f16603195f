// The memory estimate of a point (sweep/memory.hpp): the oracle's part follows the oracle's own
// formulas (whole, or the windows oracle.max_memory_gb holds), the estimate grows with the point and
// shrinks with the budgets, and check_memory refuses exactly the points above the limit, at their
// source.
#include "kvsweep/sweep/memory.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "sweep_test_util.hpp"

namespace kvsweep::sweep {
namespace {

config::PointSpec point_of(const std::string& extra) {
  return load_sweep_text(test::kBase + extra, "m.yaml").points.at(0).spec;
}

TEST(MemoryEstimate, OracleFollowsItsOwnFormulas) {
  // Whole: reads, every replica, the best and the seed, and the per-step tables.
  const config::PointSpec p = point_of("policies: [static, oracle]\noracle: {replicas: 4, lagrangian_passes: 0}\n");
  const trace::TraceShape shape{1000, 100, 32};
  const double whole = oracle::oracle_memory_bytes(shape, 4);
  const double seed_copy = 1100.0 * 32 * std::ceil(101 / 64.0) * 8;
  const MemoryEstimate m = estimate_memory(p, 2);
  EXPECT_GE(m.oracle, whole + seed_copy);
  EXPECT_LE(m.oracle, (whole + seed_copy) * 1.2);
  EXPECT_STREQ(m.largest, "oracle");
  EXPECT_DOUBLE_EQ(m.peak, m.process + m.oracle);

  // In windows: as many words of 64 states as oracle.max_memory_gb holds, as the oracle sizes them.
  config::PointSpec big = point_of("policies: [static, oracle]\noracle: {replicas: 4, lagrangian_passes: 0, max_memory_gb: 0.2}\n");
  big.prompt_tokens = 20000;
  big.decode_tokens = 4000;
  const trace::TraceShape big_shape{20000, 4000, 32};
  const std::uint32_t window = oracle::window_for_memory(big_shape, 4, 0.2);
  const double entries = 24000.0 * 32;
  const double per_word = entries * 8 * 7 + 16 * entries;
  const MemoryEstimate w = estimate_memory(big, 2);
  ASSERT_EQ(window, 3 * 64 - 1);  // 3 words of 64 states: 166 MB of 200
  const double seed_pass = (64 + 20) * 32 * std::ceil(24000 / 64.0) * 8;  // the seed policy: no look-ahead
  EXPECT_NEAR(w.oracle - seed_pass, (window + 1) / 64 * per_word, 1.0);
  EXPECT_LT(w.oracle, oracle::oracle_memory_bytes(big_shape, 4) / 10);
}

TEST(MemoryEstimate, ABatchTooLargeToHoldWholeKeepsItsSeed) {
  // A batch anneals (block, layer) units over its token space, as the oracle sizes them; one that does
  // not fit oracle.max_memory_gb is not annealed (no windows over a batch): only the seed's pass.
  const auto batch = [](const std::string& oracle) {
    config::PointSpec p = point_of("batch_size: 4\nkv_block_tokens: 16\npolicies: [static, oracle]\noracle: " + oracle + "\n");
    p.decode_tokens = 4000;
    return p;
  };
  const MemoryEstimate whole = estimate_memory(batch("{replicas: 4, lagrangian_passes: 0}"), 2);
  trace::TraceShape shape{1000, 4000, 32, {1000, 1000, 1000, 1000}, 16};
  EXPECT_GE(whole.oracle, oracle::oracle_memory_bytes(shape, 4));
  EXPECT_LE(whole.oracle, oracle::oracle_memory_bytes(shape, 4) * 1.5);

  const MemoryEstimate seed = estimate_memory(batch("{replicas: 4, lagrangian_passes: 0, max_memory_gb: 0.001}"), 2);
  EXPECT_LT(seed.oracle, oracle::oracle_memory_bytes(shape, 4) / 10);
  EXPECT_GT(seed.oracle, 0.0);
}

TEST(MemoryEstimate, GrowsWithThePointAndKeepsToItsBudgets) {
  const MemoryEstimate small = estimate_memory(point_of(""), 2);
  config::PointSpec longer = point_of("");
  longer.prompt_tokens *= 4;
  EXPECT_GT(estimate_memory(longer, 2).peak, small.peak);
  // The Lagrangian's reads count only when oracle.max_memory_gb holds them (else it is not computed).
  config::PointSpec tight = point_of("oracle: {max_memory_gb: 0.0001}\n");
  EXPECT_GT(small.bound, 0);
  EXPECT_EQ(estimate_memory(tight, 2).bound, 0);
  // A page of all the sequence is the sequence's size, however long page_tokens is.
  const double page = estimate_memory(point_of("policies: [page]\npolicy_params: {page_tokens: 1100}\n"), 2).policies;
  EXPECT_DOUBLE_EQ(estimate_memory(point_of("policies: [page]\npolicy_params: {page_tokens: 16777216}\n"), 2).policies,
                   page);
}

TEST(CheckMemory, RefusesThePointsAboveTheLimitAtTheirSource) {
  const Sweep s = load_sweep_text(
      "model: llama-3.1-8b\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\ndecode_tokens: 100\n"
      "prompt_tokens: [1000, 200000]\npolicies: [static, oracle]\n",
      "m.yaml");
  ASSERT_EQ(s.points.size(), 2U);
  const double between = 0.5 * (s.points[0].memory_bytes + s.points[1].memory_bytes);
  ASSERT_LT(s.points[0].memory_bytes, s.points[1].memory_bytes);
  EXPECT_NO_THROW(check_memory(s, {s.points[1].memory_bytes * 1.01, "a limit"}));
  try {
    check_memory(s, {between, "--max-memory-gb 1"});
    FAIL() << "accepted";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1U);
    EXPECT_EQ(e.diagnostics()[0].where, "m.yaml#1");
    EXPECT_NE(e.diagnostics()[0].message.find("point " + s.points[1].id + " needs an estimated " +
                                              gb_text(s.points[1].memory_bytes)),
              std::string::npos)
        << e.diagnostics()[0].message;
    EXPECT_NE(e.diagnostics()[0].message.find("more than --max-memory-gb 1;"), std::string::npos);
  }
  EXPECT_GT(physical_memory_bytes(), 1e8);
}

}  // namespace
}  // namespace kvsweep::sweep
