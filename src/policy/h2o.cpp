// h2o — Heavy-Hitter Oracle (H2O, NeurIPS'23) as a placement policy. Each layer gets an equal share B_l
// of C (layer_budget): r_l = floor(h2o_recent_share * B_l) slots for the most recent tokens and
// h_l = B_l - r_l for heavy hitters. Prefill: tokens [0, h_l) and the last r_l prompt tokens. At (n, l):
// every resident entry read at this step gains one point of accumulated score (the proxy for
// accumulated attention), the new entry is kept, and the token that leaves the recent window becomes a
// heavy-hitter candidate; while more than h_l candidates are resident the one with the lowest score
// is evicted (ties: lowest token). As in H2O, an evicted entry is never brought back: later reads of it
// go over the link. Nothing is ever promoted.
#include <algorithm>
#include <bit>
#include <functional>

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

}  // namespace

std::unique_ptr<Policy> make_h2o(const PolicyContext& ctx) { return std::make_unique<H2o>(ctx); }

}  // namespace kvsweep::policy
