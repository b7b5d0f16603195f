// h2o — Heavy-Hitter Oracle (H2O, NeurIPS'23) as a placement policy. Each layer gets an equal share B_l
// of C (layer_budget): r_l = floor(h2o_recent_share * B_l) slots for the most recent tokens and
// h_l = B_l - r_l for heavy hitters. Prefill: tokens [0, h_l) and the last r_l prompt tokens. At (n, l):
// every resident entry read at this step gains one point of accumulated score (the proxy for
// accumulated attention), the new entry is kept, and the token that leaves the recent window becomes a
// heavy-hitter candidate; while more than h_l candidates are resident the one with the lowest score
// is evicted (ties: lowest token). As in H2O, an evicted entry is never brought back: later reads of it
// go over the link. Nothing is ever promoted.
// A batch, or blocks of k tokens: C is split over the (sequence, layer) pairs as streaming splits it
// (floor(C / (B·L)) entries each, one more for the first C mod (B·L) pairs in order layer l, then
// sequence b), a share of s entries holds Q = floor(s / k) blocks, r = floor(h2o_recent_share * Q) of
// them (at most Q) for the sequence's most recent blocks (the block being filled counts as one) and
// h = Q - r for its heavy hitters. A block's score is the sum of its tokens' scores (a point for each
// read of one of its tokens while it is resident). Prefill, per layer and sequence: blocks [0, h) below
// the window, and the last r prompt blocks. A step: scores first; a new token inside a block joins it
// iff the block is resident; one that starts a block keeps it, and the block that leaves the window (r
// blocks back; with r = 0 the new block itself) becomes a heavy-hitter candidate if resident; while the
// sequence has more than h candidates in the layer the lowest-scored is evicted (ties: lowest token) and
// never comes back. With B = 1 and k = 1 this is the rule above.
#include <algorithm>
#include <bit>
#include <functional>

#include "group_counts.hpp"
#include "kvsweep/core/masked_lanes.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

using core::Word;
using core::kWordBits;

class H2o final : public Policy {
 public:
  explicit H2o(const PolicyContext& ctx) : shape_(ctx.shape), layers_(ctx.shape.layers) {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::uint64_t budget = layer_budget(ctx.memory.capacity_entries, shape_.layers, l);
      auto& s = layers_[l];
      s.recent = static_cast<std::uint64_t>(ctx.params.h2o_recent_share * static_cast<double>(budget));
      s.recent = std::min(s.recent, budget);
      s.heavy_budget = budget - s.recent;
      s.score.assign(shape_.total_tokens(), 0);
    }
  }
  std::string_view name() const override { return "h2o"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    const std::uint64_t p = shape_.prompt_tokens;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      auto& s = layers_[l];
      const std::uint64_t window_begin = p - std::min(s.recent, p);
      const std::uint64_t heavy_end = std::min(s.heavy_budget, window_begin);
      r.layer(l).set_range(0, heavy_end);
      r.layer(l).set_range(window_begin, p);
      for (std::uint64_t t = 0; t < heavy_end; ++t) push(s, static_cast<std::uint32_t>(t));
      s.heavy_count = heavy_end;
    }
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      auto& s = layers_[l];
      core::TokenBitset& h = r.layer(l);
      const Word* sw = w.reads(0, l).data();
      const Word* hw = h.data();
      core::increment_where(s.score.data(), sw, hw, nw);
      h.set(n);
      if (n < s.recent) continue;  // the window has not filled yet
      const auto leaving = static_cast<std::uint32_t>(n - s.recent);
      if (!h.test(leaving)) continue;
      push(s, leaving);
      ++s.heavy_count;
      while (s.heavy_count > s.heavy_budget) {
        std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>{});
        const auto [score, token] = s.heap.back();
        s.heap.pop_back();
        if (score != s.score[token]) {
          push(s, token);  // stale: the token was read since it was queued
          continue;
        }
        h.reset(token);
        --s.heavy_count;
      }
    }
  }

 private:
  struct LayerState {
    std::uint64_t recent = 0;
    std::uint64_t heavy_budget = 0;
    std::uint64_t heavy_count = 0;
    std::vector<std::uint32_t> score;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> heap;  // min-heap of (score, token)
  };
  static void push(LayerState& s, std::uint32_t token) {
    s.heap.emplace_back(s.score[token], token);
    std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>{});
  }

  trace::TraceShape shape_;
  std::vector<LayerState> layers_;
};

// The batch and block rule (header). Shares are indexed l * B + b; blocks by position / k.
class BatchH2o final : public Policy {
 public:
  explicit BatchH2o(const PolicyContext& ctx)
      : shape_(ctx.shape), k_(ctx.shape.block_tokens), blocks_((ctx.shape.space() + k_ - 1) / k_),
        score_(ctx.shape.layers, std::vector<std::uint32_t>(blocks_, 0)) {
    const std::uint32_t batch = shape_.batch_size(), pairs = batch * shape_.layers;
    for (std::uint32_t b = 0; b < batch; ++b) bases_.push_back(shape_.base(b));
    for (std::uint32_t i = 0; i < pairs; ++i) {
      const std::uint64_t blocks = layer_budget(ctx.memory.capacity_entries, pairs, i) / k_;
      Share s;
      s.recent = static_cast<std::uint64_t>(ctx.params.h2o_recent_share * static_cast<double>(blocks));
      s.recent = std::min(s.recent, blocks);
      s.heavy_budget = blocks - s.recent;
      shares_.push_back(std::move(s));
    }
  }
  std::string_view name() const override { return "h2o"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        Share& s = share(l, b);
        const std::uint64_t p = shape_.prompt(b), blocks = (p + k_ - 1) / k_;
        const std::uint64_t window_begin = blocks - std::min(s.recent, blocks);
        const std::uint64_t heavy_end = std::min(s.heavy_budget, window_begin);
        r.layer(l).set_range(bases_[b], bases_[b] + std::min(heavy_end * k_, p));
        r.layer(l).set_range(bases_[b] + std::min(window_begin * k_, p), bases_[b] + p);
        for (std::uint64_t j = 0; j < heavy_end; ++j) push(s, score_[l], block_of(bases_[b] + j * k_));
        s.heavy_count = heavy_end;
      }
    }
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t steps = w.n() - shape_.prompt_tokens;  // decode tokens each sequence had before
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      core::TokenBitset& h = r.layer(l);
      add_scores(w.reads(0, l), h, score_[l]);  // reads of R(n - 1): before the new tokens join
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::uint64_t t = std::uint64_t{shape_.prompt(b)} + steps;  // the new token
        const std::size_t at = bases_[b] + t;
        if (t % k_ != 0) {
          if (h.test(at - 1)) h.set(at);  // its block is resident (window or heavy hitter)
          continue;
        }
        h.set(at);
        Share& s = share(l, b);
        const std::uint64_t j = t / k_;
        if (j < s.recent) continue;  // the window has not filled yet
        const std::size_t leaving = bases_[b] + (j - s.recent) * k_;
        if (!h.test(leaving)) continue;
        push(s, score_[l], block_of(leaving));
        ++s.heavy_count;
        evict_over_budget(s, score_[l], h, at + 1);
      }
    }
  }

 private:
  struct Share {  // one sequence in one layer; counts in blocks
    std::uint64_t recent = 0;
    std::uint64_t heavy_budget = 0;
    std::uint64_t heavy_count = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> heap;  // min-heap of (score, block)
  };
  Share& share(std::uint32_t l, std::uint32_t b) { return shares_[static_cast<std::size_t>(l) * shape_.batch_size() + b]; }
  std::uint32_t block_of(std::size_t position) const { return static_cast<std::uint32_t>(position / k_); }

  static void push(Share& s, const std::vector<std::uint32_t>& score, std::uint32_t block) {
    s.heap.emplace_back(score[block], block);
    std::push_heap(s.heap.begin(), s.heap.end(), std::greater<>{});
  }

  // A point to every resident block per read of one of its tokens: per token for k = 1, else one
  // popcount per block slice of a word.
  void add_scores(const core::TokenBitset& reads, const core::TokenBitset& h, std::vector<std::uint32_t>& score) const {
    const Word* sw = reads.data();
    const Word* hw = h.data();
    if (k_ == 1) {
      core::increment_where(score.data(), sw, hw, h.word_count());
      return;
    }
    add_group_counts(score.data(), blocks_, k_, 0, h.word_count(), [&](std::size_t i) { return sw[i] & hw[i]; });
  }

  // Evicts the sequence's lowest-scored candidates (ties: lowest block) while it has too many; `end`
  // is one past its newest token.
  void evict_over_budget(Share& s, const std::vector<std::uint32_t>& score, core::TokenBitset& h, std::size_t end) {
    while (s.heavy_count > s.heavy_budget) {
      std::pop_heap(s.heap.begin(), s.heap.end(), std::greater<>{});
      const auto [points, block] = s.heap.back();
      s.heap.pop_back();
      if (points != score[block]) {
        push(s, score, block);  // stale: the block was read since it was queued
        continue;
      }
      const std::size_t first = std::size_t{block} * k_;
      h.reset_range(first, std::min(first + k_, end));
      --s.heavy_count;
    }
  }

  trace::TraceShape shape_;
  std::uint32_t k_;
  std::size_t blocks_;  // of the whole token space
  std::vector<std::size_t> bases_;
  std::vector<Share> shares_;
  std::vector<std::vector<std::uint32_t>> score_;  // per layer, per block
};

}  // namespace

std::unique_ptr<Policy> make_h2o(const PolicyContext& ctx) {
  if (!ctx.shape.batched() && ctx.shape.block_tokens == 1) return std::make_unique<H2o>(ctx);
  return std::make_unique<BatchH2o>(ctx);
}

}  // namespace kvsweep::policy
