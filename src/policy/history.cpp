// history — predicts the next step's reads from the last two (LFPS's vertical and slash patterns) and
// prefetches what it predicts into the link's slack. Online, no knobs.
// Prediction for step n + 1, per layer l, from S(n - 1, l) and S(n, l), token by token:
//   vertical: t read at n - 1 and at n (a run of reads: it persists);
//   slash:    t + 1 where t is read at n and t - 1 at n - 1 (a diagonal: the same distance behind the
//             newest token, one step later), within the token's sequence.
// A block is predicted when one of its tokens is. At (n, l): every read block that is not held is
// promoted (piggy-backed); then predicted blocks of the layer neither held nor read at n are prefetched,
// lowest position first, while the layer's link slack at n lasts (block_cache.hpp: link_slack); each
// sequence's new token joins its block if held or starts a block (kept). Every block read or started
// at (n, l) is stamped (n - P) L + l + 1 (prefill: 0). After every layer of the step, while more than
// C entries are held, blocks are evicted: first those not predicted for n + 1, then the predicted ones,
// each oldest stamp first, ties lowest layer, then lowest position. Prefill: static's placement; at the
// first decode step, with one step of history, nothing is predicted.
#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "block_cache.hpp"
#include "kvsweep/core/masked_lanes.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class History final : public Policy {
 public:
  explicit History(const PolicyContext& ctx)
      : cache_(ctx), memory_(ctx.memory),
        stamps_(cache_.blocks() * ctx.shape.layers + core::kWordBits, 0),
        predicted_at_(cache_.k() == 1 ? 0 : stamps_.size(), 0),
        previous_(ctx.shape.layers, core::TokenBitset(ctx.shape.space())),
        predicted_(ctx.shape.layers, core::TokenBitset(ctx.shape.space())), scratch_(ctx.shape.space()),
        segment_starts_(ctx.shape.space()) {
    for (std::uint32_t b = 0; b < ctx.shape.batch_size(); ++b) segment_starts_.set(ctx.shape.base(b));
    if (static_cast<std::uint64_t>(ctx.shape.decode_tokens) * ctx.shape.layers + ctx.shape.layers > UINT32_MAX) {
      throw std::invalid_argument("history: decode_tokens x layers must stay below 2^32 (its 32-bit stamps)");
    }
  }
  std::string_view name() const override { return "history"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override { cache_.place_static(r); }

  void step(const StepWindow& w, cost::Residency& r) override {
    const auto& sh = cache_.shape();
    const std::uint32_t n = w.n();
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      const core::TokenBitset& reads = w.reads(0, l);
      const std::uint32_t stamp = (n - sh.prompt_tokens) * sh.layers + l + 1;
      const bool tokens = cache_.k() == 1;
      if (tokens) {
        core::assign_where(stamps_.data() + cache_.unit(l, 0), reads.data(), reads.word_count(), stamp);
      } else {
        cache_.for_each_block(reads, [&](std::size_t j) { stamps_[cache_.unit(l, j)] = stamp; });
      }
      const BlockCache::Demand d = cache_.demand_all(reads, r, l);
      predict(l, reads, n > sh.prompt_tokens);
      if (!tokens) cache_.for_each_block(predicted_[l], [&](std::size_t j) { predicted_at_[cache_.unit(l, j)] = n; });
      std::uint64_t room = link_slack(memory_, d.hits, w.count(0, l) - d.hits, d.promoted, d.promoted_reads);
      if (room > 0 && tokens) {  // the loop below in word operations: a token is one entry
        const core::Word* p = predicted_[l].data();
        const core::Word* e = cache_.existing().data();
        const core::Word* h = r.layer(l).data();
        for (std::size_t i = 0; i < predicted_[l].word_count() && room > 0; ++i) {
          for (core::Word m = p[i] & ~h[i] & e[i]; m != 0 && room > 0; m &= m - 1, --room) {
            cache_.promote(r, l, i * core::kWordBits + static_cast<std::size_t>(std::countr_zero(m)));
          }
        }
      } else if (room > 0) {
        cache_.for_each_block(predicted_[l], [&](std::size_t j) {
          if (room == 0 || cache_.is_held(r, l, j) || !cache_.exists(j)) return;
          const std::uint32_t entries = cache_.existing_in(j);
          if (entries > room) {
            room = 0;
            return;
          }
          cache_.promote(r, l, j);
          room -= entries;
        });
      }
      previous_[l] = reads;
    }
    cache_.keep_new_tokens(n, r, [&](std::uint32_t l, std::size_t j) {
      stamps_[cache_.unit(l, j)] = (n - sh.prompt_tokens) * sh.layers + l + 1;
    });
    if (cache_.k() != 1) {
      cache_.evict_to_capacity(r, [&](std::size_t u) { return (predicted_at_[u] == n ? 0x1p60 : 0.0) + static_cast<double>(stamps_[u]); });
      return;
    }
    // Tokens: a block is predicted when its bit in predicted_ is (no per-unit step needed).
    const auto key = [&](std::size_t u) {
      return (predicted_[cache_.layer_of(u)].test(cache_.block_of(u)) ? 0x1p60 : 0.0) + static_cast<double>(stamps_[u]);
    };
    constexpr std::uint64_t kTop = UINT32_MAX;
    // Tokens: below t < 2^60 only the blocks not predicted count, by stamp (exact in a double below 2^53).
    cache_.evict_tokens_to_capacity(r, key, [&](std::uint32_t l, double t, core::Word* out) {
      const std::size_t words = r.layer(l).word_count();
      const std::size_t u0 = cache_.unit(l, 0);
      const core::Word* h = r.layer(l).data();
      if (t < 0x1p60) {
        core::at_most_in(stamps_.data() + u0, h, words, t < 0 ? 0 : static_cast<std::uint32_t>(std::min<double>(t, kTop)), out);
        const core::Word* p = predicted_[l].data();
        for (std::size_t i = 0; i < words; ++i) out[i] &= t < 0 ? 0 : ~p[i];
        return;
      }
      // t >= 2^60: every block not predicted, and the predicted ones whose key 2^60 + stamp (rounded to
      // a double) is at most t: a prefix of stamps, the largest found by bisection.
      std::uint64_t lo = 0, hi = std::uint64_t{1} << 62;  // key(lo) <= t < key(hi), or none fits
      const auto fits = [&](std::uint64_t s) { return 0x1p60 + static_cast<double>(s) <= t; };
      if (!fits(lo)) {
        std::fill(out, out + words, core::Word{0});
      } else if (fits(hi)) {
        std::fill(out, out + words, ~core::Word{0});
      } else {
        while (hi - lo > 1) {
          const std::uint64_t mid = lo + (hi - lo) / 2;
          (fits(mid) ? lo : hi) = mid;
        }
        core::at_most_in(stamps_.data() + u0, h, words, static_cast<std::uint32_t>(std::min(lo, kTop)), out);
      }
      const core::Word* p = predicted_[l].data();
      for (std::size_t i = 0; i < words; ++i) out[i] = (out[i] & p[i]) | ~p[i];
    }, [](std::uint32_t, std::size_t) {});
  }

 private:
  // predicted_[l] = vertical | slash from previous_[l] = S(n - 1, l) and reads = S(n, l).
  void predict(std::uint32_t l, const core::TokenBitset& reads, bool have_previous) {
    core::TokenBitset& out = predicted_[l];
    if (!have_previous) {
      out.clear();
      return;
    }
    const core::Word* s = reads.data();
    const core::Word* p = previous_[l].data();
    const core::Word* starts = segment_starts_.data();
    core::Word* x = scratch_.data();
    core::Word* o = out.data();
    const std::size_t words = reads.word_count();
    // scratch = S(n) & (S(n - 1) shifted up by one token, not across a segment start)
    core::Word carry = 0;
    for (std::size_t w = 0; w < words; ++w) {
      const core::Word up = ((p[w] << 1) | carry) & ~starts[w];
      carry = p[w] >> 63;
      x[w] = s[w] & up;
    }
    // out = vertical | (scratch shifted up by one, not across a segment start)
    carry = 0;
    for (std::size_t w = 0; w < words; ++w) {
      const core::Word up = ((x[w] << 1) | carry) & ~starts[w];
      carry = x[w] >> 63;
      o[w] = (s[w] & p[w]) | up;
    }
  }

  BlockCache cache_;
  cost::MemorySystem memory_;
  std::vector<std::uint32_t> stamps_;        // per unit, then 64 lanes of padding (core::at_most)
  std::vector<std::uint32_t> predicted_at_;  // blocks (k > 1), per unit: the step n whose prediction held it
  std::vector<core::TokenBitset> previous_, predicted_;
  core::TokenBitset scratch_, segment_starts_;
};

}  // namespace

std::unique_ptr<Policy> make_history(const PolicyContext& ctx) { return std::make_unique<History>(ctx); }

}  // namespace kvsweep::policy
