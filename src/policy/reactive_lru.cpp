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
// frontier bucket instead of keeping a priority queue keyed on every read.
#include <algorithm>
#include <bit>
#include <cstring>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

using core::Word;
using core::kWordBits;

class ReactiveLru final : public Policy {
 public:
  explicit ReactiveLru(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        stamp_(ctx.shape.layers, std::vector<std::uint32_t>(ctx.shape.total_tokens(), 0)) {}

  std::string_view name() const override { return "reactive_lru"; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_.prompt_tokens, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::uint32_t now = event(n, l);
      const Word* s = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      std::uint32_t* ts = stamp_[l].data();
      for (std::size_t i = 0; i < nw; ++i) {
        const Word sw = s[i];
        if (sw == 0) continue;
        resident_ += static_cast<std::uint64_t>(std::popcount(sw & ~h[i]));
        h[i] |= sw;
        for (Word x = sw; x != 0; x &= x - 1) ts[i * kWordBits + std::countr_zero(x)] = now;
      }
      r.layer(l).set(n);
      ts[n] = now;
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
          const std::uint32_t* ts = stamp_[cursor_layer_].data();
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
      const std::uint32_t end = bucket_step(frontier_) + 1;
      const std::uint32_t tau = frontier_;
      const std::uint32_t* ts = stamp_[l].data();
      core::TokenBitset& h = r.layer(l);
      std::uint32_t t = static_cast<std::uint32_t>(cursor_);
      while (count > 0) {
        t = find_stamp(ts, t, end, tau);
        if (t >= end) break;
        // An entry stamped tau at or after the cursor is resident: it was read or kept at tau and
        // only this frontier evicts, always before the cursor.
        h.reset(t);
        --count;
        --resident_;
        ++t;
      }
      cursor_ = t;
      if (count > 0) {
        if (tau == now) return;  // nothing older remains and the current layer is empty: cannot happen
        advance();
      }
    }
  }

  // First index in [from, end) whose stamp equals tau, or end. The bulk runs 16 stamps at a time with
  // GCC vector extensions (SSE2 compares): the frontier scans are most of this policy's time.
  static std::uint32_t find_stamp(const std::uint32_t* ts, std::uint32_t from, std::uint32_t end,
                                  std::uint32_t tau) {
    using V4 = std::uint32_t __attribute__((vector_size(16)));
    constexpr std::uint32_t kBlock = 16;
    std::uint32_t i = from;
    while (i < end && i % kBlock != 0) {
      if (ts[i] == tau) return i;
      ++i;
    }
    const V4 key = {tau, tau, tau, tau};
    for (; i + kBlock <= end; i += kBlock) {
      V4 a, b, c, d;
      std::memcpy(&a, ts + i, sizeof a);
      std::memcpy(&b, ts + i + 4, sizeof b);
      std::memcpy(&c, ts + i + 8, sizeof c);
      std::memcpy(&d, ts + i + 12, sizeof d);
      const V4 hit = (a == key) | (b == key) | (c == key) | (d == key);
      if ((hit[0] | hit[1] | hit[2] | hit[3]) != 0) break;
    }
    for (; i < end; ++i) {
      if (ts[i] == tau) return i;
    }
    return end;
  }

  void advance() {
    ++frontier_;
    cursor_ = 0;
    cursor_layer_ = 0;
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::vector<std::vector<std::uint32_t>> stamp_;
  std::uint64_t resident_ = 0;
  std::uint32_t frontier_ = 0;      // smallest stamp any resident entry may still carry
  std::size_t cursor_ = 0;          // within the frontier bucket: tokens below are done
  std::uint32_t cursor_layer_ = 0;  // bucket 0 only
};

}  // namespace

std::unique_ptr<Policy> make_reactive_lru(const PolicyContext& ctx) { return std::make_unique<ReactiveLru>(ctx); }

}  // namespace kvsweep::policy
