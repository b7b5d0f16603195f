// belady — demand caching with Belady's MIN replacement over a bounded look-ahead.
// Prefill: static's token-order placement. At step n every read entry that is not resident is promoted
// (piggy-backed) and every new entry (n, l) is kept. Then, while more than C entries are resident,
// entries are evicted furthest-next-read first: the next read of (t, l) is the first k in 1..K with
// t ∈ S(n+k, l), K = min(belady_lookahead, steps left); entries not read within K steps come first
// (class "never"), then k = K, K-1, ..., 1. Within one class: lowest layer first, then lowest token.
// An entry promoted at this step can be evicted at once (a bypass): it then costs nothing to HBM.
//
// A batch, or blocks of k tokens (docs/policies-and-oracle.md): one budget shared by every sequence,
// over blocks. Prefill: static's block order. Every block with a read token that is not resident is
// promoted whole; each sequence's new token is kept if its block is resident or it starts a block. A
// block's next read is the earliest next read of its tokens; classes as above, whole blocks evicted,
// ties by lowest layer, then lowest position (sequence, then token). The same code over block start
// bits (core::BlockWords) instead of token bits (core::TokenWords).
#include <algorithm>
#include <bit>

#include "kvsweep/core/block_bits.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

using core::Word;
using core::kWordBits;

template <class Units>
class Belady final : public Policy {
 public:
  Belady(const PolicyContext& ctx, Units units)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        lookahead_(std::max<std::uint32_t>(1, ctx.params.belady_lookahead)), units_(units),
        union_words_(core::words_for(ctx.shape.space())), exists_(Units::kBlocks ? ctx.shape.space() : 0),
        cur_(ctx.shape.layers), prev_(ctx.shape.layers) {}

  std::string_view name() const override { return "belady"; }
  std::uint32_t lookahead() const override { return lookahead_; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    if constexpr (Units::kBlocks) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    }
    resident_ = place_in_token_order(r, shape_, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n(), k = units_.k();
    const std::size_t nw = words_in_use(n);
    if constexpr (Units::kBlocks) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, n));
    }
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      // Promote what is read and not resident (whole blocks of existing tokens).
      for (std::size_t g = 0; g < units_.groups(nw); ++g) {
        const Word promoted = units_.touched_and_not(s, h, g, nw);
        if (promoted == 0) continue;
        resident_ += std::uint64_t{k} * static_cast<std::uint64_t>(std::popcount(promoted));
        const Word bits = units_.spread(promoted);
        for (std::size_t i = units_.first_word(g); i < units_.last_word(g, nw); ++i) {
          h[i] |= Units::kBlocks ? bits & exists_.data()[i] : bits;
        }
      }
      if constexpr (Units::kBlocks) {
        bool kept = false;
        for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) resident_ += keep_new_token(shape_, b, shape_.new_entry(b, n), r.layer(l), &kept);
      } else {
        r.layer(l).set(n);
        ++resident_;
      }
    }
    if (resident_ > capacity_) evict(w, r, (resident_ - capacity_ + k - 1) / k);
  }

 private:
  // Words of the token space a step can touch: tokens 0..n of a lone sequence, else all of it.
  std::size_t words_in_use(std::uint32_t n) const { return Units::kBlocks ? union_words_ : n / kWordBits + 1; }

  // Evicts up to `count` units (blocks) of layer l selected by select(group) (lowest positions first);
  // returns how many.
  template <class Select>
  std::uint64_t evict_where(cost::Residency& r, std::uint32_t l, std::size_t nw, std::uint64_t count,
                            Select select) {
    Word* h = r.layer(l).data();
    std::uint64_t done = 0;
    for (std::size_t g = 0; g < units_.groups(nw) && done < count; ++g) {
      Word x = select(g) & units_.touched(h, g, nw);
      const auto c = static_cast<std::uint64_t>(std::popcount(x));
      if (done + c > count) {
        Word lowest = 0;
        for (std::uint64_t take = count - done; take > 0; --take) {
          lowest |= x & (~x + 1);  // the lowest remaining bit
          x &= x - 1;
        }
        x = lowest;
      }
      const Word bits = units_.spread(x);
      for (std::size_t i = units_.first_word(g); i < units_.last_word(g, nw); ++i) h[i] &= ~bits;
      done += static_cast<std::uint64_t>(std::popcount(x));
    }
    return done;
  }

  // Widens u_k (per layer: S(n+1, l) ∪ ... ∪ S(n+k, l) over the words holding tokens 0..n) to the
  // first k at which fewer than `excess` resident units are read after n+k, and returns that k, or 0
  // when even k_max leaves at least `excess` (the cut is then in "never"). Works in proportion to the
  // cut, not to the look-ahead: the classes beyond the cut are never told apart. On return cur_[l]
  // holds u_k and prev_[l] u_{k-1} (for k = 0: cur_[l] = u_{k_max}); `beyond` is the count after n+k.
  std::uint32_t widen_to_cut(const StepWindow& w, const cost::Residency& r, std::uint32_t k_max, std::size_t nw,
                             std::uint64_t excess, std::uint64_t& beyond) {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      if (cur_[l].size() < nw) {
        cur_[l].resize(union_words_);
        prev_[l].resize(union_words_);
      }
      std::fill_n(cur_[l].begin(), nw, Word{0});
    }
    const std::uint64_t resident = resident_ / units_.k();  // units; kept exact by step() and evict()
    beyond = resident;
    for (std::uint32_t k = 1; k <= k_max; ++k) {
      std::uint64_t read_by_k = 0;
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        cur_[l].swap(prev_[l]);
        const Word* h = r.layer(l).data();
        const Word* s = w.reads(k, l).data();
        const Word* before = prev_[l].data();
        Word* u = cur_[l].data();
        if constexpr (Units::kBlocks) {
          for (std::size_t i = 0; i < nw; ++i) u[i] = before[i] | s[i];
          for (std::size_t g = 0; g < units_.groups(nw); ++g) {
            read_by_k += static_cast<std::uint64_t>(std::popcount(units_.touched(h, g, nw) & units_.touched(u, g, nw)));
          }
        } else {
          for (std::size_t i = 0; i < nw; ++i) {
            u[i] = before[i] | s[i];
            read_by_k += static_cast<std::uint64_t>(std::popcount(h[i] & u[i]));
          }
        }
      }
      beyond = resident - read_by_k;
      if (beyond < excess) return k;
    }
    return 0;
  }

  // Evicts `excess` units (blocks).
  void evict(const StepWindow& w, cost::Residency& r, std::uint64_t excess) {
    const std::size_t nw = words_in_use(w.n());
    const std::uint64_t k = units_.k();
    const std::uint32_t k_max = std::min(lookahead_, w.available());
    // The classes from the furthest (never, then k_max down to 1) go whole until the excess is
    // covered; the cut class k_cut goes in part (lowest layers, then lowest tokens, first).
    std::uint64_t beyond = 0;
    const std::uint32_t k_cut = widen_to_cut(w, r, k_max, nw, excess, beyond);  // 0: the cut is in "never"
    // Beyond the cut every class goes whole; what is left comes from the cut class.
    std::uint64_t left = k_cut == 0 ? excess : excess - beyond;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* u = cur_[l].data();
      if (k_cut == 0) {
        // Cut inside "never": not read within k_max steps.
        if (left == 0) break;
        const std::uint64_t done = evict_where(r, l, nw, left, [&](std::size_t g) { return ~units_.touched(u, g, nw); });
        left -= done;
        resident_ -= done * k;
        continue;
      }
      // Everything whose next read is beyond n + k_cut goes ...
      resident_ -= k * evict_where(r, l, nw, ~std::uint64_t{0}, [&](std::size_t g) { return ~units_.touched(u, g, nw); });
      // ... and part of class k_cut: read at n + k_cut and not before.
      if (left > 0) {
        const Word* s = w.reads(k_cut, l).data();
        const Word* before = prev_[l].data();
        const std::uint64_t done = evict_where(r, l, nw, left, [&](std::size_t g) {
          return units_.touched(s, g, nw) & ~units_.touched(before, g, nw);
        });
        left -= done;
        resident_ -= done * k;
      }
    }
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t lookahead_;
  Units units_;
  std::size_t union_words_;
  core::TokenBitset exists_;  // blocks only: tokens that exist (prompts, then one per sequence and step)
  std::vector<std::vector<Word>> cur_;   // [layer][word]: u_k
  std::vector<std::vector<Word>> prev_;  // [layer][word]: u_{k-1}
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_belady(const PolicyContext& ctx) {
  if (ctx.shape.batched() || ctx.shape.block_tokens > 1) {
    return std::make_unique<Belady<core::BlockWords>>(ctx, core::BlockWords(ctx.shape.block_tokens));
  }
  return std::make_unique<Belady<core::TokenWords>>(ctx, core::TokenWords{});
}

}  // namespace kvsweep::policy
