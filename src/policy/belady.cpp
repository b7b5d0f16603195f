// belady — demand caching with Belady's MIN replacement over a bounded look-ahead.
// Prefill: static's token-order placement. At step n every read entry that is not resident is promoted
// (piggy-backed) and every new entry (n, l) is kept. Then, while more than C entries are resident,
// entries are evicted furthest-next-read first: the next read of (t, l) is the first k in 1..K with
// t ∈ S(n+k, l), K = min(belady_lookahead, steps left); entries not read within K steps come first
// (class "never"), then k = K, K-1, ..., 1. Within one class: lowest layer first, then lowest token.
// An entry promoted at this step can be evicted at once (a bypass): it then costs nothing to HBM.
#include <algorithm>
#include <bit>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

using core::Word;
using core::kWordBits;

class Belady final : public Policy {
 public:
  explicit Belady(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        lookahead_(std::max<std::uint32_t>(1, ctx.params.belady_lookahead)),
        union_words_(core::words_for(ctx.shape.total_tokens())), unions_(ctx.shape.layers),
        class_count_(ctx.shape.layers) {}

  std::string_view name() const override { return "belady"; }
  std::uint32_t lookahead() const override { return lookahead_; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_.prompt_tokens, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      for (std::size_t i = 0; i < nw; ++i) {
        resident_ += static_cast<std::uint64_t>(std::popcount(s[i] & ~h[i]));
        h[i] |= s[i];
      }
      r.layer(l).set(n);
      ++resident_;
    }
    if (resident_ > capacity_) evict(w, r, resident_ - capacity_);
  }

 private:
  // Evicts up to `count` entries of layer l selected by select(word) (lowest tokens first).
  template <class Select>
  std::uint64_t evict_where(cost::Residency& r, std::uint32_t l, std::size_t nw, std::uint64_t count,
                            Select select) {
    Word* h = r.layer(l).data();
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < nw && done < count; ++i) {
      Word x = select(i) & h[i];
      const auto c = static_cast<std::uint64_t>(std::popcount(x));
      if (done + c > count) {
        Word lowest = 0;
        for (std::uint64_t take = count - done; take > 0; --take) {
          lowest |= x & (~x + 1);  // the lowest remaining bit
          x &= x - 1;
        }
        x = lowest;
      }
      h[i] &= ~x;
      done += static_cast<std::uint64_t>(std::popcount(x));
    }
    return done;
  }

  // unions_[l][k-1] = S(n+1, l) ∪ ... ∪ S(n+k, l) over the words holding tokens 0..n; also counts, per
  // layer, the resident entries whose next read is exactly n+k (class_count_[l][k]) and never (index 0).
  void classify(const StepWindow& w, const cost::Residency& r, std::uint32_t k_max, std::size_t nw) {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      auto& cnt = class_count_[l];
      cnt.assign(k_max + 1, 0);
      auto& u = unions_[l];
      if (u.size() < k_max) u.resize(k_max);
      const Word* h = r.layer(l).data();
      const Word* prev = nullptr;
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        auto& cur = u[k - 1];
        if (cur.size() < nw) cur.resize(union_words_);
        const Word* s = w.reads(k, l).data();
        std::uint64_t c = 0;
        for (std::size_t i = 0; i < nw; ++i) {
          const Word before = prev != nullptr ? prev[i] : Word{0};
          c += static_cast<std::uint64_t>(std::popcount(h[i] & s[i] & ~before));
          cur[i] = before | s[i];
        }
        cnt[k] = c;
        prev = cur.data();
      }
      std::uint64_t never = 0;
      for (std::size_t i = 0; i < nw; ++i) {
        never += static_cast<std::uint64_t>(std::popcount(h[i] & ~(prev != nullptr ? prev[i] : Word{0})));
      }
      cnt[0] = never;
    }
  }

  void evict(const StepWindow& w, cost::Residency& r, std::uint64_t excess) {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    const std::uint32_t k_max = std::min(lookahead_, w.available());
    classify(w, r, k_max, nw);
    // Walk the classes from the furthest (never, then k_max down to 1) until the excess is covered:
    // classes beyond k_cut go whole, k_cut goes in part (lowest layers, then lowest tokens, first).
    auto class_total = [&](std::uint32_t k) {
      std::uint64_t t = 0;
      for (const auto& cnt : class_count_) t += cnt[k];
      return t;
    };
    // Position 0 stands for "never"; positions 1..k_max for k_max..1.
    std::uint32_t cut_pos = 0;
    for (;; ++cut_pos) {
      const std::uint32_t k = cut_pos == 0 ? 0 : k_max + 1 - cut_pos;
      const std::uint64_t t = class_total(k);
      if (t >= excess || cut_pos == k_max) break;
      excess -= t;
    }
    const std::uint32_t k_cut = cut_pos == 0 ? 0 : k_max + 1 - cut_pos;  // 0: the cut is in "never"
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const auto& u = unions_[l];
      std::uint64_t done = 0;
      if (k_cut == 0) {
        // Cut inside "never": not read within k_max steps.
        if (excess == 0) break;
        done = evict_where(r, l, nw, excess, [&](std::size_t i) { return k_max == 0 ? ~Word{0} : ~u[k_max - 1][i]; });
        excess -= done;
      } else {
        // Everything whose next read is beyond k_cut goes ...
        done = evict_where(r, l, nw, ~std::uint64_t{0}, [&](std::size_t i) { return ~u[k_cut - 1][i]; });
        // ... and part of class k_cut: read at n + k_cut and not before.
        if (excess > 0) {
          const Word* s = w.reads(k_cut, l).data();
          const std::uint64_t part = evict_where(r, l, nw, excess, [&](std::size_t i) {
            return s[i] & (k_cut >= 2 ? ~u[k_cut - 2][i] : ~Word{0});
          });
          excess -= part;
          done += part;
        }
      }
      resident_ -= done;
    }
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t lookahead_;
  std::size_t union_words_;
  std::vector<std::vector<std::vector<Word>>> unions_;  // [layer][k - 1][word]
  std::vector<std::vector<std::uint64_t>> class_count_;  // [layer][k], index 0 = never read in the window
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_belady(const PolicyContext& ctx) { return std::make_unique<Belady>(ctx); }

}  // namespace kvsweep::policy
