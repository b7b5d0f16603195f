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
        union_(core::words_for(ctx.shape.total_tokens())), class_count_(ctx.shape.layers) {}

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
  // U = union of S(n+1..n+k, l) over the words holding tokens 0..n.
  void build_union(const StepWindow& w, std::uint32_t l, std::uint32_t k, std::size_t nw) {
    std::fill(union_.begin(), union_.begin() + static_cast<std::ptrdiff_t>(nw), Word{0});
    for (std::uint32_t j = 1; j <= k; ++j) {
      const Word* s = w.reads(j, l).data();
      for (std::size_t i = 0; i < nw; ++i) union_[i] |= s[i];
    }
  }

  // Evicts up to `count` entries of layer l that are in `keep_out` of each word (lowest tokens first).
  template <class Select>
  std::uint64_t evict_where(cost::Residency& r, std::uint32_t l, std::size_t nw, std::uint64_t count,
                            Select select) {
    Word* h = r.layer(l).data();
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < nw && done < count; ++i) {
      Word x = select(i) & h[i];
      const auto c = static_cast<std::uint64_t>(std::popcount(x));
      if (done + c > count) {
        for (std::uint64_t drop = count - done; drop > 0; --drop) x &= x - 1;  // keep only the lowest
        Word kept = select(i) & h[i];
        x = kept & ~x;
      }
      h[i] &= ~x;
      done += static_cast<std::uint64_t>(std::popcount(x));
    }
    return done;
  }

  void evict(const StepWindow& w, cost::Residency& r, std::uint64_t excess) {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    const std::uint32_t k_max = std::min(lookahead_, w.available());
    // Class "never": resident and not read within k_max steps.
    for (std::uint32_t l = 0; l < shape_.layers && excess > 0; ++l) {
      build_union(w, l, k_max, nw);
      const std::uint64_t done = evict_where(r, l, nw, excess, [&](std::size_t i) { return ~union_[i]; });
      excess -= done;
      resident_ -= done;
    }
    if (excess == 0) return;
    // Count the remaining entries by next-read distance, per layer.
    std::vector<std::uint64_t> total(k_max + 1, 0);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      auto& cnt = class_count_[l];
      cnt.assign(k_max + 1, 0);
      const Word* h = r.layer(l).data();
      std::fill(union_.begin(), union_.begin() + static_cast<std::ptrdiff_t>(nw), Word{0});
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        const Word* s = w.reads(k, l).data();
        std::uint64_t c = 0;
        for (std::size_t i = 0; i < nw; ++i) {
          c += static_cast<std::uint64_t>(std::popcount(h[i] & s[i] & ~union_[i]));
          union_[i] |= s[i];
        }
        cnt[k] = c;
        total[k] += c;
      }
    }
    // Furthest classes go whole; the cut class k_cut goes in part.
    std::uint32_t k_cut = k_max;
    while (k_cut > 0 && total[k_cut] < excess) {
      excess -= total[k_cut];
      --k_cut;
    }
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      // Entries whose next read is beyond k_cut: resident and not in S(n+1..n+k_cut).
      build_union(w, l, k_cut, nw);
      std::uint64_t done = evict_where(r, l, nw, ~std::uint64_t{0}, [&](std::size_t i) { return ~union_[i]; });
      resident_ -= done;
      if (excess == 0 || k_cut == 0) continue;
      // Part of class k_cut: read at n + k_cut and not before.
      build_union(w, l, k_cut - 1, nw);
      const Word* s = w.reads(k_cut, l).data();
      done = evict_where(r, l, nw, excess, [&](std::size_t i) { return s[i] & ~union_[i]; });
      excess -= done;
      resident_ -= done;
    }
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t lookahead_;
  std::vector<Word> union_;
  std::vector<std::vector<std::uint64_t>> class_count_;
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_belady(const PolicyContext& ctx) { return std::make_unique<Belady>(ctx); }

}  // namespace kvsweep::policy
