// reactive_lru and belady on batches and blocks against references written from their rules
// (docs/policies-and-oracle.md), which keep a map of resident blocks per layer and evict by the smallest
// key: reactive_lru (stamp e(n, l), layer, position); belady (class: never, then furthest next read of
// any token of the block first; layer; position). The engine's word scans must give the same states.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

enum class Rule { kLru, kBelady };

Schedule reference(const trace::ExplicitTrace& tr, std::uint64_t capacity, Rule rule, std::uint32_t lookahead = 0) {
  const auto& sh = tr.shape;
  const std::uint32_t k = sh.block_tokens, B = sh.batch_size(), L = sh.layers;
  std::vector<std::uint32_t> exist(B);
  for (std::uint32_t b = 0; b < B; ++b) exist[b] = sh.prompt(b);
  std::vector<std::map<std::uint32_t, std::uint32_t>> resident(L);  // block start -> LRU stamp
  std::uint64_t held = 0;
  auto sequence_of = [&](std::uint32_t p) { return sequence_at(sh, p); };
  auto start_of = [&](std::uint32_t p) { return block_start(sh, p); };
  auto state = [&] {
    std::vector<std::set<std::uint32_t>> out(L);
    for (std::uint32_t l = 0; l < L; ++l) {
      for (const auto& [start, stamp] : resident[l]) {
        const std::uint32_t b = sequence_of(start);
        const auto end = std::min<std::uint32_t>(start + k, static_cast<std::uint32_t>(sh.base(b)) + exist[b]);
        for (std::uint32_t p = start; p < end; ++p) out[l].insert(p);
      }
    }
    return out;
  };
  // Belady's class of a block after step n: 0 when no token is read within K steps, else K + 1 - (the
  // first step ahead that reads one): the smallest goes first.
  auto belady_class = [&](std::uint32_t n, std::uint32_t l, std::uint32_t start) {
    const std::uint32_t K = std::min(lookahead, sh.total_tokens() - 1 - n);
    for (std::uint32_t ahead = 1; ahead <= K; ++ahead) {
      for (const std::uint32_t p : tr.reads(n + ahead, l)) {
        if (start_of(p) == start) return K + 1 - ahead;
      }
    }
    return 0U;
  };
  auto evict_over_capacity = [&](std::uint32_t n) {
    while (held > capacity) {
      std::tuple<std::uint32_t, std::uint32_t, std::uint32_t> first{~0U, ~0U, ~0U};
      for (std::uint32_t m = 0; m < L; ++m) {
        for (const auto& [start, stamp] : resident[m]) {
          first = std::min(first, {rule == Rule::kLru ? stamp : belady_class(n, m, start), m, start});
        }
      }
      resident[std::get<1>(first)].erase(std::get<2>(first));
      held -= k;
    }
  };
  // Prefill: blocks in order (j, b, l) while k entries fit.
  std::uint32_t longest = 0;
  for (std::uint32_t b = 0; b < B; ++b) longest = std::max(longest, sh.prompt(b));
  bool full = false;
  for (std::uint32_t j = 0; j * k < longest && !full; ++j) {
    for (std::uint32_t b = 0; b < B && !full; ++b) {
      if (j * k >= sh.prompt(b)) continue;
      for (std::uint32_t l = 0; l < L && !full; ++l) {
        full = held + k > capacity;
        if (!full) {
          resident[l][static_cast<std::uint32_t>(sh.base(b)) + j * k] = 0;
          held += k;
        }
      }
    }
  }
  Schedule out{state()};
  for (std::uint32_t i = 0; i < sh.decode_tokens; ++i) {
    const std::uint32_t n = sh.prompt_tokens + i;
    for (std::uint32_t b = 0; b < B; ++b) ++exist[b];
    for (std::uint32_t l = 0; l < L; ++l) {
      const std::uint32_t now = i * L + l + 1;
      for (const std::uint32_t p : tr.reads(n, l)) {
        auto [it, added] = resident[l].try_emplace(start_of(p), now);
        it->second = now;
        if (added) held += k;
      }
      for (std::uint32_t b = 0; b < B; ++b) {
        const auto at = static_cast<std::uint32_t>(sh.base(b)) + exist[b] - 1;
        const std::uint32_t start = start_of(at);
        if (start == at && resident[l].try_emplace(start, now).second) held += k;
        if (resident[l].count(start) != 0) resident[l][start] = now;
      }
      if (rule == Rule::kLru) evict_over_capacity(n);  // after each layer; belady after the whole step
    }
    if (rule == Rule::kBelady) evict_over_capacity(n);
    out.push_back(state());
  }
  return out;
}

Instance batch_case(std::uint64_t seed) {
  const std::uint32_t batch = 1 + static_cast<std::uint32_t>(seed % 4);
  const std::uint32_t k = std::array<std::uint32_t, 5>{1, 4, 16, 64, 256}[(seed / 4) % 5];
  const std::uint32_t max_prompt = k >= 64 ? 3 * k : 40;
  return random_batch_instance(seed, batch, max_prompt, 5, 1 + static_cast<std::uint32_t>(seed % 3), k, 0.0);
}

TEST(BatchLru, EqualsTheReferenceRule) {
  for (std::uint64_t seed = 1; seed <= 160; ++seed) {
    const Instance in = batch_case(seed);
    const Schedule want = reference(in.trace, in.memory.capacity_entries, Rule::kLru);
    const RecordedRun got = run_and_record("reactive_lru", in.trace, in.memory);
    ASSERT_EQ(got.schedule.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.schedule[i], want[i]) << "seed " << seed << " (B " << in.trace.shape.batch_size() << ", k "
                                          << in.trace.shape.block_tokens << ") state " << i;
    }
  }
}

TEST(BatchBelady, EqualsTheReferenceRule) {
  for (std::uint64_t seed = 1; seed <= 160; ++seed) {
    const Instance in = batch_case(seed);
    config::PolicyParams params;
    params.belady_lookahead = 1 + static_cast<std::uint32_t>(seed % 4);
    const Schedule want = reference(in.trace, in.memory.capacity_entries, Rule::kBelady, params.belady_lookahead);
    const RecordedRun got = run_and_record("belady", in.trace, in.memory, params);
    ASSERT_EQ(got.schedule.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.schedule[i], want[i]) << "seed " << seed << " (B " << in.trace.shape.batch_size() << ", k "
                                          << in.trace.shape.block_tokens << ", K " << params.belady_lookahead
                                          << ") state " << i;
    }
  }
}

}  // namespace
}  // namespace kvsweep::testing
