// streaming, h2o and page over a batch and over blocks (issue 25, docs/policies-and-oracle.md "In a
// batch"): hand-worked cases pin each rule; random batches with every kind of knob keep the rules; and
// where a rule is per sequence, a batch of token-sized blocks is each sequence alone.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

using Positions = std::set<std::uint32_t>;
constexpr std::uint32_t kB1 = 64;  // sequence 1's base in these small batches

// A batch of the given prompts, D steps, L layers and blocks of k, with no reads yet and capacity C.
Instance batch(std::vector<std::uint32_t> prompts, std::uint32_t decode, std::uint32_t layers, std::uint32_t k,
               std::uint64_t capacity) {
  Instance in = random_batch_instance(1, static_cast<std::uint32_t>(prompts.size()), 1, decode, layers, k, 0.0);
  auto& sh = in.trace.shape;
  sh.prompt_tokens = prompts[0];
  sh.prompts = std::move(prompts);
  in.trace.tokens.assign(static_cast<std::size_t>(decode) * layers, {});
  in.memory.capacity_entries = capacity;
  EXPECT_EQ(sh.base(1), kB1);
  return in;
}

RecordedRun run(const std::string& policy, const Instance& in, const config::PolicyParams& params) {
  RecordedRun r = run_and_record(policy, in.trace, in.memory, params);
  const CheckResult check = check_schedule(in.trace, in.memory, r.schedule, true);
  EXPECT_TRUE(check.ok) << check.problem;
  return r;
}

// C = 14 over 2 sequences x 2 layers: 3 entries each, one more for the first 2 pairs in layer-major
// order, (l0, b0) and (l0, b1); one sink each, the rest window.
TEST(BatchStreaming, SharesLayerMajorSinksAndWindowPerSequence) {
  const Instance in = batch({6, 4}, 1, 2, 1, 14);
  const RecordedRun r = run("streaming", in, {.streaming_sinks = 1});
  // Prefill: sink 0 and the last 3 (l0) or 2 (l1) prompt tokens of each sequence.
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 3, 4, 5, kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
  EXPECT_EQ(r.schedule[0][1], (Positions{0, 4, 5, kB1, kB1 + 2, kB1 + 3}));
  // Step 6: each sequence keeps its new token (6; token 4 of sequence 1) and drops its window's oldest.
  EXPECT_EQ(r.schedule[1][0], (Positions{0, 4, 5, 6, kB1, kB1 + 2, kB1 + 3, kB1 + 4}));
  EXPECT_EQ(r.schedule[1][1], (Positions{0, 5, 6, kB1, kB1 + 3, kB1 + 4}));
}

// Blocks of 2, C = 13 over two sequences: shares 7 and 6 entries, 3 blocks each (the odd entry is not
// used); the sink block holds token 0 (streaming_sinks = 1 rounds up to a block), the window 2 blocks.
TEST(BatchStreaming, WholeBlocks) {
  const Instance in = batch({5, 3}, 3, 1, 2, 13);
  const RecordedRun r = run("streaming", in, {.streaming_sinks = 1});
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 1, 2, 3, 4, kB1, kB1 + 1, kB1 + 2}));
  // Step 5: tokens 5 and 3 join their resident blocks.
  EXPECT_EQ(r.schedule[1][0], (Positions{0, 1, 2, 3, 4, 5, kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
  // Step 6: sequence 0's token 6 starts block 3, block 1 leaves the window; sequence 1's token 4 starts
  // its block 2 and the block leaving its window is its sink block, which stays.
  EXPECT_EQ(r.schedule[2][0], (Positions{0, 1, 4, 5, 6, kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4}));
  EXPECT_EQ(r.schedule[3][0], (Positions{0, 1, 4, 5, 6, 7, kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4, kB1 + 5}));
}

// C = 8 over two sequences: 4 entries each, 2 recent and 2 heavy hitters, scored per sequence.
TEST(BatchH2o, RecentWindowAndHeavyHittersPerSequence) {
  Instance in = batch({6, 4}, 3, 1, 1, 8);
  in.trace.reads(6, 0) = {1, 4, kB1, kB1 + 2};
  in.trace.reads(7, 0) = {1, kB1 + 1};  // kB1 + 1 was evicted at step 6: no point, and it stays out
  in.trace.reads(8, 0) = {kB1 + 4};
  const RecordedRun r = run("h2o", in, {.h2o_recent_share = 0.5});
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 1, 4, 5, kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
  // Step 6: 4 (1 point) and kB1 + 2 (1 point) become candidates; the lowest-scored go: 0 and kB1 + 1.
  EXPECT_EQ(r.schedule[1][0], (Positions{1, 4, 5, 6, kB1, kB1 + 2, kB1 + 3, kB1 + 4}));
  EXPECT_EQ(r.schedule[2][0], (Positions{1, 4, 6, 7, kB1, kB1 + 2, kB1 + 4, kB1 + 5}));
  // Step 8: sequence 1's candidates kB1, kB1 + 2, kB1 + 4 tie at 1 point: the lowest token goes.
  EXPECT_EQ(r.schedule[3][0], (Positions{1, 4, 7, 8, kB1 + 2, kB1 + 4, kB1 + 5, kB1 + 6}));
}

// Blocks of 2, C = 17: shares 9 and 8 entries, 4 blocks each, 2 recent and 2 heavy; a block scores the
// sum of its tokens' points.
TEST(BatchH2o, WholeBlocksScoredBySum) {
  Instance in = batch({6, 3}, 3, 1, 2, 17);
  in.trace.reads(6, 0) = {0, 2, kB1};
  in.trace.reads(7, 0) = {1, 3, kB1 + 2};
  in.trace.reads(8, 0) = {0, 4, 5};
  const RecordedRun r = run("h2o", in, {.h2o_recent_share = 0.5});
  // Prefill: sequence 0 keeps heavy block 0 and window blocks 1, 2; sequence 1 its two window blocks.
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 1, 2, 3, 4, 5, kB1, kB1 + 1, kB1 + 2}));
  // Step 6: block 1 (1 point) leaves sequence 0's window, a second heavy hitter: nothing is evicted.
  EXPECT_EQ(r.schedule[1][0], (Positions{0, 1, 2, 3, 4, 5, 6, kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
  EXPECT_EQ(r.schedule[2][0], (Positions{0, 1, 2, 3, 4, 5, 6, 7, kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4}));
  // Step 8: block 2 (tokens 4 and 5 read: 2 points) leaves the window; blocks 0 (3 points), 1 (2), 2 (2):
  // blocks 1 and 2 tie and the lower goes.
  EXPECT_EQ(r.schedule[3][0], (Positions{0, 1, 4, 5, 6, 7, 8, kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4, kB1 + 5}));
}

// Pages of 2 tokens numbered sequence by sequence: sequence 0's pages 0-3, sequence 1's 4-6; C = 4.
TEST(BatchPage, SharedBudgetAcrossTheBatch) {
  Instance in = batch({4, 3}, 3, 1, 1, 4);
  in.trace.reads(4, 0) = {0, 2, kB1, kB1 + 1};
  in.trace.reads(5, 0) = {kB1 + 2};
  in.trace.reads(6, 0) = {4, kB1 + 4};
  const RecordedRun r = run("page", in, {.page_tokens = 2});
  // Prefill for S(4): page 4 (2 points), then pages 0 and 1 tie at 1: the lower fits.
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 1, kB1, kB1 + 1}));
  // Step 4 for S(5): page 5 (1 point), then the resident zero-score pages by descending (sequence, page):
  // page 4 fits, page 0 does not.
  EXPECT_EQ(r.schedule[1][0], (Positions{kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
  // Step 5 for S(6): pages 2 (tokens 4, 5) and 6 (token 4 of sequence 1) tie at 1: both fit, 3 entries.
  EXPECT_EQ(r.schedule[2][0], (Positions{4, 5, kB1 + 4}));
  // Last step: sequence 0's token 6 starts page 3, not resident; sequence 1's token 5 joins its page.
  EXPECT_EQ(r.schedule[3][0], (Positions{4, 5, kB1 + 4, kB1 + 5}));
}

// page_tokens 3 with blocks of 2: pages of 4 tokens; a page costs 2 entries per block it has a token
// of. C = 5.
TEST(BatchPage, PagesOfWholeBlocks) {
  Instance in = batch({4, 2}, 2, 1, 2, 5);
  in.trace.reads(4, 0) = {0, kB1};
  in.trace.reads(5, 0) = {4, kB1 + 1, kB1 + 2};
  const RecordedRun r = run("page", in, {.page_tokens = 3});
  // Prefill: pages 0 (tokens 0-3, 4 entries) and 2 (sequence 1's tokens 0-1, 2 entries) tie: only the
  // first fits.
  EXPECT_EQ(r.schedule[0][0], (Positions{0, 1, 2, 3}));
  // Step 4 for S(5): page 2 (2 points; 3 tokens in 2 blocks, 4 entries), then page 1 (token 4 alone,
  // 2 entries), which no longer fits.
  EXPECT_EQ(r.schedule[1][0], (Positions{kB1, kB1 + 1, kB1 + 2}));
  // Last step: sequence 1's token 3 joins its resident block at no cost.
  EXPECT_EQ(r.schedule[2][0], (Positions{kB1, kB1 + 1, kB1 + 2, kB1 + 3}));
}

// A page longer than every sequence is one page per sequence, however much longer one is than P_0 + D.
TEST(BatchPage, AHugePageHoldsAWholeSequence) {
  Instance in = batch({2, 6}, 1, 1, 1, 7);
  in.trace.reads(2, 0) = {kB1 + 5};
  const RecordedRun r = run("page", in, {.page_tokens = 1000});
  EXPECT_EQ(r.schedule[0][0], (Positions{kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4, kB1 + 5}));
  EXPECT_EQ(r.schedule[1][0], (Positions{kB1, kB1 + 1, kB1 + 2, kB1 + 3, kB1 + 4, kB1 + 5, kB1 + 6}));
}

// Random batches, blocks up to 128 tokens, pages that do and do not tile a word, every knob from 0 to
// past the budget: schedules keep the rules and the judge equals the checker.
TEST(BatchWindowPolicies, KeepTheRulesWithEveryKnob) {
  const std::uint32_t pages[] = {1, 3, 16, 24, 64, 100, 1000};
  const std::uint32_t sinks[] = {0, 1, 4, 9, 1000};
  const double recent[] = {0.0, 0.3, 0.5, 1.0};
  const std::uint32_t blocks[] = {1, 2, 4, 8, 16, 128};
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const std::uint32_t batch_size = 1 + static_cast<std::uint32_t>(seed % 4);
    const std::uint32_t k = blocks[seed % 6];
    const Instance in = random_batch_instance(seed, batch_size, 50, 14, 1 + static_cast<std::uint32_t>(seed % 3), k,
                                              seed % 2 == 0 ? 2048.0 : 0.0, kReadModes[seed % 3]);
    const config::PolicyParams params{.page_tokens = pages[seed % 7],
                                      .streaming_sinks = sinks[seed % 5],
                                      .h2o_recent_share = recent[seed % 4]};
    for (const std::string name : {"streaming", "h2o", "page"}) {
      const RecordedRun r = run_and_record(name, in.trace, in.memory, params);
      const CheckResult want = check_schedule(in.trace, in.memory, r.schedule, true);
      ASSERT_TRUE(want.ok) << name << " seed " << seed << ": " << want.problem;
      EXPECT_NEAR(r.judged_time_s, want.total_time_s, 1e-12 * want.total_time_s) << name << " seed " << seed;
    }
  }
}

// streaming and h2o decide each sequence on its own share: with k = 1 and C a multiple of B·L, sequence
// b of the batch is placed exactly as b alone with C / B (the lone-sequence code).
TEST(BatchWindowPolicies, EachSequenceAsIfAlone) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    core::Rng rng(core::derive_seed({seed, 0xa1}));
    const std::uint32_t batch_size = 2 + static_cast<std::uint32_t>(seed % 2), layers = 1 + static_cast<std::uint32_t>(seed % 3);
    Instance in = random_batch_instance(seed, batch_size, 30, 10, layers, 1, 0.0);
    const auto& sh = in.trace.shape;
    const std::uint64_t share = rng.below(sh.prompt(0) + sh.decode_tokens + 2);
    in.memory.capacity_entries = share * batch_size * layers;
    const config::PolicyParams params{.streaming_sinks = static_cast<std::uint32_t>(rng.below(6)),
                                      .h2o_recent_share = rng.uniform()};
    for (const std::string name : {"streaming", "h2o"}) {
      const RecordedRun together = run_and_record(name, in.trace, in.memory, params);
      for (std::uint32_t b = 0; b < batch_size; ++b) {
        // Sequence b alone: its own reads, shifted to its own positions.
        trace::ExplicitTrace alone;
        alone.shape.prompt_tokens = sh.prompt(b);
        alone.shape.decode_tokens = sh.decode_tokens;
        alone.shape.layers = layers;
        const std::uint32_t from = static_cast<std::uint32_t>(sh.base(b));
        const std::uint32_t to = from + sh.prompt(b) + sh.decode_tokens;
        for (std::uint32_t i = 0; i < sh.decode_tokens; ++i) {
          for (std::uint32_t l = 0; l < layers; ++l) {
            std::vector<std::uint32_t> reads;
            for (const std::uint32_t p : in.trace.reads(sh.prompt_tokens + i, l)) {
              if (p >= from && p < to) reads.push_back(p - from);
            }
            alone.tokens.push_back(std::move(reads));
          }
        }
        cost::MemorySystem m = in.memory;
        m.writes_per_step = 1;
        m.capacity_entries = share * layers;
        const RecordedRun single = run_and_record(name, alone, m, params);
        ASSERT_EQ(single.schedule.size(), together.schedule.size());
        for (std::size_t i = 0; i < single.schedule.size(); ++i) {
          for (std::uint32_t l = 0; l < layers; ++l) {
            Positions mine;
            for (const std::uint32_t p : together.schedule[i][l]) {
              if (p >= from && p < to) mine.insert(p - from);
            }
            EXPECT_EQ(mine, single.schedule[i][l]) << name << " seed " << seed << " sequence " << b << " state " << i
                                                   << " layer " << l;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kvsweep::testing
