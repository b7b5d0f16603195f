#include "kvsweep/cost/judge.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kvsweep/core/block_bits.hpp"

namespace kvsweep::cost {

using core::Word;
using core::kWordBits;
using core::block_starts;
using core::fold_blocks;

namespace {

// One layer of a step, over words [0, nw): |S|, |S ∩ R_prev|, |(R \ R_prev) ∩ S|, |(R \ R_prev) \ S|, |R|;
// R_prev := R. The judge's whole cost per step, so it has a vector kernel (AVX-512 VPOPCNTQ, chosen at
// run time); both give the same counts.
struct LayerCounts {
  std::uint64_t reads = 0, hits = 0, piggyback = 0, prefetch = 0, resident = 0;
};

LayerCounts count_layer_scalar(const Word* s, Word* p, const Word* c, std::size_t nw) {
  LayerCounts k;
  for (std::size_t w = 0; w < nw; ++w) {
    const Word sw = s[w], pw = p[w], cw = c[w];
    const Word promoted = cw & ~pw;
    k.reads += static_cast<std::uint64_t>(std::popcount(sw));
    k.hits += static_cast<std::uint64_t>(std::popcount(sw & pw));
    k.piggyback += static_cast<std::uint64_t>(std::popcount(promoted & sw));
    k.prefetch += static_cast<std::uint64_t>(std::popcount(promoted & ~sw));
    k.resident += static_cast<std::uint64_t>(std::popcount(cw));
    p[w] = cw;
  }
  return k;
}

#if defined(__x86_64__)
// Not _mm512_reduce_add_epi64 nor _mm512_andnot_si512: GCC 12's headers warn inside them.
__attribute__((target("avx512f"))) std::uint64_t sum(__m512i v) {
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, v);
  std::uint64_t t = 0;
  for (const std::uint64_t x : lanes) t += x;
  return t;
}

// ~a & b: ternary-logic table bits for (a, b, c) = (0, 1, *).
__attribute__((target("avx512f"))) __m512i and_not(__m512i a, __m512i b) { return _mm512_ternarylogic_epi64(a, b, b, 0x0C); }

__attribute__((target("avx512f,avx512vpopcntdq"))) LayerCounts count_layer_avx512(const Word* s, Word* p,
                                                                                   const Word* c, std::size_t nw) {
  __m512i reads = _mm512_setzero_si512(), hits = reads, piggyback = reads, prefetch = reads, resident = reads;
  std::size_t w = 0;
  for (; w + 8 <= nw; w += 8) {
    const __m512i sw = _mm512_loadu_si512(s + w), pw = _mm512_loadu_si512(p + w), cw = _mm512_loadu_si512(c + w);
    const __m512i promoted = and_not(pw, cw);
    reads = _mm512_add_epi64(reads, _mm512_popcnt_epi64(sw));
    hits = _mm512_add_epi64(hits, _mm512_popcnt_epi64(_mm512_and_si512(sw, pw)));
    piggyback = _mm512_add_epi64(piggyback, _mm512_popcnt_epi64(_mm512_and_si512(promoted, sw)));
    prefetch = _mm512_add_epi64(prefetch, _mm512_popcnt_epi64(and_not(sw, promoted)));
    resident = _mm512_add_epi64(resident, _mm512_popcnt_epi64(cw));
    _mm512_storeu_si512(p + w, cw);
  }
  LayerCounts k = count_layer_scalar(s + w, p + w, c + w, nw - w);
  k.reads += sum(reads);
  k.hits += sum(hits);
  k.piggyback += sum(piggyback);
  k.prefetch += sum(prefetch);
  k.resident += sum(resident);
  return k;
}
#endif

LayerCounts count_layer(const Word* s, Word* p, const Word* c, std::size_t nw) {
#if defined(__x86_64__)
  static const bool vector = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512vpopcntdq") != 0;
  if (vector) return count_layer_avx512(s, p, c, nw);
#endif
  return count_layer_scalar(s, p, c, nw);
}

}  // namespace

Judge::Judge(const MemorySystem& memory, const trace::TraceShape& shape, bool enforce_capacity)
    : memory_(memory), shape_(shape), general_(shape.batched() || shape.block_tokens > 1),
      exists_(general_ ? shape.space() : 0), held_(shape.layers, 0),
      block_starts_(block_starts(std::min(shape.block_tokens, kWordBits))), enforce_capacity_(enforce_capacity),
      prev_(shape.layers, general_ ? shape.space() : shape.total_tokens()) {
  if (memory.writes_per_step != shape.batch_size() || memory.block_tokens != shape.block_tokens) {
    throw std::logic_error("judge: the memory system is set up for B = " + std::to_string(memory.writes_per_step) +
                           ", k = " + std::to_string(memory.block_tokens) + " but the trace has B = " +
                           std::to_string(shape.batch_size()) + ", k = " + std::to_string(shape.block_tokens));
  }
}

// "in the initial placement" or "after step n", for messages: built only when a schedule breaks a rule.
std::string Judge::state_name(std::optional<std::uint32_t> n) {
  return n ? "after step " + std::to_string(*n) : std::string("in the initial placement");
}

void Judge::broken(const char* what, std::uint32_t l, std::size_t w, std::optional<std::uint32_t> n) const {
  throw std::logic_error(std::string("schedule ") + what + ": layer " + std::to_string(l) + ", position " +
                         std::to_string(w * kWordBits) + "..+63, " + state_name(n));
}

// k <= 64: every block of word w is in it.
void Judge::check_word(Word c, Word x, std::uint32_t l, std::size_t w, std::optional<std::uint32_t> n) const {
  if ((c & ~x) != 0) broken("holds a token that does not exist yet in HBM", l, w, n);
  const std::uint32_t k = shape_.block_tokens;
  if (k > 1 && (fold_blocks(c, k) & block_starts_ & fold_blocks(x & ~c, k)) != 0) broken("holds part of a block in HBM", l, w, n);
}

std::uint64_t Judge::entries_in_word(Word c) const {
  const std::uint32_t k = shape_.block_tokens;
  if (k == 1) return static_cast<std::uint64_t>(std::popcount(c));
  return static_cast<std::uint64_t>(std::popcount(fold_blocks(c, k) & block_starts_)) * k;
}

std::uint64_t Judge::held_entries(const core::TokenBitset& layer, std::uint32_t l, std::optional<std::uint32_t> n) const {
  const Word* c = layer.data();
  const Word* x = exists_.data();
  const std::size_t nw = layer.word_count();
  const std::uint32_t k = shape_.block_tokens;
  std::uint64_t held = 0;
  if (k <= kWordBits) {
    for (std::size_t w = 0; w < nw; ++w) {
      check_word(c[w], x[w], l, w, n);
      held += entries_in_word(c[w]);
    }
    return held;
  }
  const std::size_t per = k / kWordBits;
  for (std::size_t w0 = 0; w0 < nw; w0 += per) {
    bool some = false, missing = false;
    for (std::size_t w = w0; w < std::min(nw, w0 + per); ++w) {
      if ((c[w] & ~x[w]) != 0) broken("holds a token that does not exist yet in HBM", l, w, n);
      some = some || c[w] != 0;
      missing = missing || (x[w] & ~c[w]) != 0;
    }
    if (some && missing) broken("holds part of a block in HBM", l, w0, n);
    if (some) held += k;
  }
  return held;
}

// The state before (prev_, held_[l]) kept the rules, so only the words that changed, and those where a
// new token appeared (it must join a resident block), can break one or change the count: one compare
// per word instead of the block folds over the whole space.
std::uint64_t Judge::held_after_step(const core::TokenBitset& layer, std::uint32_t l, std::uint32_t n) {
  if (shape_.block_tokens > kWordBits) return held_[l] = held_entries(layer, l, n);
  const Word* c = layer.data();
  const Word* p = prev_.layer(l).data();
  const Word* x = exists_.data();
  std::uint64_t held = held_[l];
  for (std::size_t w = 0; w < layer.word_count(); ++w) {
    if (c[w] == p[w]) continue;
    check_word(c[w], x[w], l, w, n);
    held = held + entries_in_word(c[w]) - entries_in_word(p[w]);
  }
  for (const std::size_t at : next_) {
    const std::size_t w = at / kWordBits;
    if (c[w] == p[w]) check_word(c[w], x[w], l, w, n);
  }
  return held_[l] = held;
}

void Judge::check_layer_bounds(const core::TokenBitset& layer, std::uint32_t n, std::uint32_t l) const {
  // Bits above n (tokens that do not exist yet at step n) must be clear.
  const Word* c = layer.data();
  const std::size_t nw = layer.word_count();
  const std::size_t wn = n / kWordBits;
  bool bad = wn < nw && (c[wn] & ~core::bit_mask(0, n % kWordBits + 1)) != 0;
  for (std::size_t w = wn + 1; w < nw && !bad; ++w) bad = c[w] != 0;
  if (bad) {
    throw std::logic_error("schedule holds a future token in HBM: layer " + std::to_string(l) +
                           " after step " + std::to_string(n));
  }
}

void Judge::begin(const Residency& initial) {
  if (initial.layers() != shape_.layers || initial.tokens() < prev_.tokens()) {
    throw std::logic_error("initial residency has the wrong shape");
  }
  std::uint64_t total = 0;
  if (general_) {
    exists_.clear();
    next_.assign(shape_.batch_size(), 0);
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
      next_[b] = shape_.base(b) + shape_.prompt(b);
    }
  }
  for (std::uint32_t l = 0; l < shape_.layers; ++l) {
    if (general_) {
      held_[l] = held_entries(initial.layer(l), l, std::nullopt);
      total += held_[l];
    } else {
      check_layer_bounds(initial.layer(l), shape_.prompt_tokens - 1, l);
      total += initial.layer(l).count();
    }
    prev_.layer(l) = initial.layer(l);
  }
  if (enforce_capacity_ && total > memory_.capacity_entries) {
    throw std::logic_error("initial placement holds " + std::to_string(total) + " entries, capacity " +
                           std::to_string(memory_.capacity_entries));
  }
  totals_ = ScheduleTotals{};
  totals_.peak_resident = total;
  records_.clear();
}

void Judge::account(std::uint32_t n, std::uint32_t l, const StepCounts& c) {
  const StepBytes b = step_bytes(memory_, c);
  const double t = step_time_s(memory_, b);
  totals_.steps += 1;
  totals_.reads += c.reads;
  totals_.hits += c.hits;
  totals_.piggyback += c.piggyback;
  totals_.prefetch += c.prefetch;
  totals_.kept_new += c.kept_new;
  totals_.transfers += c.transfers;
  totals_.hbm_hits += b.hbm_hits;
  totals_.total_time_s += t;
  totals_.hbm_bytes += b.hbm;
  totals_.link_read_bytes += b.link_read;
  totals_.link_write_bytes += b.link_write;
  totals_.dram_bytes += b.dram;
  totals_.weight_bytes += memory_.weight_bytes_per_layer;
  totals_.hbm_weight_bytes += b.hbm_weights;
  // Attribute the step to its bottleneck (ties go to HBM, then link, then DRAM).
  const double th = b.hbm / memory_.hbm_bw;
  const double tl = std::max(b.link_read / memory_.link_read_bw, b.link_write / memory_.link_write_bw);
  if (th >= t) {
    totals_.hbm_bound_s += t;
  } else if (tl >= t) {
    totals_.link_bound_s += t;
  } else {
    totals_.dram_bound_s += t;
  }
  if (record_) records_.push_back({n, l, c, t});
}

void Judge::score_step(std::uint32_t n, std::span<const core::TokenBitset> reads, const Residency& after) {
  if (general_) {
    score_step_general(n, reads, after);
    return;
  }
  std::uint64_t resident = 0;
  const std::size_t nw = n / kWordBits + 1;  // words holding tokens 0..n
  for (std::uint32_t l = 0; l < shape_.layers; ++l) {
    const core::TokenBitset& cur_layer = after.layer(l);
    check_layer_bounds(cur_layer, n, l);
    const LayerCounts k = count_layer(reads[l].data(), prev_.layer(l).data(), cur_layer.data(), nw);
    const std::uint64_t reads_n = k.reads, hits = k.hits, a1 = k.piggyback, a2 = k.prefetch, res = k.resident;
    StepCounts counts{reads_n, hits, a1, a2, cur_layer.test(n)};
    // Token n is new KV, never a promotion: H cannot hold it and S never reads it.
    if (counts.kept_new != 0) counts.prefetch -= 1;
    // One token per block: what crosses towards the GPU is every miss and every prefetch.
    if (memory_.transfer_overhead_bytes != 0) counts.transfers = (counts.reads - counts.hits) + counts.prefetch;
    account(n, l, counts);
    resident += res;
  }
  if (enforce_capacity_ && resident > memory_.capacity_entries) {
    throw std::logic_error("schedule exceeds HBM capacity after step " + std::to_string(n) + ": " +
                           std::to_string(resident) + " > " + std::to_string(memory_.capacity_entries) +
                           " entries");
  }
  if (resident > totals_.peak_resident) totals_.peak_resident = resident;
}

void Judge::score_step_general(std::uint32_t n, std::span<const core::TokenBitset> reads, const Residency& after) {
  const std::uint32_t B = shape_.batch_size(), k = shape_.block_tokens;
  for (std::uint32_t b = 0; b < B; ++b) exists_.set(next_[b]);
  const bool transfers = memory_.transfer_overhead_bytes != 0;
  const Word starts = k <= kWordBits ? block_starts(k) : 0;
  std::uint64_t held = 0;
  for (std::uint32_t l = 0; l < shape_.layers; ++l) {
    const core::TokenBitset& cur_layer = after.layer(l);
    held += held_after_step(cur_layer, l, n);
    const std::size_t nw = cur_layer.word_count();
    const Word* s = reads[l].data();
    const Word* p = prev_.layer(l).data();
    const Word* c = cur_layer.data();
    std::uint32_t kept = 0;
    for (std::uint32_t b = 0; b < B; ++b) kept += cur_layer.test(next_[b]) ? 1U : 0U;
    StepCounts counts;
    counts.writes = B;
    if (transfers && k > 1) {
      // Blocks with a token read while not resident or promoted (a new token is neither).
      Word fresh_mask = 0;
      std::size_t fresh_word = ~std::size_t{0};
      std::uint32_t next_b = 0;
      auto crossing = [&](std::size_t w) {
        Word t = (s[w] & ~p[w]) | (c[w] & ~p[w]);
        if (w != fresh_word) {  // the new tokens: B bits, in segment order, so in word order
          fresh_mask = 0;
          while (next_b < B && next_[next_b] / kWordBits < w) ++next_b;
          for (std::uint32_t b = next_b; b < B && next_[b] / kWordBits == w; ++b) fresh_mask |= Word{1} << (next_[b] % kWordBits);
          fresh_word = w;
        }
        return t & ~fresh_mask;
      };
      if (k <= kWordBits) {
        for (std::size_t w = 0; w < nw; ++w) counts.transfers += static_cast<std::uint64_t>(std::popcount(fold_blocks(crossing(w), k) & starts));
      } else {
        const std::size_t per = k / kWordBits;
        for (std::size_t w0 = 0; w0 < nw; w0 += per) {
          bool any = false;
          for (std::size_t w = w0; w < std::min(nw, w0 + per); ++w) any = any || crossing(w) != 0;
          counts.transfers += any ? 1 : 0;
        }
      }
    }
    const LayerCounts lc = count_layer(s, prev_.layer(l).data(), c, nw);
    counts.reads = lc.reads;
    counts.hits = lc.hits;
    counts.piggyback = lc.piggyback;
    counts.prefetch = lc.prefetch - kept;  // new tokens are never promotions
    counts.kept_new = kept;
    if (transfers && k == 1) counts.transfers = (counts.reads - counts.hits) + counts.prefetch;
    account(n, l, counts);
  }
  for (std::uint32_t b = 0; b < B; ++b) ++next_[b];
  if (enforce_capacity_ && held > memory_.capacity_entries) {
    throw std::logic_error("schedule exceeds HBM capacity " + state_name(n) + ": " + std::to_string(held) + " > " +
                           std::to_string(memory_.capacity_entries) + " entries" +
                           (k > 1 ? " (" + std::to_string(k) + " per resident block)" : std::string()));
  }
  if (held > totals_.peak_resident) totals_.peak_resident = held;
}

PolicyMetrics summarise(const ScheduleTotals& t, const MemorySystem& m, std::uint32_t decode_tokens) {
  PolicyMetrics r;
  const double e = m.kv_entry_bytes;
  r.total_time_s = t.total_time_s;
  r.throughput_tok_s = t.total_time_s > 0 ? decode_tokens / t.total_time_s : 0;
  r.speedup_vs_static = std::numeric_limits<double>::quiet_NaN();
  const double read_bytes = t.weight_bytes + e * static_cast<double>(t.reads);
  const double hit_bytes = t.hbm_weight_bytes + e * t.hbm_hits;
  r.hbm_hit_rate = read_bytes > 0 ? hit_bytes / read_bytes : 1.0;
  r.kv_hit_rate = t.reads > 0 ? static_cast<double>(t.hits) / static_cast<double>(t.reads) : 1.0;
  r.promotions = t.piggyback + t.prefetch;
  r.prefetches = t.prefetch;
  r.migrated_bytes = e * static_cast<double>(r.promotions);
  r.link_read_bytes = t.link_read_bytes;
  r.link_bytes = t.link_read_bytes + t.link_write_bytes;
  r.hbm_bytes = t.hbm_bytes;
  r.dram_bytes = t.dram_bytes;
  r.reads = t.reads;
  r.hits = t.hits;
  r.hbm_hits = t.hbm_hits;
  r.peak_resident_entries = t.peak_resident;
  if (t.total_time_s > 0) {
    r.hbm_bound_share = t.hbm_bound_s / t.total_time_s;
    r.link_bound_share = t.link_bound_s / t.total_time_s;
    r.dram_bound_share = t.dram_bound_s / t.total_time_s;
  }
  return r;
}

}  // namespace kvsweep::cost
