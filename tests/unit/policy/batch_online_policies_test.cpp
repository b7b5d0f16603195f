// fm_tracking, fm_dual and sa_guided over a batch and over blocks (issue 25, docs/policies-and-oracle.md
// "In a batch"): hand-worked cases (B = 2, k = 1 and 2) pin each rule: which positions are resident after
// prefill and after each step; sa_guided equals a reference written from its rules (a map of resident
// blocks per layer) over random batches; its (W, R) tuning runs over a batch of blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/oracle/sa_tuning.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

using Positions = std::set<std::uint32_t>;
constexpr std::uint32_t kB1 = 64;  // sequence 1's base in these small batches

// Two sequences of the given prompts, D steps, one layer, blocks of k, capacity C; S(P + i) = reads[i].
// Every read served from HBM saves time and HBM is never the bottleneck (no weights, fast HBM and
// write link), so free_migration's allocation wants every reachable hit; resident reads, so that
// fm_tracking keeps no block read at the next step beyond its target.
Instance batch(std::vector<std::uint32_t> prompts, std::uint32_t k, std::uint64_t capacity,
               std::vector<std::vector<std::uint32_t>> reads) {
  const auto decode = static_cast<std::uint32_t>(reads.size());
  Instance in = random_batch_instance(1, 2, 1, decode, 1, k, 0.0, config::HbmReads::kResident);
  auto& sh = in.trace.shape;
  sh.prompt_tokens = prompts[0];
  sh.prompts = std::move(prompts);
  in.trace.tokens = std::move(reads);
  in.memory.capacity_entries = capacity;
  in.memory.weight_bytes_per_layer = 0;
  in.memory.hbm_bw = in.memory.link_write_bw = 1e15;
  in.memory.link_read_bw = in.memory.dram_bw = 1e9;
  EXPECT_EQ(sh.base(1), kB1);
  return in;
}

Schedule run(const std::string& policy, const Instance& in, const config::PolicyParams& params = {},
             const policy::ResidencyPlan* plan = nullptr) {
  RecordedRun r = run_and_record(policy, in.trace, in.memory, params, plan);
  const CheckResult check = check_schedule(in.trace, in.memory, r.schedule, true);
  EXPECT_TRUE(check.ok) << check.problem;
  return r.schedule;
}

// Prompts {3, 2}: sequence 0 at 0..2 and new tokens 3, 4; sequence 1 at 64, 65 and new 66, 67. C = 3.
// Prefill is step "2" over every prompt token: step 3 reads {0, 64}: both held (target 2), and the
// capacity left keeps the held token read soonest: 1, 2 and 65 are all read at 4, lowest position 1.
// Step 3 serves step 4's reads {1, 2, 3, 65, 66}; reachable: held 1, then the new tokens 3 and 66 (new
// entries, each a block of its own): target 3. Step 4, the last, keeps R(3).
TEST(BatchFmTracking, TokensHeldFirstThenNewEntriesAcrossSequences) {
  const Instance in = batch({3, 2}, 1, 3, {{0, kB1}, {1, 2, 3, kB1 + 1, kB1 + 2}});
  const Schedule s = run("fm_tracking", in);
  EXPECT_EQ(s[0][0], (Positions{0, 1, kB1}));
  EXPECT_EQ(s[1][0], (Positions{1, 3, kB1 + 2}));
  EXPECT_EQ(s[2][0], s[1][0]);
}

// fm_dual with a plan over the batch's token space: state 0 (R(2)) plans 65, which the capacity left
// keeps before the soonest-read held token; then 1 as before. C = 4.
TEST(BatchFmDual, FollowsABatchedPlan) {
  const Instance in = batch({3, 2}, 1, 4, {{0, kB1}, {1, 2, 3, kB1 + 1, kB1 + 2}});
  std::vector<core::Word> bits(2 * 3, 0);  // 2 states x 3 words (positions 0..130)
  bits[1] = core::Word{1} << 1;            // state 0: position 65
  const policy::ResidencyPlan plan{bits.data(), 1, 2, 3};
  EXPECT_EQ(run("fm_tracking", in)[0][0], (Positions{0, 1, 2, kB1}));
  EXPECT_EQ(run("fm_dual", in, {}, &plan)[0][0], (Positions{0, 1, kB1, kB1 + 1}));
}

// Blocks of 2, C = 6 (3 blocks): sequence 0's blocks [0, 1] [2, 3] [4, 5], sequence 1's [64, 65] [66, 67].
// Prefill: step 3 reads blocks [0, 1] and [64, 65] (2 hits, 2 blocks: a hit takes 2 entries; C allows
// 3 hits, the reads cap them at 2): target 2 blocks; the block left, [2], is read at 4: kept.
// Step 3 (token 3 joins [2, 3], 66 starts [66, 67]): step 4 reads 1, 2, 3, 66, i.e. held blocks [0, 1] and
// [2, 3] and the new block [66, 67]: 3 blocks for 4 hits, 1.5 entries a hit, C buys all 4 hits, target 3
// blocks: the held ones first, then the new block; [64, 65] is dropped. Step 4, the last: 67 joins its
// resident block, 4 starts a block that is not brought in.
TEST(BatchFmTracking, WholeBlocksTargetsInBlocks) {
  const Instance in = batch({3, 2}, 2, 6, {{0, kB1}, {1, 2, 3, kB1 + 2}});
  const Schedule s = run("fm_tracking", in);
  EXPECT_EQ(s[0][0], (Positions{0, 1, 2, kB1, kB1 + 1}));
  EXPECT_EQ(s[1][0], (Positions{0, 1, 2, 3, kB1 + 2}));
  EXPECT_EQ(s[2][0], (Positions{0, 1, 2, 3, kB1 + 2, kB1 + 3}));
}

// Blocks of 2 with C = 4: the capacity binds. Prefill as above but only 2 blocks fit: [0, 1] and
// [64, 65]. Step 3: reachable blocks read at 4: [0, 1] (held) and [66, 67] (new), 2 hits; [2, 3] is read
// at 4 but neither held nor read at 3, so it is out of reach (never prefetched): target 2 blocks.
TEST(BatchFmTracking, NeverPrefetchesABlock) {
  const Instance in = batch({3, 2}, 2, 4, {{0, kB1}, {1, 2, 3, kB1 + 2}});
  const Schedule s = run("fm_tracking", in);
  EXPECT_EQ(s[0][0], (Positions{0, 1, kB1, kB1 + 1}));
  EXPECT_EQ(s[1][0], (Positions{0, 1, kB1 + 2}));
}

// sa_guided, tokens, C = 3, W = 2, R = 0.5. Prefill: static's order 0, 64, 1. Step 3 (window S(4) ∪ S(5)
// = {0, 2, 65, 66}): 1 and 64 leave; candidates 2 (read at 4: score 1) and 65 (at 5: 1/2); ceil(0.5 x
// 2) = 1 promoted: 2; the new tokens in sequence order while room: 3 yes, 66 no. Step 4 (window S(5)
// = {0, 65}): 2 and 3 leave, no candidate; both new tokens fit: 4 and 67. Step 5 (no window): all leave,
// both new tokens are kept.
TEST(BatchSaGuided, TokensOneBudgetAcrossSequences) {
  const Instance in = batch({3, 2}, 1, 3, {{1, 2, kB1 + 1}, {2, kB1 + 2}, {0, kB1 + 1}});
  const Schedule s = run("sa_guided", in, {.sa_window = 2, .sa_fraction = 0.5});
  EXPECT_EQ(s[0][0], (Positions{0, 1, kB1}));
  EXPECT_EQ(s[1][0], (Positions{0, 2, 3}));
  EXPECT_EQ(s[2][0], (Positions{0, 4, kB1 + 3}));
  EXPECT_EQ(s[3][0], (Positions{5, kB1 + 4}));
}

// sa_guided, blocks of 2, prompts {4, 4}, C = 4 (2 blocks), W = 1, R = 0.5. Prefill: [0, 1], [64, 65].
// Step 4 (window S(5) = {0, 3, 66}: blocks [0, 1], [2, 3], [66, 67]): [64, 65] leaves; candidates [2, 3]
// (read by 2) and [66, 67] (by 67), both read at 5 (a block's pattern is the union of its tokens'):
// tied, one promoted, the lowest position: [2, 3]; the new tokens 4 and 68 start blocks: no room. Step 5
// (no window): all leave; 5 and 69 fall in blocks that are not resident: never brought in to write them.
TEST(BatchSaGuided, WholeBlocksTiesLowestPosition) {
  const Instance in = batch({4, 4}, 2, 4, {{2, kB1 + 3}, {0, 3, kB1 + 2}});
  const Schedule s = run("sa_guided", in, {.sa_window = 1, .sa_fraction = 0.5});
  EXPECT_EQ(s[0][0], (Positions{0, 1, kB1, kB1 + 1}));
  EXPECT_EQ(s[1][0], (Positions{0, 1, 2, 3}));
  EXPECT_EQ(s[2][0], (Positions{}));
}

// Blocks as long as a word or longer (one bit per word, or one per group of words) and the policies'
// knobs: every schedule keeps the rules (whole blocks of existing tokens, C counted in blocks) and the
// judge equals the checker.
TEST(BatchOnlinePolicies, KeepTheRulesWithLongBlocksAndEveryKnob) {
  for (const std::string name : {"fm_tracking", "fm_dual", "sa_guided"}) {
    for (std::uint64_t seed = 1; seed <= 24; ++seed) {
      const std::uint32_t k = std::array<std::uint32_t, 3>{32, 64, 128}[seed % 3];
      const Instance in = random_batch_instance(seed, 2 + static_cast<std::uint32_t>(seed % 3), 3 * k, 8, 2, k,
                                                seed % 2 == 0 ? 4096.0 : 0.0, kReadModes[seed % 3]);
      config::PolicyParams params;
      params.fm_lookahead = 1 + static_cast<std::uint32_t>(seed % 5);
      params.sa_window = 1 + static_cast<std::uint32_t>(seed % 4);
      const RecordedRun r = run_and_record(name, in.trace, in.memory, params);
      const CheckResult check = check_schedule(in.trace, in.memory, r.schedule, true);
      ASSERT_TRUE(check.ok) << name << " seed " << seed << ": " << check.problem;
      EXPECT_NEAR(r.judged_time_s, check.total_time_s, 1e-12 * check.total_time_s) << name << " seed " << seed;
    }
  }
}

// sa_guided from its rules (src/policy/sa_guided.cpp), one block at a time: resident blocks per layer by
// start position.
Schedule sa_reference(const trace::ExplicitTrace& tr, std::uint64_t capacity, std::uint32_t window, double fraction) {
  const auto& sh = tr.shape;
  const std::uint32_t k = sh.block_tokens, B = sh.batch_size(), L = sh.layers;
  std::vector<std::uint32_t> exist(B);
  for (std::uint32_t b = 0; b < B; ++b) exist[b] = sh.prompt(b);
  std::vector<std::set<std::uint32_t>> resident(L);
  std::uint64_t held = 0;
  auto sequence_of = [&](std::uint32_t p) { return sequence_at(sh, p); };
  auto start_of = [&](std::uint32_t p) { return block_start(sh, p); };
  auto blocks_read = [&](std::uint32_t n, std::uint32_t l) {
    std::set<std::uint32_t> out;
    for (const std::uint32_t p : tr.reads(n, l)) out.insert(start_of(p));
    return out;
  };
  auto state = [&] {
    std::vector<std::set<std::uint32_t>> out(L);
    for (std::uint32_t l = 0; l < L; ++l) {
      for (const std::uint32_t start : resident[l]) {
        const std::uint32_t b = sequence_of(start);
        const auto end = std::min<std::uint32_t>(start + k, static_cast<std::uint32_t>(sh.base(b)) + exist[b]);
        for (std::uint32_t p = start; p < end; ++p) out[l].insert(p);
      }
    }
    return out;
  };
  // Prefill: static's blocks in order (j, b, l) while k entries fit.
  bool full = false;
  for (std::uint32_t j = 0; !full && j * k < *std::max_element(sh.prompts.begin(), sh.prompts.end()); ++j) {
    for (std::uint32_t b = 0; b < B && !full; ++b) {
      for (std::uint32_t l = 0; l < L && !full && j * k < sh.prompt(b); ++l) {
        full = held + k > capacity;
        if (!full) {
          resident[l].insert(static_cast<std::uint32_t>(sh.base(b)) + j * k);
          held += k;
        }
      }
    }
  }
  Schedule out{state()};
  for (std::uint32_t i = 0; i < sh.decode_tokens; ++i) {
    const std::uint32_t n = sh.prompt_tokens + i, K = std::min(window, sh.decode_tokens - 1 - i);
    for (std::uint32_t b = 0; b < B; ++b) ++exist[b];
    for (std::uint32_t l = 0; l < L; ++l) {
      std::map<std::uint32_t, double> score;  // every block read within the window
      for (std::uint32_t ahead = 1; ahead <= K; ++ahead) {
        for (const std::uint32_t start : blocks_read(n + ahead, l)) score[start] += 1.0 / ahead;
      }
      for (auto it = resident[l].begin(); it != resident[l].end();) {  // not read within the window: out
        if (score.contains(*it)) {
          ++it;
        } else {
          it = resident[l].erase(it);
          held -= k;
        }
      }
      std::vector<std::pair<double, std::uint32_t>> cands;  // (-score, start): best first
      for (const std::uint32_t start : blocks_read(n, l)) {
        if (!resident[l].contains(start) && score.contains(start)) cands.emplace_back(-score[start], start);
      }
      std::sort(cands.begin(), cands.end());
      const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(cands.size())));
      const std::uint64_t take = std::min(wanted, held < capacity ? (capacity - held) / k : 0);
      for (std::uint64_t c = 0; c < take; ++c) resident[l].insert(cands[c].second);
      held += k * take;
      for (std::uint32_t b = 0; b < B; ++b) {
        const auto at = static_cast<std::uint32_t>(sh.base(b)) + exist[b] - 1;
        if (start_of(at) == at && held + k <= capacity) {
          resident[l].insert(at);
          held += k;
        }
      }
    }
    out.push_back(state());
  }
  return out;
}

TEST(BatchSaGuided, EqualsTheReferenceRule) {
  for (std::uint64_t seed = 1; seed <= 120; ++seed) {
    const std::uint32_t batch = 2 + static_cast<std::uint32_t>(seed % 3);
    const std::uint32_t k = std::array<std::uint32_t, 5>{1, 2, 4, 64, 128}[(seed / 3) % 5];
    const bool long_window = seed % 8 == 0;  // W > 20: scores summed directly instead of pattern classes
    const std::uint32_t decode = long_window ? 24 : 6;
    const Instance in = random_batch_instance(seed, batch, k >= 64 ? 3 * k : 30, decode,
                                              1 + static_cast<std::uint32_t>(seed % 2), k, 0.0);
    config::PolicyParams params;
    params.sa_window = long_window ? 22 : 1 + static_cast<std::uint32_t>(seed % 5);
    params.sa_fraction = static_cast<double>(1 + seed % 10) / 10.0;
    const Schedule want = sa_reference(in.trace, in.memory.capacity_entries, params.sa_window, params.sa_fraction);
    const Schedule got = run("sa_guided", in, params);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << "seed " << seed << " (B " << batch << ", k " << k << ", W " << params.sa_window
                                 << ", R " << params.sa_fraction << ") state " << i;
    }
  }
}

// The tuning over a batch of blocks: its best is what sa_guided scores with (W*, R*), never above the
// start.
TEST(BatchSaTuning, TunesOverABatchOfBlocks) {
  Instance in = random_batch_instance(5, 3, 40, 12, 2, 4, 1024.0);
  in.memory.capacity_entries = in.trace.shape.footprint_tokens() * in.trace.shape.layers / 3;
  oracle::SaTuningOptions o;
  o.w_max = 6;
  o.max_rounds = 4;
  o.parallel = false;
  const config::PolicyParams start{.sa_window = 3, .sa_fraction = 0.5};
  const oracle::SaTuningResult r =
      oracle::tune_sa_guided([&] { return trace::make_explicit_source(in.trace); }, in.memory, start, o);
  EXPECT_GT(r.evaluations, 1U);
  const config::PolicyParams best{.sa_window = r.best_window, .sa_fraction = r.best_fraction};
  EXPECT_EQ(r.best_total_time_s, run_and_record("sa_guided", in.trace, in.memory, best).judged_time_s);
  EXPECT_LE(r.best_total_time_s, run_and_record("sa_guided", in.trace, in.memory, start).judged_time_s);
}

}  // namespace
}  // namespace kvsweep::testing
