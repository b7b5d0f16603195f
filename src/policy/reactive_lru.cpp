// reactive_lru — demand caching with global LRU replacement.
// Prefill: static's token-order placement. At (n, l): every read entry that is not resident is
// promoted (a piggy-backed promotion: it streams over the link anyway), the new entry (n, l) is kept,
// and every entry read or kept gets timestamp e(n, l) = (n - P) * L + l + 1 (prefill entries: 0).
// After each layer, while more than C entries are resident, the entry with the smallest timestamp is
// evicted, ties broken by lowest layer then lowest token. Entries read at the current (n, l) can be
// evicted only when everything older is gone (capacity smaller than one step's reads).
//
// Why it is fast: LRU order is a monotone frontier. Once every entry stamped below tau is gone, no
// resident entry can get a stamp below tau again, so victims are found by scanning forward from the
// frontier bucket instead of keeping a priority queue keyed on every read. Each layer stores only the
// step part of the stamp (n - P + 1; the layer is implied), in 16 bits when D allows, so that the
// vectorised frontier scans read half the memory.
//
// A batch, or blocks of k tokens (docs/policies-and-oracle.md): one LRU shared by every sequence, over
// blocks. Prefill: static's block order. At (n, l): every block with a read token that is not resident
// is promoted whole (its existing tokens: those read piggy-back, the rest are prefetched); each
// sequence's new token is kept if its block is resident or the token starts a block (a new block, k
// entries); a block's stamp is the latest e(n, l) that read or kept one of its tokens. While more than
// C entries are resident, the block with the smallest stamp is evicted, ties broken by lowest layer,
// then lowest position (sequence, then token). The same frontier, over block start positions.
#include <algorithm>
#include <bit>

#include "kvsweep/core/masked_lanes.hpp"
#include "kvsweep/policy/policies.hpp"
#include "stamps.hpp"

namespace kvsweep::policy {
namespace {

template <class Stamp>
class ReactiveLru final : public Policy {
 public:
  explicit ReactiveLru(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        stamp_(ctx.shape.layers, std::vector<Stamp>(core::words_for(ctx.shape.total_tokens()) * kWordBits, 0)) {}

  std::string_view name() const override { return "reactive_lru"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_.prompt_tokens, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::uint32_t now = event(n, l);
      const auto step_stamp = static_cast<Stamp>(n - shape_.prompt_tokens + 1);
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      Stamp* ts = stamp_[l].data();
      for (std::size_t i = 0; i < nw; ++i) {
        resident_ += static_cast<std::uint64_t>(std::popcount(s[i] & ~h[i]));
        h[i] |= s[i];
      }
      core::assign_where(ts, s, nw, step_stamp);
      r.layer(l).set(n);
      ts[n] = step_stamp;
      ++resident_;
      if (resident_ > capacity_) evict(resident_ - capacity_, now, r);
    }
  }

 private:
  std::uint32_t event(std::uint32_t n, std::uint32_t l) const {
    return (n - shape_.prompt_tokens) * shape_.layers + l + 1;
  }
  // Last token that may carry stamp tau, and the layer of bucket tau (tau >= 1).
  std::uint32_t bucket_layer(std::uint32_t tau) const { return (tau - 1) % shape_.layers; }
  std::uint32_t bucket_step(std::uint32_t tau) const { return shape_.prompt_tokens + (tau - 1) / shape_.layers; }

  void evict(std::uint64_t count, std::uint32_t now, cost::Residency& r) {
    while (count > 0) {
      if (frontier_ == 0) {
        // Bucket 0 holds the prefill placement in every layer; it needs the residency check because
        // never-touched non-resident entries also carry stamp 0.
        for (; cursor_layer_ < shape_.layers && count > 0; ++cursor_layer_, cursor_ = 0) {
          core::TokenBitset& h = r.layer(cursor_layer_);
          const Stamp* ts = stamp_[cursor_layer_].data();
          for (std::size_t t = h.find_next(cursor_); t < h.capacity() && count > 0; t = h.find_next(t + 1)) {
            cursor_ = t + 1;
            if (ts[t] != 0) continue;
            h.reset(t);
            --count;
            --resident_;
          }
          if (count == 0) return;
        }
        advance();
        continue;
      }
      const std::uint32_t l = bucket_layer(frontier_);
      const std::size_t last_word = bucket_step(frontier_) / kWordBits;
      const auto tau = static_cast<Stamp>((frontier_ - 1) / shape_.layers + 1);
      const Stamp* ts = stamp_[l].data();
      Word* h = r.layer(l).data();
      std::size_t w = cursor_;
      for (; w <= last_word && count > 0; ++w) {
        if (h[w] == 0) continue;
        // Entries stamped tau are resident unless this frontier already evicted them; tokens newer
        // than the bucket's step carry larger stamps, so no bound check is needed within the word.
        const Word victims = lowest_bits(match_word(ts + w * kWordBits, tau) & h[w], count);
        h[w] &= ~victims;
        const auto evicted = static_cast<std::uint64_t>(std::popcount(victims));
        count -= evicted;
        resident_ -= evicted;
        if (count == 0) break;  // the word may hold more: resume here
      }
      cursor_ = w;
      if (count > 0) {
        if (frontier_ == now) return;  // cannot happen: the current layer alone fits in C
        advance();
      }
    }
  }

  void advance() {
    ++frontier_;
    cursor_ = 0;
    cursor_layer_ = 0;
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::vector<std::vector<Stamp>> stamp_;  // [layer][token]: n - P + 1 of the last read or keep
  std::uint64_t resident_ = 0;
  std::uint32_t frontier_ = 0;      // smallest stamp any resident entry may still carry
  std::size_t cursor_ = 0;          // frontier bucket: tokens (bucket 0) or words (others) below are done
  std::uint32_t cursor_layer_ = 0;  // bucket 0 only
};


// The batch and block rule (header): one stamp per block, [layer][position / k] (segments start on
// multiples of max(64, k), so position / k numbers the blocks), step part only as above. Compact
// stamps keep a layer's stamps in cache: at k = 16 a layer of the 32 x 32K-token batch is 135 KB
// of stamps instead of 2.1 MB.
template <class Stamp>
class BlockLru final : public Policy {
 public:
  explicit BlockLru(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries), blocks_(ctx.shape.block_tokens),
        words_(core::words_for(ctx.shape.space())), exists_(ctx.shape.space()), read_starts_(words_, 0),
        stamp_(ctx.shape.layers, std::vector<Stamp>((words_ * kWordBits + blocks_.k() - 1) / blocks_.k(), 0)) {}

  std::string_view name() const override { return "reactive_lru"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    resident_ = place_in_token_order(r, shape_, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n(), k = shape_.block_tokens;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, n));
    const auto step_stamp = static_cast<Stamp>(n - shape_.prompt_tokens + 1);
    const Word* x = exists_.data();
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      Stamp* ts = stamp_[l].data();
      // Promote the blocks read while not resident (with every existing token), stamp every block read.
      for (std::size_t g = 0; g < blocks_.groups(words_); ++g) {
        const Word read = blocks_.touched(s, g, words_);
        if (k == 1) {
          read_starts_[g] = read;  // stamped below, vectorised where the kernel allows
        } else {
          stamp_blocks(blocks_, ts, g, read, step_stamp);
        }
        if (read == 0) continue;
        const Word promoted = blocks_.touched_and_not(s, h, g, words_);
        if (promoted == 0) continue;
        resident_ += std::uint64_t{k} * static_cast<std::uint64_t>(std::popcount(promoted));
        const Word bits = blocks_.spread(promoted);
        for (std::size_t i = blocks_.first_word(g); i < blocks_.last_word(g, words_); ++i) h[i] |= bits & x[i];
      }
      if (k == 1) core::assign_where(ts, read_starts_.data(), words_, step_stamp);
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::size_t at = shape_.new_entry(b, n);
        bool kept = false;
        resident_ += keep_new_token(shape_, b, at, r.layer(l), &kept);
        if (kept) ts[at / k] = step_stamp;
      }
      if (resident_ > capacity_) evict(resident_ - capacity_, event(n, l), r);
    }
  }

 private:
  std::uint32_t event(std::uint32_t n, std::uint32_t l) const {
    return (n - shape_.prompt_tokens) * shape_.layers + l + 1;
  }

  // Evicts whole blocks until `over` entries are freed (or nothing is left), oldest stamp first.
  void evict(std::uint64_t over, std::uint32_t now, cost::Residency& r) {
    const std::uint32_t k = shape_.block_tokens;
    std::uint64_t count = (over + k - 1) / k;  // blocks
    while (count > 0) {
      // Bucket 0 (prefill, every layer) and bucket tau >= 1 (one (step, layer)) are scanned the same way.
      const std::uint32_t l = frontier_ == 0 ? cursor_layer_ : (frontier_ - 1) % shape_.layers;
      const auto tau = static_cast<Stamp>(frontier_ == 0 ? 0 : (frontier_ - 1) / shape_.layers + 1);
      count = evict_bucket(count, tau, r.layer(l).data(), stamp_[l].data());
      if (count == 0) return;
      if (frontier_ == 0 && cursor_layer_ + 1 < shape_.layers) {
        ++cursor_layer_;
        cursor_ = 0;
        continue;
      }
      if (frontier_ == now) return;  // everything is gone
      ++frontier_;
      cursor_ = 0;
    }
  }

  // Evicts up to `count` resident blocks stamped tau from cursor_ on, lowest position first; returns
  // how many are still to evict. cursor_ stays on a group that may hold more.
  std::uint64_t evict_bucket(std::uint64_t count, Stamp tau, Word* h, const Stamp* ts) {
    const std::uint32_t k = shape_.block_tokens;
    const std::size_t groups = blocks_.groups(words_);
    std::size_t g = cursor_;
    for (; g < groups && count > 0; ++g) {
      const std::size_t first = blocks_.first_word(g);
      Word victims = blocks_.touched(h, g, words_);
      if (victims == 0) continue;
      victims = lowest_bits(victims & stamped(blocks_, ts, g, tau), count);
      const Word bits = blocks_.spread(victims);
      for (std::size_t i = first; i < blocks_.last_word(g, words_); ++i) h[i] &= ~bits;
      const auto evicted = static_cast<std::uint64_t>(std::popcount(victims));
      count -= evicted;
      resident_ -= evicted * k;
      if (count == 0) break;  // the group may hold more: resume here
    }
    cursor_ = g;
    return count;
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  core::BlockWords blocks_;
  std::size_t words_;
  core::TokenBitset exists_;        // tokens that exist (prompts, then one per sequence and step)
  std::vector<Word> read_starts_;   // k = 1: the current (step, layer)'s read tokens, stamped at once
  std::vector<std::vector<Stamp>> stamp_;  // [layer][position / k]: n - P + 1 of the last read or keep
  std::uint64_t resident_ = 0;      // entries: k per resident block
  std::uint32_t frontier_ = 0;      // smallest stamp any resident block may still carry
  std::size_t cursor_ = 0;          // frontier bucket: groups below are done
  std::uint32_t cursor_layer_ = 0;  // bucket 0 only
};

}  // namespace

std::unique_ptr<Policy> make_reactive_lru(const PolicyContext& ctx) {
  if (ctx.shape.batched() || ctx.shape.block_tokens > 1) {
    if (ctx.shape.decode_tokens < 0xffff) return std::make_unique<BlockLru<std::uint16_t>>(ctx);
    return std::make_unique<BlockLru<std::uint32_t>>(ctx);
  }
  if (ctx.shape.decode_tokens < 0xffff) return std::make_unique<ReactiveLru<std::uint16_t>>(ctx);
  return std::make_unique<ReactiveLru<std::uint32_t>>(ctx);
}

}  // namespace kvsweep::policy
