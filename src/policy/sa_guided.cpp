// sa_guided — the paper's oracle policy with knobs W (sa_window, decode steps) and R (sa_fraction).
// Prefill: static's token-order placement. At (n, l), with W' = min(W, steps left) and
// U = S(n+1, l) ∪ ... ∪ S(n+W', l):
//   1. evict every resident entry of layer l that is not in U (not read within the window);
//   2. candidates = S(n, l) \ H ∩ U (read now, not resident, read again within the window), scored
//      score(t) = sum over k in 1..W' with t ∈ S(n+k, l) of 1/k;
//   3. promote the ceil(R * |candidates|) best (ties: lowest token), as many as fit in C
//      (promotions are piggy-backed: the entries stream over the link anyway);
//   4. keep the new entry (n, l) if there is room.
// The paper leaves what happens when the promotions do not fit open; here the best-scored ones win.
// Issue "Oracle" tunes (W, R) by annealing; this policy runs one given (W, R).
//
// A batch, or blocks of k tokens (docs/policies-and-oracle.md): one budget C shared by every sequence,
// layer by layer as above, over blocks (k = 1: each token is its own block). Prefill: static's block
// order. A block is read at a step when any of its tokens is, so U, the candidates (blocks with a token
// read at n, not resident, read within the window) and a block's pattern of future reads, hence its
// score, are the union of its tokens'. Blocks are evicted and promoted whole (every token that exists:
// those read at n piggy-back, the others are prefetched): ceil(R |candidates|) of them, as many as
// floor((C - resident) / k) allow, best score first, ties lowest position (sequence, then token). Then
// each sequence's new token, b = 0, 1, ...: it joins its block if that is resident, starts a block that
// is kept while k entries fit, and is otherwise not kept (a block is never brought in to write it).
#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>

#include "kvsweep/core/bit_patterns.hpp"
#include "kvsweep/core/block_bits.hpp"
#include "kvsweep/policy/policies.hpp"
#include "kvsweep/policy/window_union.hpp"

namespace kvsweep::policy {
namespace {

using core::Word;
using core::kWordBits;

class SaGuided final : public Policy {
 public:
  explicit SaGuided(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        window_(std::max<std::uint32_t>(1, ctx.params.sa_window)), fraction_(ctx.params.sa_fraction),
        union_(core::words_for(ctx.shape.total_tokens())), cand_(core::words_for(ctx.shape.total_tokens())),
        windows_(ctx.shape.layers, core::words_for(ctx.shape.total_tokens()), std::max<std::uint32_t>(1, ctx.params.sa_window)) {}
  // A batch or blocks: the same over block units of the whole token space (the header's rules).
  SaGuided(const PolicyContext& ctx, core::BlockWords blocks)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        window_(std::max<std::uint32_t>(1, ctx.params.sa_window)), fraction_(ctx.params.sa_fraction),
        union_(core::words_for(ctx.shape.space())), cand_(core::words_for(ctx.shape.space())),
        windows_(ctx.shape.layers, core::words_for(ctx.shape.space()), std::max<std::uint32_t>(1, ctx.params.sa_window)),
        blocks_(blocks), exists_(ctx.shape.space()) {}

  std::string_view name() const override { return "sa_guided"; }
  std::uint32_t lookahead() const override { return window_; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    if (blocks_) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    }
    resident_ = place_in_token_order(r, shape_, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    if (blocks_) return step_blocks(w, r);
    const std::uint32_t n = w.n();
    const std::size_t nw = n / kWordBits + 1;
    const std::uint32_t k_max = std::min(window_, w.available());
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::vector<Word>& window_union = windows_.get(w, l, k_max);
      std::copy(window_union.begin(), window_union.begin() + static_cast<std::ptrdiff_t>(nw), union_.begin());
      const Word* s0 = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      std::uint64_t candidates = 0;
      for (std::size_t i = 0; i < nw; ++i) {
        resident_ -= static_cast<std::uint64_t>(std::popcount(h[i] & ~union_[i]));
        cand_[i] = s0[i] & ~h[i] & union_[i];
        h[i] &= union_[i];
        candidates += static_cast<std::uint64_t>(std::popcount(cand_[i]));
      }
      const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction_ * static_cast<double>(candidates)));
      const std::uint64_t room = capacity_ > resident_ ? capacity_ - resident_ : 0;
      const std::uint64_t take = std::min(wanted, room);
      if (take == candidates) {
        for (std::size_t i = 0; i < nw; ++i) h[i] |= cand_[i];
      } else if (take > 0) {
        promote_best(window_rows(w, l, k_max), cand_.data(), nw, k_max, take, h);
      }
      resident_ += take;
      if (resident_ < capacity_) {
        r.layer(l).set(n);
        ++resident_;
      }
    }
  }

 private:
  // For a window of k_max steps: the score class of every pattern, classes numbered best first,
  // patterns with equal scores in one class.
  struct PatternTable {
    std::vector<std::uint32_t> class_of;
    std::uint32_t classes = 0;
  };

  // The rows S(n+1, l) .. S(n+k_max, l).
  const Word* const* window_rows(const StepWindow& w, std::uint32_t l, std::uint32_t k_max) {
    rows_.resize(k_max);
    for (std::uint32_t k = 1; k <= k_max; ++k) rows_[k - 1] = w.reads(k, l).data();
    return rows_.data();
  }

  // Sets in h the `take` best candidates of cand (nw words; rows[k - 1] the reads at n + k over the
  // same bits).
  void promote_best(const Word* const* rows, const Word* cand, std::size_t nw, std::uint32_t k_max,
                    std::uint64_t take, Word* h) {
    if (k_max > kClassBits) {
      ranked_.clear();
      gather_scores(rows, cand, nw, k_max);
      return select_by_sort(take, h);
    }
    // A candidate's score depends only on its pattern of future reads (bit k-1: read at n+k), so it is
    // ranked by the score class of that pattern (summed in k order: equal patterns, equal doubles).
    const PatternTable& table = pattern_tables(k_max);
    select_by_class(rows, cand, k_max, nw, table, take, h);
  }

  // A batch or blocks, layer by layer as step(): over blocks (a token is its own block when k = 1); a
  // block is read at a step when any of its tokens is, so its pattern is the union of its tokens'.
  void step_blocks(const StepWindow& w, cost::Residency& r) {
    const std::uint32_t n = w.n(), k = shape_.block_tokens;
    const std::size_t nw = core::words_for(shape_.space()), ng = blocks_->groups(nw);
    const std::uint32_t k_max = std::min(window_, w.available());
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, n));
    const Word* x = exists_.data();
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::vector<Word>& u = windows_.get(w, l, k_max);
      const Word* s0 = w.reads(0, l).data();
      Word* h = r.layer(l).data();
      // Evict the held blocks not read within the window; the candidates, compacted to the groups that
      // have some (in position order), with the window's rows seen as blocks.
      groups_.clear();
      cand_.clear();
      std::uint64_t candidates = 0;
      for (std::size_t g = 0; g < ng; ++g) {
        const Word held = blocks_->touched(h, g, nw), ahead = blocks_->touched(u.data(), g, nw);
        if ((held & ~ahead) != 0) {
          resident_ -= std::uint64_t{k} * static_cast<std::uint64_t>(std::popcount(held & ~ahead));
          const Word keep = blocks_->spread(held & ahead);
          for (std::size_t i = blocks_->first_word(g); i < blocks_->last_word(g, nw); ++i) h[i] &= keep;
        }
        const Word c = blocks_->touched(s0, g, nw) & ~held & ahead;
        if (c == 0) continue;
        groups_.push_back(g);
        cand_.push_back(c);
        candidates += static_cast<std::uint64_t>(std::popcount(c));
      }
      const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction_ * static_cast<double>(candidates)));
      const std::uint64_t room = capacity_ > resident_ ? (capacity_ - resident_) / k : 0;
      const std::uint64_t take = std::min(wanted, room);
      chosen_.assign(groups_.size(), 0);
      if (take == candidates) {
        chosen_ = cand_;
      } else if (take > 0) {
        compact_rows_.resize(k_max);
        rows_.resize(k_max);
        for (std::uint32_t j = 0; j < k_max; ++j) {
          const Word* row = w.reads(j + 1, l).data();
          compact_rows_[j].resize(groups_.size());
          for (std::size_t c = 0; c < groups_.size(); ++c) compact_rows_[j][c] = blocks_->touched(row, groups_[c], nw);
          rows_[j] = compact_rows_[j].data();
        }
        promote_best(rows_.data(), cand_.data(), groups_.size(), k_max, take, chosen_.data());
      }
      for (std::size_t c = 0; c < groups_.size(); ++c) {  // promoted blocks bring every existing token
        const Word bits = blocks_->spread(chosen_[c]);
        for (std::size_t i = blocks_->first_word(groups_[c]); i < blocks_->last_word(groups_[c], nw); ++i) h[i] |= bits & x[i];
      }
      resident_ += std::uint64_t{k} * take;
      // New tokens, sequence by sequence: one in a resident block joins it; one that starts a block is
      // kept while k entries fit.
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::size_t at = shape_.new_entry(b, n);
        if ((at - shape_.base(b)) % k == 0 && resident_ + k > capacity_) continue;
        bool kept = false;
        resident_ += keep_new_token(shape_, b, at, r.layer(l), &kept);
      }
    }
  }

  static void set_bit(Word* h, std::uint32_t t) { h[t / kWordBits] |= Word{1} << (t % kWordBits); }

  // Radix selection over score classes: candidates are counted in buckets of classes (one class per
  // bucket up to kCoarseBuckets classes), buckets before the cut are taken whole. In a one-class cut
  // bucket the lowest tokens win; a coarser one is ordered by (class, token).
  void select_by_class(const Word* const* rows, const Word* cand, std::uint32_t k_max, std::size_t nw,
                       const PatternTable& table, std::uint64_t take, Word* h) {
    dense_.resize(nw * kWordBits + core::kDenseSlack);
    const std::size_t count = core::classify_patterns(rows, k_max, cand, nw, table.class_of.data(), dense_.data());
    std::uint32_t shift = 0;
    while ((table.classes >> shift) > kCoarseBuckets) ++shift;
    class_count_.assign((table.classes >> shift) + 1, 0);
    for (std::size_t j = 0; j < count; ++j) ++class_count_[dense_[j] >> shift];
    std::uint32_t cut = 0;
    std::uint64_t before = 0;
    while (before + class_count_[cut] < take) before += class_count_[cut++];
    below_.resize(nw);
    at_.resize(nw);
    core::split_at_class(dense_.data(), cand, nw, shift, cut, below_.data(), at_.data());
    for (std::size_t i = 0; i < nw; ++i) h[i] |= below_[i];
    std::uint64_t rest = take - before;
    if (shift == 0) {  // the cut bucket is one class: its lowest tokens
      for (std::size_t i = 0; i < nw && rest > 0; ++i) {
        Word eq = at_[i];
        const auto n = static_cast<std::uint64_t>(std::popcount(eq));
        for (std::uint64_t drop = n > rest ? n - rest : 0; drop > 0; --drop) eq &= ~(Word{1} << (63 - std::countl_zero(eq)));
        h[i] |= eq;
        rest -= std::min(n, rest);
      }
      return;
    }
    cut_bucket_.clear();
    std::size_t j = 0;  // index in dense_ of word i's first candidate
    for (std::size_t i = 0; i < nw; ++i) {
      for (Word x = at_[i]; x != 0; x &= x - 1) {
        const int b = std::countr_zero(x);
        const std::size_t k = j + static_cast<std::size_t>(std::popcount(cand[i] & ((Word{1} << b) - 1)));
        cut_bucket_.push_back({dense_[k], static_cast<std::uint32_t>(i * kWordBits + static_cast<std::size_t>(b)), 0.0});
      }
      j += static_cast<std::size_t>(std::popcount(cand[i]));
    }
    take_best(rest, h, [](const Ranked& x, const Ranked& y) {
      return x.pattern != y.pattern ? x.pattern < y.pattern : x.token < y.token;
    });
  }

  // The `rest` best of cut_bucket_ by `better`.
  template <class Better>
  void take_best(std::uint64_t rest, Word* h, Better better) {
    std::nth_element(cut_bucket_.begin(), cut_bucket_.begin() + static_cast<std::ptrdiff_t>(rest - 1),
                     cut_bucket_.end(), better);
    for (std::uint64_t i = 0; i < rest; ++i) set_bit(h, cut_bucket_[i].token);
  }

  // Windows too long for a pattern table: the scores summed directly, in k order (bit-identical run to
  // run), in proportion to the candidates' future reads.
  void gather_scores(const Word* const* rows, const Word* cand, std::size_t nw, std::uint32_t k_max) {
    for (std::size_t i = 0; i < nw; ++i) {
      const Word c = cand[i];
      if (c == 0) continue;
      double scores[kWordBits];
      for (Word x = c; x != 0; x &= x - 1) scores[std::countr_zero(x)] = 0;
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        const double inc = 1.0 / k;
        for (Word x = c & rows[k - 1][i]; x != 0; x &= x - 1) scores[std::countr_zero(x)] += inc;
      }
      for (Word x = c; x != 0; x &= x - 1) {
        const int bit = std::countr_zero(x);
        ranked_.push_back({0, static_cast<std::uint32_t>(i * kWordBits + static_cast<std::size_t>(bit)), scores[bit]});
      }
    }
  }

  static double pattern_score(std::uint64_t pattern, std::uint32_t k_max) {
    double score = 0;
    for (std::uint32_t k = 1; k <= k_max; ++k) {
      if ((pattern >> (k - 1)) & 1U) score += 1.0 / k;
    }
    return score;
  }

  // Long windows: buckets of the scores' bit patterns (for positive doubles, their order), best first.
  void select_by_sort(std::uint64_t take, Word* h) {
    auto key = [](double x) { return std::bit_cast<std::uint64_t>(x); };
    std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
    for (const Ranked& r : ranked_) {
      lo = std::min(lo, key(r.score));
      hi = std::max(hi, key(r.score));
    }
    std::uint32_t shift = 0;
    while (((hi - lo) >> shift) >= kCoarseBuckets) ++shift;
    take_by_buckets(
        take, h, ((hi - lo) >> shift) + 1, [&](const Ranked& r) { return (hi - key(r.score)) >> shift; },
        [](const Ranked& x, const Ranked& y) { return x.score != y.score ? x.score > y.score : x.token < y.token; });
  }

  // Radix selection of the `take` best candidates: bucket(r) is monotone in the ranking (0 = best);
  // buckets before the cut are taken whole, the cut bucket is ordered by `better`.
  template <class Bucket, class Better>
  void take_by_buckets(std::uint64_t take, Word* h, std::uint64_t buckets, Bucket bucket, Better better) {
    class_count_.assign(buckets, 0);
    for (const Ranked& r : ranked_) ++class_count_[bucket(r)];
    std::uint64_t cut = 0, before = 0;
    while (before + class_count_[cut] < take) before += class_count_[cut++];
    cut_bucket_.clear();
    for (const Ranked& r : ranked_) {
      const std::uint64_t b = bucket(r);
      if (b < cut) {
        set_bit(h, r.token);
      } else if (b == cut) {
        cut_bucket_.push_back(r);
      }
    }
    take_best(take - before, h, better);
  }

  // The table for windows of k_max steps (built on first use).
  const PatternTable& pattern_tables(std::uint32_t k_max) {
    if (tables_.size() <= k_max) tables_.resize(k_max + 1);
    PatternTable& t = tables_[k_max];
    if (t.classes != 0) return t;
    const std::size_t count = std::size_t{1} << k_max;
    std::vector<std::pair<double, std::uint64_t>> order(count);
    for (std::uint64_t p = 0; p < count; ++p) order[p] = {pattern_score(p, k_max), p};
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    t.class_of.assign(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0 && order[i].first != order[i - 1].first) ++t.classes;
      t.class_of[order[i].second] = t.classes;
    }
    ++t.classes;
    return t;
  }

  static constexpr std::uint32_t kClassBits = 20;     // up to 2^20 patterns: a class table
  static_assert(kClassBits <= core::kMaxPatternRows);
  static constexpr std::uint32_t kCoarseBuckets = 4096;
  struct Ranked {
    std::uint64_t pattern;
    std::uint32_t token;
    double score = 0;
  };

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t window_;
  double fraction_;
  std::vector<Word> union_;
  std::vector<Word> cand_;            // candidates by word (blocks: by compacted group)
  std::vector<const Word*> rows_;     // the window's rows handed to promote_best
  std::vector<std::uint32_t> dense_;  // select_by_class: the candidates' score classes in token order
  std::vector<Word> below_, at_;      // select_by_class: candidates before the cut bucket, in it
  WindowUnion windows_;  // S(n+1..n+W, l) in ~3 word passes per step
  std::vector<Ranked> ranked_;  // windows longer than kClassBits: candidates with their scores
  std::vector<Ranked> cut_bucket_;
  std::vector<std::uint64_t> class_count_;
  std::vector<PatternTable> tables_;  // by window length
  std::uint64_t resident_ = 0;
  // A batch or blocks only:
  std::optional<core::BlockWords> blocks_;
  core::TokenBitset exists_;                     // tokens that exist (prompts, then one per sequence and step)
  std::vector<std::size_t> groups_;              // the groups with candidates, ascending
  std::vector<Word> chosen_;                     // the promoted candidates, over groups_
  std::vector<std::vector<Word>> compact_rows_;  // the window's rows as blocks, over groups_
};

}  // namespace

std::unique_ptr<Policy> make_sa_guided(const PolicyContext& ctx) {
  if (ctx.shape.batched() || ctx.shape.block_tokens > 1) return std::make_unique<SaGuided>(ctx, core::BlockWords(ctx.shape.block_tokens));
  return std::make_unique<SaGuided>(ctx);
}

}  // namespace kvsweep::policy
