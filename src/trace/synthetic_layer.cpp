#include "synthetic_layer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace kvsweep::trace::detail {

namespace {

using core::kWordBits;
using core::Word;

// Inline word-level versions of the TokenBitset range operations: spans are a few tokens long and
// these run ~1e8 times at paper scale, where a call per operation shows in the profile.
void set_bits(Word* words, std::uint32_t b, std::uint32_t e) {
  const std::uint32_t wb = b / kWordBits, we = (e - 1) / kWordBits;
  const std::uint32_t lo = b % kWordBits, hi = (e - 1) % kWordBits + 1;
  if (wb == we) {
    words[wb] |= core::bit_mask(lo, hi);
    return;
  }
  words[wb] |= core::bit_mask(lo, kWordBits);
  for (std::uint32_t w = wb + 1; w < we; ++w) words[w] = ~Word{0};
  words[we] |= core::bit_mask(0, hi);
}

void reset_bits(Word* words, std::uint32_t b, std::uint32_t e) {
  const std::uint32_t wb = b / kWordBits, we = (e - 1) / kWordBits;
  const std::uint32_t lo = b % kWordBits, hi = (e - 1) % kWordBits + 1;
  if (wb == we) {
    words[wb] &= ~core::bit_mask(lo, hi);
    return;
  }
  words[wb] &= ~core::bit_mask(lo, kWordBits);
  for (std::uint32_t w = wb + 1; w < we; ++w) words[w] = 0;
  words[we] &= ~core::bit_mask(0, hi);
}

// First set (want_set) or clear bit in [from, end), or end.
template <bool want_set>
std::uint32_t find_bit(const Word* words, std::uint32_t from, std::uint32_t end) {
  if (from >= end) return end;
  std::uint32_t w = from / kWordBits;
  Word x = (want_set ? words[w] : ~words[w]) & ~core::bit_mask(0, from % kWordBits);
  while (true) {
    if (x != 0) {
      const std::uint32_t i = w * kWordBits + static_cast<std::uint32_t>(std::countr_zero(x));
      return i < end ? i : end;
    }
    if (++w * kWordBits >= end) return end;
    x = want_set ? words[w] : ~words[w];
  }
}

// Last set (want_set) or clear bit in [begin, end), or end when there is none.
template <bool want_set>
std::uint32_t find_last_bit(const Word* words, std::uint32_t begin, std::uint32_t end) {
  if (begin >= end) return end;
  std::uint32_t w = (end - 1) / kWordBits;
  Word x = (want_set ? words[w] : ~words[w]) & core::bit_mask(0, (end - 1) % kWordBits + 1);
  while (true) {
    if (x != 0) {
      const std::uint32_t i = w * kWordBits + kWordBits - 1 - static_cast<std::uint32_t>(std::countl_zero(x));
      return i >= begin ? i : end;
    }
    if (w * kWordBits <= begin) return end;
    --w;
    x = want_set ? words[w] : ~words[w];
  }
}

__extension__ using U128 = unsigned __int128;  // GCC/Clang extension, silenced for -Wpedantic

// Marks [b, b + len) for len <= 64 without branches on the (random) word boundary.
void set_short(Word* words, std::uint32_t b, std::uint32_t len) {
  const std::uint32_t w = b / kWordBits;
  const U128 mask = ((U128{1} << len) - 1) << (b % kWordBits);
  words[w] |= static_cast<Word>(mask);
  words[w + 1] |= static_cast<Word>(mask >> kWordBits);
}

void reset_short(Word* words, std::uint32_t b, std::uint32_t len) {
  const std::uint32_t w = b / kWordBits;
  const U128 mask = ((U128{1} << len) - 1) << (b % kWordBits);
  words[w] &= ~static_cast<Word>(mask);
  words[w + 1] &= ~static_cast<Word>(mask >> kWordBits);
}

// The first set bit in [from, from + len), or from + len, for len <= 64: one 128-bit window.
std::uint32_t find_set_short(const Word* words, std::uint32_t from, std::uint32_t len) {
  const std::uint32_t w = from / kWordBits;
  const U128 both = static_cast<U128>(words[w]) | (static_cast<U128>(words[w + 1]) << kWordBits);
  const auto window = static_cast<Word>(both >> (from % kWordBits));
  const auto first = static_cast<std::uint32_t>(std::countr_zero(window));  // 64 when none
  return from + std::min(first, len);
}

}  // namespace

Geometric::Geometric(double mean) {
  if (mean >= kNeverSteps) {
    never_ = true;
    return;
  }
  if (mean <= 1.0) return;
  inv_log_keep_ = 1.0 / std::log1p(-1.0 / mean);
  if (mean > kTableMaxMean) return;
  // Entries until the tail keep^K is below 1e-4; a draw past the table restarts (memoryless).
  const auto entries = static_cast<std::size_t>(std::ceil(std::log(1e-4) * inv_log_keep_));
  thresholds_.reserve(entries);
  for (std::size_t k = 1; k <= entries; ++k) {
    const double cdf = -std::expm1(static_cast<double>(k) * std::log1p(-1.0 / mean));
    thresholds_.push_back(static_cast<std::uint64_t>(std::ldexp(std::min(cdf, 1.0 - 0x1.0p-52), 64)));
  }
  std::uint32_t i = 0;
  for (std::uint32_t b = 0; b < guide_.size(); ++b) {
    const std::uint64_t bucket_low = std::uint64_t{b} << (64 - kGuideBits);
    while (i < thresholds_.size() && thresholds_[i] <= bucket_low) ++i;
    guide_[b] = static_cast<std::uint16_t>(i);
  }
}

std::uint64_t Geometric::draw_slow(core::Rng& rng) const {
  if (never_) return ~std::uint64_t{0};
  if (inv_log_keep_ == 0.0) return 1;
  const double u = 1.0 - rng.uniform();  // (0, 1], so the log is finite
  const double k = std::floor(std::log(u) * inv_log_keep_) + 1.0;
  return k > 1e18 ? static_cast<std::uint64_t>(1e18) : static_cast<std::uint64_t>(k);
}

LayerGenerator::LayerGenerator(const LayerModel& model)
    // One spare word past the end lets the short-span fast paths touch words w and w + 1 unchecked.
    : model_(model),
      rng_(model.seed),
      occupied_(model.end_step + kWordBits),
      calendar_(kCalendarSize),
      laps_(model.end_step / kCalendarSize + 1) {
  history_.reserve(kHistorySize);
  static const PositionProfile kUniform;
  if (model_.profile == nullptr) model_.profile = &kUniform;
}

void LayerGenerator::step(std::uint32_t n, const ReadLayout& lay, std::uint64_t shared_seed,
                          core::TokenBitset& out) {
  if (!started_ && lay.budget >= n) {
    // Nothing to choose while the budget is the whole past (a prefix of steps, e.g. all of them at
    // sparsity 0); the spans start at the first step that leaves something out.
    out.clear();
    out.set_range(0, n);
    return;
  }
  if (!started_) lap_ = n / kCalendarSize;
  started_ = true;
  start_lap(n);
  const std::uint32_t lo = lay.sinks;
  const std::uint32_t hi = n - lay.window;
  count_expired(n);
  enforce_region(n, lo, hi, lay.dynamic);
  fill(n, lo, hi, lay.dynamic, shared_seed);
  release_expired(n);

  // Span tokens lie in [lo, hi), so copying the words below n and zeroing the rest is the clear + OR.
  const std::size_t copy_words = std::min(core::words_for(n), occupied_.word_count());
  Word* dst = out.data();
  std::memcpy(dst, occupied_.data(), copy_words * sizeof(Word));
  std::fill(dst + copy_words, dst + out.word_count(), Word{0});
  out.set_range(0, lo);
  out.set_range(hi, n);
}

template <class F>
void LayerGenerator::for_each_bucket(F&& f) {
  f(immortal_);
  for (auto& bucket : calendar_) f(bucket);
  for (auto& bucket : laps_) f(bucket);
}

void LayerGenerator::live_spans(SpanKind kind, core::TokenBitset& out) const {
  out.clear();
  auto add = [&](const std::vector<Span>& spans) {
    for (const Span& s : spans) {
      if (s.kind == kind) out.set_range(s.start, s.start + s.len);
    }
  };
  add(immortal_);
  for (const auto& bucket : calendar_) add(bucket);
  for (const auto& bucket : laps_) add(bucket);
}

void LayerGenerator::account(const Span& s, bool add) {
  if (add) {
    live_ += s.len;
    if (s.kind == SpanKind::kHeavy) heavy_live_ += s.len;
  } else {
    live_ -= s.len;
    if (s.kind == SpanKind::kHeavy) heavy_live_ -= s.len;
  }
}

void LayerGenerator::count_expired(std::uint32_t n) {
  // The expiring tokens stay marked in occupied_ until the step's new spans are placed, so that a
  // new span never lands on tokens that just left: every expired token is a real change of S, which
  // keeps the Jaccard overlap on target.
  for (const Span& s : calendar_[n % kCalendarSize]) {
    if (s.expiry <= n) account(s, false);
  }
}

void LayerGenerator::release_expired(std::uint32_t n) {
  auto& bucket = calendar_[n % kCalendarSize];
  Word* words = occupied_.data();
  std::size_t keep = 0;
  for (std::size_t i = 0; i < bucket.size(); ++i) {
    const Span s = bucket[i];
    if (s.expiry > n) {  // defensive: the ring holds only this lap's spans
      bucket[keep++] = s;
      continue;
    }
    if (s.len <= kWordBits) {
      reset_short(words, s.start, s.len);
    } else {
      reset_bits(words, s.start, s.start + s.len);
    }
    if (s.kind == SpanKind::kBurst) {
      const Recalled r{s.start, s.len};
      if (history_.size() < kHistorySize) {
        history_.push_back(r);
      } else {
        history_[history_next_] = r;
      }
      history_next_ = (history_next_ + 1) % kHistorySize;
    }
  }
  bucket.resize(keep);
  if (keep == 0 && bucket.capacity() > kSpareMinCapacity) {
    // About one bucket empties and one fills up per step, so a few spares suffice; free the rest.
    if (spare_buckets_.size() < kMaxSpareBuckets) spare_buckets_.push_back(std::move(bucket));
    bucket = std::vector<Span>();
  }
}

void LayerGenerator::start_lap(std::uint32_t n) {
  const std::uint32_t lap = n / kCalendarSize;
  if (lap == lap_) return;
  lap_ = lap;  // steps are consecutive, so laps are too
  auto& due = laps_[lap];
  for (const Span& s : due) schedule(s);
  std::vector<Span>().swap(due);
}

void LayerGenerator::schedule(const Span& s) {
  const std::uint32_t lap = s.expiry / kCalendarSize;
  if (lap != lap_) {
    laps_[lap].push_back(s);
    return;
  }
  auto& bucket = calendar_[s.expiry % kCalendarSize];
  if (bucket.size() == bucket.capacity() && !spare_buckets_.empty()) {
    std::vector<Span>& spare = spare_buckets_.back();
    spare.insert(spare.end(), bucket.begin(), bucket.end());
    bucket.swap(spare);
    spare_buckets_.pop_back();
  }
  bucket.push_back(s);
}

void LayerGenerator::enforce_region(std::uint32_t n, std::uint32_t lo, std::uint32_t hi,
                                    std::uint32_t dynamic) {
  const bool inside = live_ == 0 || (lo <= lo_ && hi >= hi_);
  lo_ = lo;
  hi_ = hi;
  if (inside && live_ <= dynamic) return;  // always, in practice: the region and budget only grow
  release_expired(n);
  Word* words = occupied_.data();
  for_each_bucket([&](std::vector<Span>& spans) {
    std::size_t keep = 0;
    for (Span s : spans) {
      const std::uint32_t b = std::max(s.start, lo);
      const std::uint32_t e = std::min(s.start + s.len, hi);
      account(s, false);
      reset_bits(words, s.start, s.start + s.len);
      if (e <= b) continue;
      s.start = b;
      s.len = e - b;
      set_bits(words, b, e);
      account(s, true);
      spans[keep++] = s;
    }
    spans.resize(keep);
  });
  // Still over budget: shorten spans from the ends until the budget holds.
  for_each_bucket([&](std::vector<Span>& spans) {
    while (live_ > dynamic && !spans.empty()) {
      Span& s = spans.back();
      const std::uint32_t cut = std::min(live_ - dynamic, s.len);
      account(s, false);
      reset_bits(words, s.start + s.len - cut, s.start + s.len);
      s.len -= cut;
      account(s, true);
      if (s.len == 0) spans.pop_back();
    }
  });
}

void LayerGenerator::fill(std::uint32_t n, std::uint32_t lo, std::uint32_t hi, std::uint32_t dynamic,
                          std::uint64_t shared_seed) {
  // The step's proposal stream is the same for every layer; a layer reads it from the start, so the
  // j-th cross-layer burst of every layer at step n lands on the same span.
  std::optional<core::Rng> shared;
  const double heavy_target = model_.heavy_share * static_cast<double>(dynamic);
  const std::uint32_t width = hi - lo;
  // One uniform draw picks shared proposal, recall or fresh position with the documented priorities.
  const double recall_cut = model_.cross_share + (1.0 - model_.cross_share) * model_.recall_prob;
  // Fresh and shared positions follow the position profile; a recall keeps its old start.
  const PositionProfile& profile = *model_.profile;
  const double qlo = profile.uniform() ? 0.0 : profile.cdf(lo, n);
  const double qhi = profile.uniform() ? 1.0 : profile.cdf(hi, n);
  auto position = [&](core::Rng& rng) {
    if (profile.uniform()) return lo + static_cast<std::uint32_t>(rng.below(width));
    return profile.draw(rng(), n, lo, hi, qlo, qhi);
  };
  auto fresh_position = [&] { return position(rng_); };

  while (live_ < dynamic) {
    const std::uint32_t need = dynamic - live_;
    SpanKind kind = SpanKind::kBurst;
    std::uint32_t pos = 0;
    std::uint64_t want = 0;
    if (static_cast<double>(heavy_live_) < heavy_target) {
      kind = SpanKind::kHeavy;
      pos = fresh_position();
      want = model_.span_length(rng_);
    } else if (const double u = rng_.uniform(); u < model_.cross_share) {
      if (!shared) shared.emplace(shared_seed);
      pos = position(*shared);
      want = model_.span_length(*shared);
    } else if (u < recall_cut && !history_.empty()) {
      if (!recall_ready_) recall_pick_ = static_cast<std::uint32_t>(rng_.below(history_.size()));
      Recalled& entry = history_[recall_pick_];
      const Recalled r = entry;
      entry.len = 0;  // back in S now: recalling it again would only collide with itself
      recall_pick_ = static_cast<std::uint32_t>(rng_.below(history_.size()));
      recall_ready_ = true;
      __builtin_prefetch(&history_[recall_pick_]);
      const bool usable = r.len != 0 && r.start >= lo && r.start < hi;
      pos = usable ? r.start : fresh_position();
      want = usable ? r.len : model_.span_length(rng_);
    } else {
      pos = fresh_position();
      want = model_.span_length(rng_);
    }
    const auto len = static_cast<std::uint32_t>(std::min<std::uint64_t>(want, need));
    if (place(n, pos, len, lo, hi, kind)) continue;
    // Only when the spans expiring now hold the last free tokens (budget close to the region).
    release_expired(n);
    if (!place(n, pos, len, lo, hi, kind)) {
      throw std::logic_error("synthetic trace: no free token below the budget");
    }
  }
}

bool LayerGenerator::place(std::uint32_t n, std::uint32_t pos, std::uint32_t want, std::uint32_t lo,
                           std::uint32_t hi, SpanKind kind) {
  Word* words = occupied_.data();
  std::uint32_t start = find_bit<false>(words, pos, hi);
  std::uint32_t end = 0;
  if (start >= hi && model_.profile->uniform()) {
    // Uniform placement wraps to lo (every trace before the position profile existed, bit for bit).
    start = find_bit<false>(words, lo, pos);
    if (start >= pos) return false;
  }
  if (start < hi) {
    const std::uint32_t len = std::min(want, hi - start);
    end = len <= kWordBits ? find_set_short(words, start, len) : find_bit<true>(words, start, start + len);
  } else {
    // Nothing free from pos to the region's end: take the nearest free run before pos, ending at its
    // newest token. (Wrapping to lo instead would move the recency profile's overflow to the oldest
    // tokens, the opposite of what it says.)
    const std::uint32_t last = find_last_bit<false>(words, lo, pos);
    if (last >= pos) return false;
    end = last + 1;
    const std::uint32_t from = end - std::min(want, end - lo);
    const std::uint32_t taken = find_last_bit<true>(words, from, end);
    start = taken >= end ? from : taken + 1;
  }
  Span s{start, end - start, kNoExpiry, kind};
  if (s.len <= kWordBits) {
    set_short(words, s.start, s.len);
  } else {
    set_bits(words, s.start, end);
  }
  account(s, true);

  const Geometric& life = kind == SpanKind::kHeavy ? model_.heavy_life : model_.burst_life;
  const std::uint64_t t = life.never() ? ~std::uint64_t{0} : life(rng_);
  if (t >= model_.end_step - n) {  // outlives the trace
    immortal_.push_back(s);
  } else {
    s.expiry = n + static_cast<std::uint32_t>(t);
    schedule(s);
  }
  return true;
}

}  // namespace kvsweep::trace::detail
