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
#include <algorithm>
#include <bit>
#include <cmath>

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

  std::string_view name() const override { return "sa_guided"; }
  std::uint32_t lookahead() const override { return window_; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_.prompt_tokens, capacity_);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
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
        promote_best(w, l, nw, k_max, take, h);
      }
      resident_ += take;
      if (resident_ < capacity_) {
        r.layer(l).set(n);
        ++resident_;
      }
    }
  }

 private:
  void promote_best(const StepWindow& w, std::uint32_t l, std::size_t nw, std::uint32_t k_max,
                    std::uint64_t take, Word* h) {
    // A candidate's score depends only on its pattern of future reads (bit k-1: read at n+k). Scores are
    // summed in k order so that equal patterns give bit-identical doubles.
    gather_patterns(w, l, nw, k_max);
    if (k_max <= kCountingBits) {
      select_by_pattern(k_max, take, h);
    } else if (k_max <= kClassBits) {
      select_by_class(k_max, take, h);
    } else {
      select_by_sort(take, h);
    }
  }

  void gather_patterns(const StepWindow& w, std::uint32_t l, std::size_t nw, std::uint32_t k_max) {
    ranked_.clear();
    if (k_max > kClassBits) return gather_scores(w, l, nw, k_max);
    // The candidates' future reads, row by row (streaming through each S(n+k, l) in order rather than
    // hopping between k_max rows per word), laid out word-major for the transposes.
    masked_.resize(nw * k_max);
    for (std::uint32_t k = 1; k <= k_max; ++k) {
      const Word* row = w.reads(k, l).data();
      for (std::size_t i = 0; i < nw; ++i) masked_[i * k_max + (k - 1)] = cand_[i] & row[i];
    }
    for (std::size_t i = 0; i < nw; ++i) {
      const Word c = cand_[i];
      if (c == 0) continue;
      const Word* reads = masked_.data() + i * k_max;
      // Patterns eight tokens at a time: rows k of the byte are gathered into one word and transposed,
      // so that byte b holds the pattern of token 8j + b (branch-free; no loop over read bits).
      for (std::uint32_t j = 0; j < kWordBits / 8; ++j) {
        const Word tokens = (c >> (8 * j)) & 0xFF;
        if (tokens == 0) continue;
        Word columns[(kClassBits + 7) / 8];
        for (std::uint32_t g = 0; 8 * g < k_max; ++g) {
          Word rows = 0;
          for (std::uint32_t r = 0; r < 8 && 8 * g + r < k_max; ++r) rows |= ((reads[8 * g + r] >> (8 * j)) & 0xFF) << (8 * r);
          columns[g] = transpose8x8(rows);
        }
        for (Word x = tokens; x != 0; x &= x - 1) {
          const auto b = static_cast<std::uint32_t>(std::countr_zero(x));
          std::uint64_t pattern = 0;
          for (std::uint32_t g = 0; 8 * g < k_max; ++g) pattern |= ((columns[g] >> (8 * b)) & 0xFF) << (8 * g);
          ranked_.push_back({pattern, static_cast<std::uint32_t>(i * kWordBits + 8 * j + b), 0.0});
        }
      }
    }
  }

  // Windows too long for a pattern table: the scores summed directly, in k order (bit-identical run to
  // run), in proportion to the candidates' future reads.
  void gather_scores(const StepWindow& w, std::uint32_t l, std::size_t nw, std::uint32_t k_max) {
    for (std::size_t i = 0; i < nw; ++i) {
      const Word c = cand_[i];
      if (c == 0) continue;
      double scores[kWordBits];
      for (Word x = c; x != 0; x &= x - 1) scores[std::countr_zero(x)] = 0;
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        const double inc = 1.0 / k;
        for (Word x = c & w.reads(k, l).data()[i]; x != 0; x &= x - 1) scores[std::countr_zero(x)] += inc;
      }
      for (Word x = c; x != 0; x &= x - 1) {
        const int bit = std::countr_zero(x);
        ranked_.push_back({0, static_cast<std::uint32_t>(i * kWordBits + static_cast<std::size_t>(bit)), scores[bit]});
      }
    }
  }

  // The 8x8 bit matrix with row r in byte r, transposed (Hacker's Delight, 7-3).
  static Word transpose8x8(Word x) {
    x = (x & 0xAA55AA55AA55AA55ULL) | ((x & 0x00AA00AA00AA00AAULL) << 7) | ((x >> 7) & 0x00AA00AA00AA00AAULL);
    x = (x & 0xCCCC3333CCCC3333ULL) | ((x & 0x0000CCCC0000CCCCULL) << 14) | ((x >> 14) & 0x0000CCCC0000CCCCULL);
    x = (x & 0xF0F0F0F00F0F0F0FULL) | ((x & 0x00000000F0F0F0F0ULL) << 28) | ((x >> 28) & 0x00000000F0F0F0F0ULL);
    return x;
  }

  static double pattern_score(std::uint64_t pattern, std::uint32_t k_max) {
    double score = 0;
    for (std::uint32_t k = 1; k <= k_max; ++k) {
      if ((pattern >> (k - 1)) & 1U) score += 1.0 / k;
    }
    return score;
  }

  // Counting selection over score classes: O(candidates + 2^W). Candidates are in token order, so the
  // first ones met in the cut class are the lowest tokens.
  void select_by_pattern(std::uint32_t k_max, std::uint64_t take, Word* h) {
    const auto& table = pattern_tables(k_max);
    class_count_.assign(table.classes, 0);
    for (const Ranked& r : ranked_) ++class_count_[table.class_of[r.pattern]];
    std::uint32_t cut = 0;
    std::uint64_t before_cut = 0;
    while (before_cut + class_count_[cut] < take) before_cut += class_count_[cut++];
    std::uint64_t from_cut = take - before_cut;
    for (const Ranked& r : ranked_) {
      const std::uint32_t c = table.class_of[r.pattern];
      if (c > cut || (c == cut && from_cut == 0)) continue;
      if (c == cut) --from_cut;
      h[r.token / kWordBits] |= Word{1} << (r.token % kWordBits);
    }
  }

  // Too many classes to count one by one: buckets of class ids (radix select).
  void select_by_class(std::uint32_t k_max, std::uint64_t take, Word* h) {
    const auto& table = pattern_tables(k_max);
    std::uint32_t shift = 0;
    while ((table.classes >> shift) > kCoarseBuckets) ++shift;
    for (Ranked& r : ranked_) r.pattern = table.class_of[r.pattern];
    take_by_buckets(
        take, h, (table.classes >> shift) + 1, [shift](const Ranked& r) { return r.pattern >> shift; },
        [](const Ranked& x, const Ranked& y) { return x.pattern != y.pattern ? x.pattern < y.pattern : x.token < y.token; });
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
        h[r.token / kWordBits] |= Word{1} << (r.token % kWordBits);
      } else if (b == cut) {
        cut_bucket_.push_back(r);
      }
    }
    const std::uint64_t rest = take - before;
    std::nth_element(cut_bucket_.begin(), cut_bucket_.begin() + static_cast<std::ptrdiff_t>(rest - 1),
                     cut_bucket_.end(), better);
    for (std::uint64_t i = 0; i < rest; ++i) {
      const std::uint32_t t = cut_bucket_[i].token;
      h[t / kWordBits] |= Word{1} << (t % kWordBits);
    }
  }

  // For a window of k_max steps: the score class of every pattern, classes numbered best first,
  // patterns with equal scores in one class.
  struct PatternTable {
    std::vector<std::uint32_t> class_of;
    std::uint32_t classes = 0;
  };
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

  static constexpr std::uint32_t kCountingBits = 12;  // up to 4096 classes: counting selection
  static constexpr std::uint32_t kClassBits = 20;     // up to 2^20 patterns: a class table
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
  std::vector<Word> cand_;
  std::vector<Word> masked_;  // gather_patterns: [word][k - 1] = cand & S(n+k, l)
  WindowUnion windows_;  // S(n+1..n+W, l) in ~3 word passes per step
    std::vector<Ranked> ranked_;
  std::vector<Ranked> cut_bucket_;
  std::vector<std::uint64_t> class_count_;
  std::vector<PatternTable> tables_;  // by window length
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_sa_guided(const PolicyContext& ctx) { return std::make_unique<SaGuided>(ctx); }

}  // namespace kvsweep::policy
