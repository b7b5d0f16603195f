#pragma once
// Internal to the synthetic generator: the span state of one layer. Each layer owns its state and its
// random stream, so layers can be stepped in parallel without changing the output.

#include <array>
#include <cstdint>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/trace/synthetic.hpp"
#include "synthetic_profile.hpp"

namespace kvsweep::trace::detail {

// Lifetimes at least this long never expire inside a trace (and need no calendar entry).
inline constexpr double kNeverSteps = 1e12;

// A geometric draw (>= 1). Span creation is the hot loop (~1e8 spans at paper scale), so small means
// use an inverse-CDF table with a guide table (one 64-bit draw, ~1 comparison, no logarithm);
// large means (heavy-hitter lifetimes, drawn rarely) use the logarithm, precomputed once.
class Geometric {
 public:
  Geometric() = default;
  explicit Geometric(double mean);
  bool never() const { return never_; }
  std::uint64_t operator()(core::Rng& rng) const {
    if (thresholds_.empty()) return draw_slow(rng);
    const std::size_t size = thresholds_.size();
    for (std::uint64_t base = 0;; base += size) {
      const std::uint64_t r = rng();
      std::size_t i = guide_[r >> (64 - kGuideBits)];
      while (i < size && r >= thresholds_[i]) ++i;
      if (i < size) return base + i + 1;  // else past the table: memoryless, so draw the excess again
    }
  }

 private:
  static constexpr double kTableMaxMean = 64;
  std::uint64_t draw_slow(core::Rng& rng) const;
  bool never_ = false;
  double inv_log_keep_ = 0;                // 1 / log(1 - 1/mean); 0 means "always 1"
  std::vector<std::uint64_t> thresholds_;  // r < thresholds_[i] (r uniform 64-bit) <=> draw <= i + 1
  // 256 guide buckets: the search loop mostly stops at once (1024 measured no faster).
  static constexpr std::uint32_t kGuideBits = 8;
  std::array<std::uint16_t, std::size_t{1} << kGuideBits> guide_{};  // first i with threshold > bucket
};

// Immutable per-layer settings.
struct LayerModel {
  std::uint32_t end_step = 0;  // P + D: no step at or after it is ever generated
  double heavy_share = 0;
  double recall_prob = 0;
  double cross_share = 0;
  Geometric span_length;  // shared with the cross-layer proposal stream
  Geometric heavy_life;
  Geometric burst_life;
  const PositionProfile* profile = nullptr;  // owned by the source, shared by every layer; null: uniform
  std::uint64_t seed = 0;  // the layer's own stream
};

class LayerGenerator {
 public:
  explicit LayerGenerator(const LayerModel& model);

  // Advances the span state to step n and writes S(n, l) into out (capacity >= P + D). Once started,
  // it must be called for every following step in order.
  void step(std::uint32_t n, const ReadLayout& lay, std::uint64_t shared_seed, core::TokenBitset& out);
  void live_spans(SpanKind kind, core::TokenBitset& out) const;

 private:
  static constexpr std::uint32_t kNoExpiry = 0xffffffffU;
  // A two-level timing wheel: a ring of one bucket per step for the current lap of kCalendarSize steps,
  // and one bucket per later lap, emptied into the ring when its lap starts. Bursts live a few to a
  // few tens of steps; the long-lived spans (heavy hitters) wait in the lap buckets.
  static constexpr std::uint32_t kCalendarSize = 256;
  static constexpr std::uint32_t kHistorySize = 4096;
  static constexpr std::size_t kSpareMinCapacity = 64;  // smaller buckets are not worth recycling
  static constexpr std::size_t kMaxSpareBuckets = 4;

  // A live span lives in the calendar bucket of its expiry step (or in immortal_), so expiring a step
  // touches exactly that bucket and no index has to be kept in sync.
  struct Span {
    std::uint32_t start;
    std::uint32_t len;
    std::uint32_t expiry;  // kNoExpiry for spans that outlive the trace
    SpanKind kind;
  };
  struct Recalled {
    std::uint32_t start;
    std::uint32_t len;
  };

  void count_expired(std::uint32_t n);
  // Clears the spans that expire at n from occupied_ and records expired bursts for recall.
  void release_expired(std::uint32_t n);
  void enforce_region(std::uint32_t n, std::uint32_t lo, std::uint32_t hi, std::uint32_t dynamic);
  void fill(std::uint32_t n, std::uint32_t lo, std::uint32_t hi, std::uint32_t dynamic,
            std::uint64_t shared_seed);
  // Places a span of at most `want` tokens at the first free token from `pos`, or, when [pos, hi) is
  // full, ending at the last free token before pos; returns false when [lo, hi) has no free token.
  bool place(std::uint32_t n, std::uint32_t pos, std::uint32_t want, std::uint32_t lo, std::uint32_t hi,
             SpanKind kind);
  void account(const Span& s, bool add);
  void schedule(const Span& s);
  void start_lap(std::uint32_t n);
  template <class F>
  void for_each_bucket(F&& f);

  LayerModel model_;
  core::Rng rng_;
  core::TokenBitset occupied_;  // tokens of live spans (and of spans expiring in the current step)
  std::vector<std::vector<Span>> calendar_;  // bucket e % kCalendarSize: spans expiring at e, this lap
  std::vector<std::vector<Span>> laps_;      // bucket e / kCalendarSize: spans due in a later lap
  std::uint32_t lap_ = 0;                    // the lap of the current step
  std::vector<Span> immortal_;
  // Storage of emptied buckets, handed to the buckets that fill next. Without it every bucket keeps
  // the capacity of its fullest step (~100 MB at paper scale and Jaccard 0.6) although only the next
  // few dozen steps' buckets hold spans.
  std::vector<std::vector<Span>> spare_buckets_;
  std::vector<Recalled> history_;  // ring of expired bursts
  std::uint32_t history_next_ = 0;
  // The history entry the next recall will use, drawn one recall ahead so that it can be prefetched:
  // the rings of all layers (1 MB at L = 32) do not stay in cache, and the miss was the hottest spot.
  std::uint32_t recall_pick_ = 0;
  bool recall_ready_ = false;
  std::uint32_t live_ = 0;  // tokens in live spans, not counting those expiring now
  std::uint32_t heavy_live_ = 0;
  std::uint32_t lo_ = 0, hi_ = 0;  // the span region of the previous step
  bool started_ = false;
};

}  // namespace kvsweep::trace::detail
