// Issue 27 item 4: no policy may crash, or break capacity, on any input that validates. Every policy
// runs over a grid of tiny edge cases — P = 1, D = 1, L = 1, contexts across a 64-token word, steps
// that read nothing or every past token, capacities 0, 1, one step's worth, exactly the footprint and
// above it, knobs at the ends of their ranges (page_tokens larger than the context, look-aheads longer
// than the decode) — and its schedule must pass the independent checker (capacity after every step, no
// future token resident, the judged cost equal to the replay). The oracle's annealer, seeded from each
// baseline, must keep within capacity too.
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

const std::vector<std::string> kPolicies = {"unlimited_hbm", "static",  "reactive_lru", "page",    "streaming",
                                            "h2o",           "lru_hot", "ema",          "arc",     "history",
                                            "bandit",        "belady",  "sa_guided",    "fm_tracking", "fm_dual"};

// Which past tokens a (step, layer) reads.
enum class Reads { kNothing, kEverything, kNewest, kFirst, kAlternating, kNothingThenEverything };
const Reads kAllReads[] = {Reads::kNothing, Reads::kEverything,  Reads::kNewest,
                           Reads::kFirst,   Reads::kAlternating, Reads::kNothingThenEverything};

trace::ExplicitTrace make_trace(const trace::TraceShape& shape, Reads reads) {
  trace::ExplicitTrace t;
  t.shape = shape;
  t.tokens.resize(static_cast<std::size_t>(shape.decode_tokens) * shape.layers);
  for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) {
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      auto& row = t.reads(n, l);
      const bool odd_step = (n - shape.prompt_tokens) % 2 == 1;
      for (std::uint32_t tok = 0; tok < n; ++tok) {
        bool read = false;
        switch (reads) {
          case Reads::kNothing:
            read = false;
            break;
          case Reads::kEverything:
            read = true;
            break;
          case Reads::kNewest:
            read = tok + 1 == n;
            break;
          case Reads::kFirst:
            read = tok == 0;
            break;
          case Reads::kAlternating:
            read = (tok + n + l) % 2 == 0;
            break;
          case Reads::kNothingThenEverything:
            read = odd_step;
            break;
        }
        if (read) row.push_back(tok);
      }
    }
  }
  return t;
}

cost::MemorySystem memory(std::uint64_t capacity, ReadMode mode, bool with_weights) {
  cost::MemorySystem m;
  m.kv_entry_bytes = 4096;
  m.weight_bytes_per_layer = with_weights ? 3.0 * 4096 : 0;
  m.hbm_bw = 3.4e12;
  m.link_read_bw = 375e9;
  m.link_write_bw = 297e9;
  m.dram_bw = 486e9;
  m.capacity_entries = capacity;
  mode.apply(m);
  return m;
}

// Knobs at the ends of their allowed ranges (docs/yaml-reference.md), odd ones, and the defaults.
std::vector<config::PolicyParams> edge_params() {
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  return {
      {},
      {.page_tokens = 1,
       .streaming_sinks = 0,
       .h2o_recent_share = 0,
       .belady_lookahead = 1,
       .sa_window = 1,
       .sa_fraction = 1e-9,
       .fm_lookahead = 1},
      {.page_tokens = kMax,
       .streaming_sinks = kMax,
       .h2o_recent_share = 1,
       .belady_lookahead = 4096,
       .sa_window = 4096,
       .sa_fraction = 1,
       .fm_lookahead = 4096},
      // pages of one and of two 64-token words, windows on the class and the sort paths of sa_guided
      {.page_tokens = 64, .streaming_sinks = 1, .belady_lookahead = 3, .sa_window = 13, .fm_lookahead = 2},
      {.page_tokens = 128, .streaming_sinks = 1, .belady_lookahead = 3, .sa_window = 22, .fm_lookahead = 2},
  };
}

struct EdgeCase {
  trace::ExplicitTrace trace;
  cost::MemorySystem memory;
  config::PolicyParams params;
  std::string label;
};

std::vector<EdgeCase> edge_cases() {
  const std::vector<trace::TraceShape> shapes = {
      {1, 1, 1},  {1, 1, 3},  {1, 2, 1}, {2, 1, 1},
      {1, 6, 2},  {3, 1, 2},  {5, 4, 3}, {1, 70, 1},  // the context crosses a 64-token word during the decode
      {63, 3, 2},                                     // ... at the first decode step
      {64, 1, 1}, {130, 2, 2}};
  const auto params = edge_params();
  std::vector<EdgeCase> out;
  std::size_t k = 0;
  for (const auto& shape : shapes) {
    const std::uint64_t footprint = std::uint64_t{shape.total_tokens()} * shape.layers;
    const std::uint64_t capacities[] = {
        0, 1, shape.layers, footprint - 1, footprint, footprint + 7, std::uint64_t{1} << 53};
    for (const Reads reads : kAllReads) {
      for (const std::uint64_t capacity : capacities) {
        for (const auto mode : kReadModes) {
          const config::PolicyParams& p = params[k % params.size()];
          EdgeCase c{make_trace(shape, reads), memory(capacity, mode, k % 3 != 0), p, ""};
          c.label = "P=" + std::to_string(shape.prompt_tokens) + " D=" + std::to_string(shape.decode_tokens) +
                    " L=" + std::to_string(shape.layers) +
                    " reads=" + std::to_string(static_cast<int>(reads)) + " C=" + std::to_string(capacity) +
                    " mode=" + mode_name(mode) + " params#" +
                    std::to_string(k % params.size());
          out.push_back(std::move(c));
          ++k;
        }
      }
    }
  }
  return out;
}

class EdgeCases : public ::testing::TestWithParam<std::string> {};

TEST_P(EdgeCases, EveryScheduleCompletesAndPassesTheChecker) {
  for (const EdgeCase& c : edge_cases()) {
    const RecordedRun run = run_and_record(GetParam(), c.trace, c.memory, c.params);
    ASSERT_EQ(run.schedule.size(), std::size_t{c.trace.shape.decode_tokens} + 1)
        << GetParam() << " " << c.label;
    const CheckResult check = check_schedule(c.trace, c.memory, run.schedule, run.respects_capacity);
    ASSERT_TRUE(check.ok) << GetParam() << " " << c.label << ": " << check.problem;
    ASSERT_NEAR(check.total_time_s, run.judged_time_s, 1e-9 * check.total_time_s)
        << GetParam() << " " << c.label;
    ASSERT_EQ(check.hits, run.judged_hits) << GetParam() << " " << c.label;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, EdgeCases, ::testing::ValuesIn(kPolicies),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

// A trace without a prompt (or without steps or layers) cannot be simulated: the readers refuse one
// (tests/e2e/trace_refusals.sh), and the simulator says so too instead of letting `page` index R(P - 1)
// at P - 1 = 2^32 - 1 (a segfault before issue 27).
TEST(EdgeCasesSimulator, RefusesAShapeWithoutPromptStepsOrLayers) {
  for (const trace::TraceShape& shape :
       {trace::TraceShape{0, 2, 2}, trace::TraceShape{2, 0, 2}, trace::TraceShape{2, 2, 0}}) {
    const trace::ExplicitTrace t = make_trace(shape, Reads::kEverything);
    const cost::MemorySystem m = memory(4, config::HbmReads::kBalanced, true);
    std::vector<std::unique_ptr<policy::Policy>> policies;
    for (const auto& name : kPolicies) {
      if (name != "fm_dual") policies.push_back(policy::make_policy(name, {shape, m, {}}));
    }
    auto source = trace::make_explicit_source(t);
    EXPECT_THROW(sim::simulate(*source, m, policies), std::invalid_argument)
        << shape.prompt_tokens << " " << shape.decode_tokens << " " << shape.layers;
  }
}

// The annealer moves entries in and out of the seed schedule: it must stay within capacity on the same
// edge cases (every fourth, with a short budget).
TEST(EdgeCasesOracle, AnnealedSchedulesPassTheChecker) {
  const auto cases = edge_cases();
  for (std::size_t i = 0; i < cases.size(); i += 4) {
    const EdgeCase& c = cases[i];
    const oracle::OracleInstance inst(c.trace, c.memory);
    auto source = trace::make_explicit_source(c.trace);
    const oracle::ScheduleState seed = oracle::record_schedule(inst, "static", c.params, *source);
    const oracle::ScheduleProblem problem(inst);
    oracle::TemperingOptions o;
    o.replicas = 2;
    o.moves_per_round = 200;
    o.max_moves = 4000;
    o.patience_rounds = 5;
    o.seed = i + 1;
    o.parallel = false;
    auto result = oracle::temper(problem, seed, o);
    const CheckResult check = check_schedule(c.trace, c.memory, schedule_of(result.best, inst), true);
    ASSERT_TRUE(check.ok) << c.label << ": " << check.problem;
    EXPECT_LE(result.best.exact_total(), seed.exact_total() * (1 + 1e-12)) << c.label;
  }
}

}  // namespace
}  // namespace kvsweep::testing
