#pragma once
// The bookkeeping the online policies share (lru_hot, ema, arc, history, bandit): HBM as a cache of
// (layer, block) units over the batch's token space, kept in the policy's Residency itself.
//
// A unit is block j of layer l: positions [j k, (j + 1) k) of the layer's bitset (segments start on
// multiples of max(64, k), so a block never spans two sequences; blocks of the gaps between segments
// never exist). A held unit holds every token of it that exists (the judge's block rule): promote()
// sets them, a decode step's new token joins its block when that is held (keep_new_token, the rule every
// policy keeps), evict() clears the block. Capacity counts k entries per held unit.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kvsweep/core/block_bits.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::policy {

// The entries a policy may prefetch into layer l's step n without making the link the step's bottleneck:
// with every hit read from HBM (x = 0) and the new entry kept, the step's HBM bytes are
// H = W + e (hits + promoted + 1) and its link-read bytes Lk = e (misses + promoted - promoted_reads)
// (promoted: entries brought in on demand; those not read are prefetches already); each prefetched
// entry adds e to both, so the link catches up with HBM after (H B_lr - Lk B_hbm) / (e (B_hbm - B_lr))
// of them (none when the link is not the faster one). DRAM's term and the per-transfer cost O are not
// counted. Computable online: it uses S(n, l), which the policy sees, and the hardware.
inline std::uint64_t link_slack(const cost::MemorySystem& m, std::uint64_t hits, std::uint64_t misses,
                                std::uint64_t promoted, std::uint64_t promoted_reads) {
  if (!(m.hbm_bw > m.link_read_bw) || m.kv_entry_bytes <= 0) return 0;
  const double e = m.kv_entry_bytes;
  const double hbm = m.weight_bytes_per_layer + e * static_cast<double>(hits + promoted + 1);
  const double link = e * static_cast<double>(misses + promoted - promoted_reads);
  const double p = (hbm * m.link_read_bw - link * m.hbm_bw) / (e * (m.hbm_bw - m.link_read_bw));
  return p > 0 ? static_cast<std::uint64_t>(p) : 0;
}

class BlockCache {
 public:
  explicit BlockCache(const PolicyContext& ctx)
      : shape_(ctx.shape), k_(ctx.shape.block_tokens), space_(ctx.shape.space()),
        blocks_((space_ + k_ - 1) / k_), capacity_entries_(ctx.memory.capacity_entries),
        capacity_blocks_(ctx.memory.capacity_entries / k_), exists_(space_) {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
      bases_.push_back(shape_.base(b));
    }
  }

  const trace::TraceShape& shape() const { return shape_; }
  std::uint32_t k() const { return k_; }
  // Units per layer (blocks of the token space), and unit ids u = l * blocks() + j.
  std::size_t blocks() const { return blocks_; }
  std::size_t unit(std::uint32_t l, std::size_t j) const { return static_cast<std::size_t>(l) * blocks_ + j; }
  std::uint32_t layer_of(std::size_t u) const { return static_cast<std::uint32_t>(u / blocks_); }
  std::size_t block_of(std::size_t u) const { return u % blocks_; }
  // The sequence block j belongs to.
  std::uint32_t sequence_of(std::size_t j) const {
    return static_cast<std::uint32_t>(std::upper_bound(bases_.begin(), bases_.end(), j * k_) - bases_.begin() - 1);
  }
  std::uint64_t capacity_blocks() const { return capacity_blocks_; }
  std::uint64_t held() const { return held_; }

  bool is_held(const cost::Residency& r, std::uint32_t l, std::size_t j) const {
    if (k_ == 1) return r.layer(l).test(j);
    return r.layer(l).count_range(j * k_, end_of(j)) != 0;
  }
  // The tokens that exist (one bit per position).
  const core::TokenBitset& existing() const { return exists_; }
  // Whether block j has a token that exists (before this step's new tokens, once begin_step() ran).
  bool exists(std::size_t j) const { return k_ == 1 ? exists_.test(j) : exists_.count_range(j * k_, end_of(j)) != 0; }
  // Promotes block j of layer l: sets its existing tokens; returns how many (the entries that cross).
  std::uint32_t promote(cost::Residency& r, std::uint32_t l, std::size_t j) {
    core::TokenBitset& layer = r.layer(l);
    ++held_;
    if (k_ == 1) {  // a token: it exists (a policy promotes what it saw read, or knows exists)
      if (!exists_.test(j)) return 0;
      layer.set(j);
      return 1;
    }
    std::uint32_t entries = 0;
    for (std::size_t p = j * k_, e = end_of(j); p < e; ++p) {
      if (exists_.test(p)) {
        layer.set(p);
        ++entries;
      }
    }
    return entries;
  }
  // Tokens of block j that exist; tokens of block j in `bits`.
  std::uint32_t existing_in(std::size_t j) const {
    return k_ == 1 ? (exists_.test(j) ? 1U : 0U) : static_cast<std::uint32_t>(exists_.count_range(j * k_, end_of(j)));
  }
  std::uint32_t reads_in(const core::TokenBitset& bits, std::size_t j) const {
    return k_ == 1 ? 1U : static_cast<std::uint32_t>(bits.count_range(j * k_, end_of(j)));
  }
  void evict(cost::Residency& r, std::uint32_t l, std::size_t j) {
    if (k_ == 1) {
      r.layer(l).reset(j);
    } else {
      r.layer(l).reset_range(j * k_, end_of(j));
    }
    --held_;
  }

  // Static's prefill placement (place_in_token_order), counted: what an online policy starts from.
  void place_static(cost::Residency& r) {
    place_in_token_order(r, shape_, capacity_entries_);
    count_held(r);
  }

  // After place_prefill wrote r (whole blocks): counts what it holds.
  void count_held(const cost::Residency& r) {
    held_ = 0;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) for_each_held(r, l, [&](std::size_t) { ++held_; });
  }

  // What a layer's demand pass did: reads that hit, entries promoted, reads among them.
  struct Demand {
    std::uint64_t hits = 0, promoted = 0, promoted_reads = 0;
  };
  // For every block j of layer l that `reads` (S(n, l)) touches, ascending: f(j, held, reads in it);
  // a block not held is promoted (its existing tokens) when f returns true. One fold per word, no
  // per-block range counts (blocks of up to 64 tokens).
  template <class F>
  Demand demand(const core::TokenBitset& reads, cost::Residency& r, std::uint32_t l, F&& f) {
    Demand d;
    if (k_ > core::kWordBits) {
      for_each_block(reads, [&](std::size_t j) {
        const std::uint32_t in = reads_in(reads, j);
        const bool held = is_held(r, l, j);
        if (held) d.hits += in;
        if (f(j, held, in) && !held) {
          d.promoted += promote(r, l, j);
          d.promoted_reads += in;
        }
      });
      return d;
    }
    const core::Word* s = reads.data();
    core::Word* h = r.layer(l).data();
    const core::Word* e = exists_.data();
    const core::Word starts = core::block_starts(k_);
    const core::Word ones = k_ == core::kWordBits ? ~core::Word{0} : (core::Word{1} << k_) - 1;
    for (std::size_t w = 0, words = reads.word_count(); w < words; ++w) {
      if (s[w] == 0) continue;
      const core::Word held_starts = core::fold_blocks(h[w], k_) & starts;
      for (core::Word m = core::fold_blocks(s[w], k_) & starts; m != 0; m &= m - 1) {
        const int bit = std::countr_zero(m);
        const core::Word block = ones << bit;
        const auto in = k_ == 1 ? 1U : static_cast<std::uint32_t>(std::popcount(s[w] & block));
        const bool held = (held_starts >> bit) & 1U;
        if (held) d.hits += in;
        if (f((w * core::kWordBits + static_cast<std::size_t>(bit)) / k_, held, in) && !held) {
          const core::Word add = block & e[w];
          h[w] |= add;
          d.promoted += static_cast<std::uint64_t>(std::popcount(add));
          d.promoted_reads += in;
          ++held_;
        }
      }
    }
    return d;
  }

  // demand() with every read block promoted: the same result in word operations (blocks of up to 64
  // tokens; larger blocks go through demand()).
  Demand demand_all(const core::TokenBitset& reads, cost::Residency& r, std::uint32_t l) {
    if (k_ > core::kWordBits) return demand(reads, r, l, [](std::size_t, bool, std::uint32_t) { return true; });
    Demand d;
    const core::Word* s = reads.data();
    core::Word* h = r.layer(l).data();
    const core::Word* e = exists_.data();
    const core::Word starts = core::block_starts(k_);
    const core::Word ones = k_ == core::kWordBits ? ~core::Word{0} : (core::Word{1} << k_) - 1;
    for (std::size_t w = 0, words = reads.word_count(); w < words; ++w) {
      if (s[w] == 0) continue;
      const core::Word held = (core::fold_blocks(h[w], k_) & starts) * ones;  // every bit of the held blocks
      const core::Word missed = (core::fold_blocks(s[w] & ~held, k_) & starts) * ones;
      d.hits += static_cast<std::uint64_t>(std::popcount(s[w] & held));
      if (missed == 0) continue;
      const core::Word add = missed & e[w];
      h[w] |= add;
      d.promoted += static_cast<std::uint64_t>(std::popcount(add));
      d.promoted_reads += static_cast<std::uint64_t>(std::popcount(s[w] & missed));
      held_ += static_cast<std::uint64_t>(std::popcount(missed & starts));
    }
    return d;
  }

  // f(j) for every block holding any bit of `bits` (a read set or a residency), ascending j.
  template <class F>
  void for_each_block(const core::TokenBitset& bits, F&& f) const {
    for_each_block_in(bits, 0, blocks_, f);
  }
  // The same for blocks j0 <= j < j1, where j0 * k and j1 * k are multiples of 64 or j1 = blocks() (a
  // sequence's segment).
  template <class F>
  void for_each_block_in(const core::TokenBitset& bits, std::size_t j0, std::size_t j1, F&& f) const {
    const core::Word* x = bits.data();
    const std::size_t words = std::min(bits.word_count(), core::words_for(j1 * k_));
    if (k_ >= core::kWordBits) {
      const std::size_t per = k_ / core::kWordBits;
      for (std::size_t w = j0 * per; w < words; w += per) {
        core::Word any = 0;
        for (std::size_t i = w; i < std::min(w + per, words); ++i) any |= x[i];
        if (any != 0) f(w / per);
      }
      return;
    }
    const core::Word starts = core::block_starts(k_);
    for (std::size_t w = j0 * k_ / core::kWordBits; w < words; ++w) {
      if (x[w] == 0) continue;
      for (core::Word m = core::fold_blocks(x[w], k_) & starts; m != 0; m &= m - 1) {
        f((w * core::kWordBits + static_cast<std::size_t>(std::countr_zero(m))) / k_);
      }
    }
  }
  template <class F>
  void for_each_held(const cost::Residency& r, std::uint32_t l, F&& f) const {
    for_each_block(r.layer(l), f);
  }

  // The decode step's new tokens, layer by layer (keep_new_token's rule): f(l, j) for each that starts
  // a held block. From here on they exist (promote() includes them).
  template <class F>
  void keep_new_tokens(std::uint32_t n, cost::Residency& r, F&& f) {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, n));
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::size_t at = shape_.new_entry(b, n);
        bool kept = false;
        if (keep_new_token(shape_, b, at, r.layer(l), &kept) != 0) {
          ++held_;
          f(l, at / k_);
        }
      }
    }
  }

  // Evicts held units, smallest (key(u), u) first, until at most `budget` are held among those `member`
  // accepts (all of them for the global budget), calling on_evict(l, j) before each. key: any totally
  // ordered value (double).
  template <class Key, class Member, class OnEvict>
  void evict_to(cost::Residency& r, std::uint64_t budget, std::uint64_t held_in, Key&& key, Member&& member,
                OnEvict&& on_evict) {
    evict_with(r, budget, held_in, key, member, on_evict, [&](double t) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        for_each_held(r, l, [&](std::size_t j) {
          const std::size_t u = unit(l, j);
          const double k = key(u);
          if (k <= t && member(u)) candidates_.push_back({k, u});
        });
      }
    });
  }
  // evict_to_capacity for tokens (k = 1), in word operations: below(l, t, out) writes for each word of
  // layer l the held tokens whose key(u) is at most t (out: a word per layer word; bits of tokens not
  // held may be anything). Two thresholds t_lo <= t_hi
  // from the sample of held keys bracket the excess-th smallest: every held unit below t_lo is a victim
  // (evicted by masks, never listed); only those in [t_lo, t_hi) are listed and selected; those tied at
  // t_hi (often many: stamps of one step) are taken lowest u first when the listed ones are too few.
  template <class Key, class Below, class OnEvict>
  void evict_tokens_to_capacity(cost::Residency& r, Key&& key, Below&& below, OnEvict&& on_evict) {
    if (held_ <= capacity_blocks_) return;
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const std::size_t excess = static_cast<std::size_t>(held_ - capacity_blocks_);
    sample_keys(r, key, [](std::size_t) { return true; });
    const std::size_t n = sample_.size();
    // The sample's quantile errs by about sqrt(q (1 - q) / n) (more where keys repeat along positions):
    // the bracket starts at 4 of those plus 1 % either side and widens on the side that fell short.
    const double q = static_cast<double>(excess) / static_cast<double>(held_);
    double low = 0.01 + 4 * std::sqrt(q * (1 - q) / static_cast<double>(std::max<std::size_t>(n, 1)));
    double high = low;
    const std::size_t words = r.layer(0).word_count();
    mask_.resize(words);
    scratch_.resize(words);
    victims_.resize(words * shape_.layers);
    const auto below_strictly = [&](std::uint32_t l, double t, core::Word* out) {  // key(u) < t (all: t = inf)
      if (t == -kInf) {
        std::fill(out, out + words, core::Word{0});
      } else {
        below(l, t == kInf ? t : std::nextafter(t, -kInf), out);
      }
    };
    const auto bit_at = [&](std::size_t w, core::Word m) { return w * core::kWordBits + static_cast<std::size_t>(std::countr_zero(m)); };
    for (;;) {
      const auto rank = [&](double share) { return static_cast<std::ptrdiff_t>(share * static_cast<double>(n)); };
      const auto at = [&](std::ptrdiff_t i) {  // the sample's i-th smallest (the sample only ever partitioned)
        std::nth_element(sample_.begin(), sample_.begin() + i, sample_.end());
        return sample_[static_cast<std::size_t>(i)];
      };
      const std::ptrdiff_t lo = rank(q - low), hi = rank(q + high) + 2;
      const double t_lo = lo <= 0 || n == 0 ? -kInf : at(lo);
      const double t_hi = hi >= static_cast<std::ptrdiff_t>(n) ? kInf : at(hi);
      std::size_t sure = 0;
      candidates_.clear();
      for (std::uint32_t l = 0; l < shape_.layers && sure <= excess; ++l) {
        const core::Word* h = r.layer(l).data();
        core::Word* v = victims_.data() + static_cast<std::size_t>(l) * words;
        below_strictly(l, t_lo, v);
        below_strictly(l, t_hi, mask_.data());
        for (std::size_t w = 0; w < words; ++w) {
          v[w] &= h[w];
          sure += static_cast<std::size_t>(std::popcount(v[w]));
          for (core::Word m = h[w] & mask_[w] & ~v[w]; m != 0; m &= m - 1) {
            const std::size_t u = unit(l, bit_at(w, m));
            candidates_.push_back({key(u), u});
          }
        }
      }
      if (sure > excess) {
        low *= 2;
        continue;
      }
      const std::size_t need = excess - sure;
      ties_.clear();
      if (candidates_.size() < need) {  // t_hi is finite: every held unit is below infinity
        const std::size_t short_by = need - candidates_.size();
        for (std::uint32_t l = 0; l < shape_.layers && ties_.size() < short_by; ++l) {
          const core::Word* h = r.layer(l).data();
          below(l, t_hi, scratch_.data());
          below_strictly(l, t_hi, mask_.data());
          for (std::size_t w = 0; w < words && ties_.size() < short_by; ++w) {
            for (core::Word m = h[w] & scratch_[w] & ~mask_[w]; m != 0 && ties_.size() < short_by; m &= m - 1) {
              ties_.push_back({t_hi, unit(l, bit_at(w, m))});
            }
          }
        }
        if (ties_.size() < short_by) {
          high *= 2;
          continue;
        }
      }
      // Victims: every unit below t_lo, the smallest (key, u) in [t_lo, t_hi), then ties at t_hi.
      if (need < candidates_.size()) {
        if (need > 0) std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(need - 1), candidates_.end());
        candidates_.resize(need);
      }
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        core::Word* h = r.layer(l).data();
        const core::Word* v = victims_.data() + static_cast<std::size_t>(l) * words;
        for (std::size_t w = 0; w < words; ++w) {
          if (v[w] == 0) continue;
          for (core::Word m = v[w]; m != 0; m &= m - 1) on_evict(l, bit_at(w, m));
          h[w] &= ~v[w];
        }
      }
      held_ -= sure;
      for (const std::vector<Candidate>* list : {&candidates_, &ties_}) {
        for (const Candidate& c : *list) {
          const std::uint32_t l = layer_of(c.u);
          const std::size_t j = block_of(c.u);
          on_evict(l, j);
          evict(r, l, j);
        }
      }
      return;
    }
  }
  template <class Key, class OnEvict>
  void evict_to_capacity(cost::Residency& r, Key&& key, OnEvict&& on_evict) {
    evict_to(r, capacity_blocks_, held_, key, [](std::size_t) { return true; }, on_evict);
  }
  template <class Key>
  void evict_to_capacity(cost::Residency& r, Key&& key) {
    evict_to_capacity(r, key, [](std::uint32_t, std::size_t) {});
  }

 private:
  // evict_to's work; gather(t) appends to candidates_ every unit (key, u) with key <= t that `member`
  // accepts, ascending layer then block.
  template <class Key, class Member, class OnEvict, class Gather>
  void evict_with(cost::Residency& r, std::uint64_t budget, std::uint64_t held_in, Key&& key, Member&& member,
                  OnEvict&& on_evict, Gather&& gather) {
    if (held_in <= budget) return;
    const std::size_t excess = static_cast<std::size_t>(held_in - budget);
    // The victims are the `excess` smallest (key, u). Only units at or below a threshold are gathered:
    // a quantile of a sample of the held keys, raised until at least `excess` units fall below it
    // (then the result is exact: every victim is among them).
    sample_keys(r, key, member);
    double share = 1.2 * static_cast<double>(excess) / static_cast<double>(held_in);  // the sample errs by ~1 %
    double t = 0;
    for (;;) {
      const auto at = static_cast<std::size_t>(share * static_cast<double>(sample_.size())) + 2;
      if (at < sample_.size()) std::nth_element(sample_.begin(), sample_.begin() + static_cast<std::ptrdiff_t>(at), sample_.end());
      t = at >= sample_.size() ? std::numeric_limits<double>::infinity() : sample_[at];
      candidates_.clear();
      gather(t);
      if (candidates_.size() >= excess || at >= sample_.size()) break;
      share *= 2;
    }
    // The candidates come in ascending u. Those tied at t (often many: scores or stamps that never
    // moved) are taken, lowest u first, only when those below t are too few; those below are selected.
    ties_.clear();
    std::size_t below = 0;
    for (const Candidate& c : candidates_) {
      if (c.key < t) {
        candidates_[below++] = c;
      } else {
        ties_.push_back(c);
      }
    }
    if (below >= excess) {
      std::nth_element(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(excess - 1),
                       candidates_.begin() + static_cast<std::ptrdiff_t>(below));
    } else {
      std::copy(ties_.begin(), ties_.begin() + static_cast<std::ptrdiff_t>(excess - below), candidates_.begin() + static_cast<std::ptrdiff_t>(below));
    }
    for (std::size_t i = 0; i < excess; ++i) {
      const std::uint32_t l = layer_of(candidates_[i].u);
      const std::size_t j = block_of(candidates_[i].u);
      on_evict(l, j);
      evict(r, l, j);
    }
  }

  // sample_ = the keys of every held unit `member` accepts in one group of words out of each `stride`
  // (a fixed pattern; about 512 groups).
  template <class Key, class Member>
  void sample_keys(const cost::Residency& r, Key&& key, Member&& member) {
    sample_.clear();
    const std::size_t words = r.layer(0).word_count();
    const std::size_t stride = std::max<std::size_t>(1, words * shape_.layers / 512);
    const std::size_t per = k_ > core::kWordBits ? k_ / core::kWordBits : 1;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const core::Word* x = r.layer(l).data();
      for (std::size_t w0 = (l * 7) % stride * per; w0 < words; w0 += stride * per) {
        for (std::size_t w = w0; w < std::min(w0 + per, words); ++w) {
          if (x[w] == 0) continue;
          if (k_ >= core::kWordBits) {
            const std::size_t u = unit(l, w0 / per);
            if (member(u)) sample_.push_back(key(u));
            break;
          }
          for (core::Word m = core::fold_blocks(x[w], k_) & core::block_starts(k_); m != 0; m &= m - 1) {
            const std::size_t u = unit(l, (w * core::kWordBits + static_cast<std::size_t>(std::countr_zero(m))) / k_);
            if (member(u)) sample_.push_back(key(u));
          }
        }
      }
    }
  }

  std::size_t end_of(std::size_t j) const { return std::min(j * k_ + k_, space_); }
  struct Candidate {
    double key;
    std::size_t u;
    bool operator<(const Candidate& o) const { return key < o.key || (key == o.key && u < o.u); }
  };

  trace::TraceShape shape_;
  std::uint32_t k_;
  std::size_t space_, blocks_;
  std::uint64_t capacity_entries_, capacity_blocks_;
  core::TokenBitset exists_;
  std::vector<std::size_t> bases_;
  std::uint64_t held_ = 0;
  std::vector<Candidate> candidates_;
  std::vector<double> sample_;
  std::vector<core::Word> mask_;     // evict_tokens_to_capacity: one layer's candidate bits
  std::vector<core::Word> victims_;  // evict_tokens_to_capacity: every layer's sure victims
  std::vector<core::Word> scratch_;  // evict_tokens_to_capacity: one layer's keys at most t_hi
  std::vector<Candidate> ties_;    // evict_with: candidates whose key is the threshold
};

}  // namespace kvsweep::policy
