// lru_hot — the production baseline of sparse-attention serving (SGLang/vLLM HiSparse: the sparse KV in
// host memory, a GPU hot buffer per request and layer, LRU). Online.
// HBM is split into hot buffers, one per (sequence, layer) pair, as streaming splits it: floor(C / (B L))
// entries each, one more for the first C mod (B L) pairs in layer-major order (layer l, then sequence b);
// a buffer of s entries holds floor(s / k) blocks. Prefill: static's placement (the prompts' first
// blocks in token order) trimmed to each buffer by the eviction rule below (every stamp 0: lowest
// positions evicted first). At (n, l): every block of the layer with a read token that is not held is
// promoted (piggy-backed: its read tokens cross the link anyway), the sequence's new token joins its
// block if held or starts a block of its own (kept), and a block's stamp becomes n - P + 1 when it is
// read or started (prefill blocks: 0). Then, per buffer over its share, the blocks with the smallest
// stamps are evicted, ties lowest position. Unlike reactive_lru, whose one LRU spans every layer and
// sequence, a layer or a sequence that reads a lot cannot take another's room.
//
// Each buffer finds its victims on its own monotone LRU frontier (reactive_lru.cpp explains why that
// is exact): stamps only ever become the current step's, so once a buffer holds nothing stamped below
// tau it never will again, and victims are found by scanning the frontier bucket from a cursor.
#include <algorithm>
#include <bit>

#include "kvsweep/core/masked_lanes.hpp"
#include "kvsweep/policy/policies.hpp"
#include "stamps.hpp"

namespace kvsweep::policy {
namespace {

// Words: core::BlockWords, or core::TokenWords for k = 1 (plain word operations).
template <class Stamp, class Words>
class LruHot final : public Policy {
 public:
  explicit LruHot(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries), blocks_(make_words(ctx.shape.block_tokens)),
        words_(core::words_for(ctx.shape.space())), exists_(ctx.shape.space()), read_starts_(words_, 0),
        stamp_(ctx.shape.layers, std::vector<Stamp>((words_ * kWordBits + blocks_.k() - 1) / blocks_.k(), 0)) {
    const auto& sh = shape_;
    const std::uint32_t pairs = sh.batch_size() * sh.layers;
    const std::size_t group_tokens = blocks_.per() * kWordBits;
    for (std::uint32_t i = 0; i < pairs; ++i) {
      const std::uint32_t b = i % sh.batch_size();
      const std::size_t end = sh.base(b) + sh.prompt(b) + sh.decode_tokens;
      Buffer f;
      f.g0 = f.cursor = sh.base(b) / group_tokens;
      f.g1 = std::min(blocks_.groups(words_), (end + group_tokens - 1) / group_tokens);
      f.share = layer_budget(capacity_, pairs, i) / sh.block_tokens;
      f.first_token = sh.base(b) + sh.prompt(b);
      buffers_.push_back(f);
    }
  }
  std::string_view name() const override { return "lru_hot"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    place_in_token_order(r, shape_, capacity_);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* h = r.layer(l).data();
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        Buffer& f = buffer(l, b);
        for (std::size_t g = f.g0; g < f.g1; ++g) f.held += static_cast<std::uint64_t>(std::popcount(blocks_.touched(h, g, words_)));
      }
    }
    trim_all(r, 0);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n(), k = shape_.block_tokens;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, n));
    const auto now = static_cast<Stamp>(n - shape_.prompt_tokens + 1);
    const Word* x = exists_.data();
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      Stamp* ts = stamp_[l].data();
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        Buffer& f = buffer(l, b);
        // Promote the blocks read while not held (with every existing token), stamp every block read.
        for (std::size_t g = f.g0; g < f.g1; ++g) {
          const Word read = blocks_.touched(s, g, words_);
          if constexpr (!Words::kBlocks) {
            read_starts_[g] = read;  // stamped below, vectorised
          } else if (read != 0) {
            stamp_blocks(blocks_, ts, g, read, now);
          }
          if (read == 0) continue;
          const Word promoted = blocks_.touched_and_not(s, h, g, words_);
          if (promoted == 0) continue;
          f.held += static_cast<std::uint64_t>(std::popcount(promoted));
          const Word bits = blocks_.spread(promoted);
          for (std::size_t i = blocks_.first_word(g); i < blocks_.last_word(g, words_); ++i) h[i] |= bits & x[i];
        }
        const std::size_t at = shape_.new_entry(b, n);
        bool kept = false;
        if (keep_new_token(shape_, b, at, r.layer(l), &kept) != 0) {  // it started a block
          ts[at / k] = now;
          ++f.held;
        }
      }
      if constexpr (!Words::kBlocks) core::assign_where(ts, read_starts_.data(), words_, now);
    }
    trim_all(r, now);
  }

 private:
  struct Buffer {
    std::size_t g0 = 0, g1 = 0;  // the sequence's groups
    std::uint64_t share = 0;     // blocks
    std::uint64_t held = 0;      // blocks
    std::size_t first_token = 0; // the sequence's first decode token (stamp 1)
    Stamp tau = 0;               // smallest stamp a held block of the buffer may still carry
    std::size_t cursor = 0;      // bucket tau: groups below are done
  };
  Buffer& buffer(std::uint32_t l, std::uint32_t b) { return buffers_[static_cast<std::size_t>(l) * shape_.batch_size() + b]; }

  void trim_all(cost::Residency& r, Stamp now) {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) trim(buffer(l, b), r.layer(l).data(), stamp_[l].data(), now);
    }
  }

  // Evicts buffer f's oldest blocks, lowest position first among equals, until it fits its share.
  void trim(Buffer& f, Word* h, const Stamp* ts, Stamp now) {
    while (f.held > f.share) {
      // Stamp tau >= 1 is carried by tokens read or started at step P + tau - 1: none beyond.
      const std::size_t end = f.tau == 0 ? f.g1 : std::min(f.g1, group_of(f.first_token + f.tau - 1) + 1);
      std::size_t g = f.cursor;
      for (; g < end && f.held > f.share; ++g) {
        const Word held = blocks_.touched(h, g, words_);
        if (held == 0) continue;
        const Word victims = lowest_bits(held & stamp_match(ts, g, f.tau), f.held - f.share);
        const Word bits = blocks_.spread(victims);
        for (std::size_t i = blocks_.first_word(g); i < blocks_.last_word(g, words_); ++i) h[i] &= ~bits;
        f.held -= static_cast<std::uint64_t>(std::popcount(victims));
        if (f.held <= f.share) break;  // the group may hold more of the bucket: resume here
      }
      f.cursor = g;
      if (f.held <= f.share || f.tau == now) return;  // (the second cannot happen: nothing is newer)
      ++f.tau;
      f.cursor = f.g0;
    }
  }

  static Words make_words(std::uint32_t k) {
    if constexpr (Words::kBlocks) {
      return Words(k);
    } else {
      return Words{};
    }
  }
  std::size_t group_of(std::size_t position) const { return position / (blocks_.per() * kWordBits); }
  Word stamp_match(const Stamp* ts, std::size_t g, Stamp tau) const {
    if constexpr (Words::kBlocks) {
      return stamped(blocks_, ts, g, tau);
    } else {
      return match_word(ts + g * kWordBits, tau);
    }
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  Words blocks_;
  std::size_t words_;
  core::TokenBitset exists_;               // tokens that exist (prompts, then one per sequence and step)
  std::vector<Word> read_starts_;          // k = 1: the current (step, layer)'s read tokens, stamped at once
  std::vector<std::vector<Stamp>> stamp_;  // [layer][position / k]: n - P + 1 of the last read or start
  std::vector<Buffer> buffers_;            // index l * B + b
};

}  // namespace

std::unique_ptr<Policy> make_lru_hot(const PolicyContext& ctx) {
  const bool narrow = ctx.shape.decode_tokens < 0xffff;
  if (ctx.shape.block_tokens == 1) {
    if (narrow) return std::make_unique<LruHot<std::uint16_t, core::TokenWords>>(ctx);
    return std::make_unique<LruHot<std::uint32_t, core::TokenWords>>(ctx);
  }
  if (narrow) return std::make_unique<LruHot<std::uint16_t, core::BlockWords>>(ctx);
  return std::make_unique<LruHot<std::uint32_t, core::BlockWords>>(ctx);
}

}  // namespace kvsweep::policy
