// ema — decayed read scores (Evolving Sparsity's EMA accumulation), with admission and prefetch. Online.
// Every unit (block j of layer l; a token when k = 1) has a score s, decayed by λ = `ema_decay` at
// every decode step and raised by 1 at each step that reads one of its tokens:
// s(n) = λ s(n - 1) + [the block is read at n]. Prefill: static's placement, every score 0.
// At (n, l): a read block that is not held is promoted (piggy-backed) iff its score, this read
// included, is at least `ema_admit` (at most 1: every read block); the sequence's new token joins its
// block if held or starts a block (kept), its score then 1. Prefetch: blocks of the layer neither held
// nor read at n whose score is at least `ema_prefetch` (0: none) are promoted, highest score first
// (ties lowest position), while the layer's link slack at n lasts (block_cache.hpp: link_slack). After
// every layer of the step, while more than C entries are held, the held block with the smallest score
// is evicted, ties lowest layer, then lowest position. Candidates for prefetch are the blocks evicted or
// refused while their score was at least `ema_prefetch`; one whose score fell below it is forgotten.
//
// Decay without touching every score: scores are kept as s / λ^(n - n0) (a read adds λ^-(n - n0)), an
// order-preserving scale; when the increment passes 2^500 all are rescaled and n0 = n (exact in
// comparisons up to double rounding, and deterministic).
#include <algorithm>
#include <cmath>

#include "block_cache.hpp"
#include "kvsweep/core/masked_lanes.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class Ema final : public Policy {
 public:
  Ema(const PolicyContext& ctx, std::string_view name, double decay, double admit, double prefetch)
      : name_(name), cache_(ctx), memory_(ctx.memory), score_(cache_.blocks() * ctx.shape.layers + core::kWordBits, 0.0),
        decay_(decay), admit_(admit), prefetch_(prefetch),
        listed_(ctx.shape.layers, core::TokenBitset(cache_.blocks())) {}
  std::string_view name() const override { return name_; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override { cache_.place_static(r); }

  void step(const StepWindow& w, cost::Residency& r) override {
    const auto& sh = cache_.shape();
    advance(w.n());
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      const BlockCache::Demand c = admit_ <= 1 ? demand_all(w.reads(0, l), r, l) : cache_.demand(w.reads(0, l), r, l, [&](std::size_t j, bool held, std::uint32_t) {
        const std::size_t u = cache_.unit(l, j);
        score_[u] += inc_;
        if (held) return false;
        if (score_[u] >= admit_ * inc_) return true;
        if (prefetch_ > 0 && score_[u] >= prefetch_ * inc_) remember(l, j);
        return false;
      });
      if (prefetch_ > 0) prefetch(w, r, l, c);
      hits_seen_ += c.hits;
      reads_seen_ += w.count(0, l);
    }
    cache_.keep_new_tokens(w.n(), r, [&](std::uint32_t l, std::size_t j) { score_[cache_.unit(l, j)] = inc_; });
    const auto key = [&](std::size_t u) { return score_[u]; };
    const double bar = prefetch_ * inc_;
    const auto on_evict = [&](std::uint32_t l, std::size_t j) {
      if (prefetch_ > 0 && score_[cache_.unit(l, j)] >= bar) remember(l, j);
    };
    if (cache_.k() == 1) {
      cache_.evict_tokens_to_capacity(r, key, [&](std::uint32_t l, double t, core::Word* out) {
        core::at_most_in(score_.data() + cache_.unit(l, 0), r.layer(l).data(), r.layer(l).word_count(), t, out);
      }, on_evict);
    } else {
      cache_.evict_to_capacity(r, key, on_evict);
    }
  }

  // Reads it has seen and how many of them hit (its own counts: what the bandit learns from).
  std::uint64_t hits_seen() const { return hits_seen_; }
  std::uint64_t reads_seen() const { return reads_seen_; }

  // Knob changes (the bandit): from the next step on.
  void set_knobs(double decay, double admit, double prefetch) {
    if (decay != decay_) {
      rescale();
      decay_ = decay;
    }
    admit_ = admit;
    prefetch_ = prefetch;
  }

 private:
  // The demand pass when every read block is admitted (ema_admit <= 1: a score with this read in it is
  // at least 1): scores raised, then promotions, in word operations.
  BlockCache::Demand demand_all(const core::TokenBitset& reads, cost::Residency& r, std::uint32_t l) {
    if (cache_.k() == 1) {
      core::add_where(score_.data() + cache_.unit(l, 0), reads.data(), reads.word_count(), inc_);
    } else {
      cache_.for_each_block(reads, [&](std::size_t j) { score_[cache_.unit(l, j)] += inc_; });
    }
    return cache_.demand_all(reads, r, l);
  }

  // The score of unit u now.
  double score(std::size_t u) const { return score_[u] / inc_; }
  void remember(std::uint32_t l, std::size_t j) { listed_[l].set(j); }

  void advance(std::uint32_t n) {
    if (last_n_ != 0) inc_ /= std::pow(decay_, static_cast<double>(n - last_n_));
    last_n_ = n;
    if (inc_ > 0x1p500) rescale();
  }
  void rescale() {
    for (double& s : score_) s /= inc_;
    inc_ = 1;
  }

  void prefetch(const StepWindow& w, cost::Residency& r, std::uint32_t l, const BlockCache::Demand& c) {
    // Forget what is held again, read now (it was promoted or refused this step) or no longer hot; the
    // rest are the candidates.
    const std::uint64_t reads = w.count(0, l);
    std::uint64_t room = link_slack(memory_, c.hits, reads - c.hits, c.promoted, c.promoted_reads);
    const core::TokenBitset& read = w.reads(0, l);
    const core::Word* h = r.layer(l).data();
    const core::Word* s = read.data();
    core::Word* x = listed_[l].data();
    const double bar = prefetch_ * inc_;
    const bool tokens = cache_.k() == 1;
    picks_.clear();
    for (std::size_t i = 0, words = listed_[l].word_count(); i < words; ++i) {
      if (x[i] == 0) continue;
      if (tokens) x[i] &= ~(h[i] | s[i]);  // a block is a token: held and read in word operations
      for (core::Word m = x[i]; m != 0; m &= m - 1) {
        const std::size_t j = i * core::kWordBits + static_cast<std::size_t>(std::countr_zero(m));
        if (score_[cache_.unit(l, j)] < bar || (!tokens && (cache_.is_held(r, l, j) || cache_.reads_in(read, j) != 0))) {
          x[i] &= ~(core::Word{1} << (j % core::kWordBits));
        } else if (room > 0) {
          picks_.push_back(j);
        }
      }
    }
    if (room == 0 || picks_.empty()) return;
    // Highest score first, ties lowest position; at most `room` blocks can fit (each holds an entry).
    const auto first = [&](std::size_t a, std::size_t b) {
      const double sa = score_[cache_.unit(l, a)], sb = score_[cache_.unit(l, b)];
      return sa > sb || (sa == sb && a < b);
    };
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(room, picks_.size()));
    std::partial_sort(picks_.begin(), picks_.begin() + static_cast<std::ptrdiff_t>(take), picks_.end(), first);
    for (std::size_t i = 0; i < take; ++i) {
      const std::size_t j = picks_[i];
      const std::uint32_t entries = cache_.existing_in(j);
      if (entries > room) break;
      cache_.promote(r, l, j);
      room -= entries;
    }
  }

  std::string name_;
  BlockCache cache_;
  cost::MemorySystem memory_;
  std::vector<double> score_;  // s * inc_ (scaled), per unit, then 64 lanes of padding (core::at_most)
  double decay_, admit_, prefetch_;
  double inc_ = 1;
  std::uint32_t last_n_ = 0;
  std::vector<core::TokenBitset> listed_;  // per layer, a bit per block: prefetch candidates
  std::vector<std::size_t> picks_;         // prefetch(): the layer's candidates now
  std::uint64_t hits_seen_ = 0, reads_seen_ = 0;
};

// bandit — online learning over ema's knobs. Online, no knobs of its own.
// It runs ema and, every kEpoch = 32 decode steps, picks the knobs for the next epoch with UCB1 over six
// arms: ema_decay in {0.5, 0.8, 0.95} x ema_prefetch in {0 (none), 2}, ema_admit 1. An arm's reward for
// an epoch it ran is the share of that epoch's reads that hit HBM, counted by the policy itself on the
// reads it has seen (never the judge's cost). Arms are first tried in order; then the arm with the
// largest mean reward + sqrt(2 ln N / n_a) (N epochs so far, n_a of them with arm a), ties the lower arm.
// A change of decay keeps every score's value; from then on scores decay by the new λ.
class Bandit final : public Policy {
 public:
  explicit Bandit(const PolicyContext& ctx) : ema_(ctx, "bandit", kArms[0].decay, 1.0, kArms[0].prefetch) {}
  std::string_view name() const override { return "bandit"; }
  Information information() const override { return Information::kOnline; }
  void place_prefill(const StepWindow& w, cost::Residency& r) override { ema_.place_prefill(w, r); }
  void step(const StepWindow& w, cost::Residency& r) override {
    if (steps_ % kEpoch == 0) choose();
    ema_.step(w, r);
    ++steps_;
  }

 private:
  struct Arm {
    double decay, prefetch;
  };
  static constexpr Arm kArms[] = {{0.5, 0}, {0.8, 0}, {0.95, 0}, {0.5, 2}, {0.8, 2}, {0.95, 2}};
  static constexpr std::size_t kCount = sizeof kArms / sizeof kArms[0];
  static constexpr std::uint32_t kEpoch = 32;

  // Credits the epoch that ended to the arm that ran it, then picks the next arm.
  void choose() {
    if (steps_ > 0) {
      const std::uint64_t reads = ema_.reads_seen() - reads_at_, hits = ema_.hits_seen() - hits_at_;
      reward_[arm_] += reads > 0 ? static_cast<double>(hits) / static_cast<double>(reads) : 0.0;
      ++plays_[arm_];
      ++epochs_;
    }
    reads_at_ = ema_.reads_seen();
    hits_at_ = ema_.hits_seen();
    std::size_t best = 0;
    double best_value = -1;
    for (std::size_t a = 0; a < kCount; ++a) {
      if (plays_[a] == 0) {
        best = a;
        break;
      }
      const double value = reward_[a] / plays_[a] + std::sqrt(2 * std::log(static_cast<double>(epochs_)) / plays_[a]);
      if (value > best_value) {
        best_value = value;
        best = a;
      }
    }
    arm_ = best;
    ema_.set_knobs(kArms[arm_].decay, 1.0, kArms[arm_].prefetch);
  }

  Ema ema_;
  std::uint64_t steps_ = 0, epochs_ = 0;
  std::size_t arm_ = 0;
  double reward_[kCount] = {};
  double plays_[kCount] = {};
  std::uint64_t reads_at_ = 0, hits_at_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_ema(const PolicyContext& ctx) {
  return std::make_unique<Ema>(ctx, "ema", ctx.params.ema_decay, ctx.params.ema_admit, ctx.params.ema_prefetch);
}

std::unique_ptr<Policy> make_bandit(const PolicyContext& ctx) { return std::make_unique<Bandit>(ctx); }

}  // namespace kvsweep::policy
