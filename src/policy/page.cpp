// page — Quest-like paging with perfect next-step knowledge. Page p = tokens [p*T, (p+1)*T) of every
// layer (T = page_tokens, default 16), moved whole: a page is resident in all layers or in none.
// At the end of step n (and at prefill, for step P) the policy scores every page by the reads it will
// serve at the next step, score(p) = sum_l |S(n+1, l) ∩ p|, then selects pages greedily while their
// entries fit in C: pages with score > 0 by descending score (ties: resident pages first, then lower
// page index), then resident pages with score 0 (kept rather than evicted, ties: higher page first).
// Selected pages are made resident (their missing entries promoted; the new entry (n, l) is kept iff
// its page is selected); every other page is evicted. At the last step nothing is moved.
// A batch, or blocks of k tokens: pages are numbered sequence by sequence, page j of sequence b holding
// its tokens [j*T, (j+1)*T) with T = page_tokens rounded up to a multiple of k, so that a page holds
// whole blocks of one sequence. The budget is shared: every page of the batch is scored and selected
// as above in one order (ties: resident first, then lower (sequence, page); zero-score resident pages
// by descending (sequence, page)), a page costing k entries per layer for each block it has a token
// of. At the last step, sequence by sequence, a new token in a resident page joins it: inside a block
// it is free, one that starts a block keeps it while its k entries per layer fit.
#include <algorithm>
#include <bit>
#include <utility>

#include "group_counts.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class Page final : public Policy {
 public:
  explicit Page(const PolicyContext& ctx)
      : shape_(ctx.shape),
        capacity_(ctx.memory.capacity_entries),
        general_(ctx.shape.batched() || ctx.shape.block_tokens > 1),
        page_tokens_(effective_page_tokens(ctx.shape, ctx.params.page_tokens)),
        pages_(count_pages(ctx.shape, page_tokens_)),
        resident_(pages_, 0),
        score_(pages_, 0),
        selected_(pages_, 0),
        mask_(ctx.shape.space()) {
    if (!general_) return;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      bases_.push_back(shape_.base(b));
      first_page_.push_back(static_cast<std::uint32_t>(page_seq_.size()));
      page_seq_.resize(page_seq_.size() + pages_of(shape_, b, page_tokens_), b);
    }
    first_page_.push_back(pages_);
  }

  std::string_view name() const override { return "page"; }
  std::uint32_t lookahead() const override { return 1; }

  void place_prefill(const StepWindow& w, cost::Residency& r) override {
    // R(P-1, ·) serves step P: score with S(P, ·) over the prompt tokens.
    place(w, 0, shape_.prompt_tokens - 1, r);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t n = w.n();
    if (w.available() >= 1) {
      place(w, 1, n, r);
      return;
    }
    if (general_) {
      keep_new_tokens(n, r);
      return;
    }
    // Last step: keep the placement; the new entry joins if its page is resident and there is room.
    const std::uint32_t p = n / page_tokens_;
    if (resident_[p] && used_ + shape_.layers <= capacity_) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l).set(n);
      used_ += shape_.layers;
    }
  }

 private:
  // A page longer than the longest sequence is one page holding all of each, whatever its length: capped
  // there, the page count cannot wrap (page_tokens may be up to 2^32 - 1) and the score buckets stay
  // O(context). Then rounded up to whole blocks.
  static std::uint32_t effective_page_tokens(const trace::TraceShape& shape, std::uint32_t page_tokens) {
    std::uint32_t longest = 0;
    for (std::uint32_t b = 0; b < shape.batch_size(); ++b) longest = std::max(longest, shape.prompt(b));
    longest += shape.decode_tokens;  // a lone sequence: P + D
    const std::uint64_t t = std::clamp<std::uint32_t>(page_tokens, 1, std::max<std::uint32_t>(1, longest));
    const std::uint64_t k = shape.block_tokens;
    return static_cast<std::uint32_t>((t + k - 1) / k * k);
  }
  static std::uint32_t pages_of(const trace::TraceShape& shape, std::uint32_t b, std::uint32_t page_tokens) {
    return static_cast<std::uint32_t>((std::uint64_t{shape.prompt(b)} + shape.decode_tokens + page_tokens - 1) / page_tokens);
  }
  static std::uint32_t count_pages(const trace::TraceShape& shape, std::uint32_t page_tokens) {
    std::uint32_t pages = 0;
    for (std::uint32_t b = 0; b < shape.batch_size(); ++b) pages += pages_of(shape, b, page_tokens);
    return pages;
  }

  // The positions [begin, end) of page p's tokens that exist when the newest step is `last` (P - 1:
  // the prompt). A lone sequence's page p < last / T + 1 starts at or below `last`.
  std::pair<std::size_t, std::size_t> page_range(std::uint32_t p, std::uint32_t last) const {
    if (!general_) {
      const std::size_t begin = static_cast<std::size_t>(p) * page_tokens_;
      return {begin, std::min<std::size_t>(begin + page_tokens_, std::size_t{last} + 1)};
    }
    const std::uint32_t b = page_seq_[p];
    const std::size_t begin = bases_[b] + static_cast<std::size_t>(p - first_page_[b]) * page_tokens_;
    const std::size_t end = bases_[b] + shape_.prompt(b) + (last + 1 - shape_.prompt_tokens);
    return {begin, std::clamp(end, begin, begin + page_tokens_)};
  }

  // Entries page p holds when the newest step is `last`: k per layer for each block it has a token of.
  std::uint64_t page_entries(std::uint32_t p, std::uint32_t last) const {
    const auto [begin, end] = page_range(p, last);
    const std::uint64_t k = shape_.block_tokens;
    return (end - begin + k - 1) / k * k * shape_.layers;
  }

  // Selects pages for the reads S(n + k, ·) with tokens 0..last existing, and writes R.
  void place(const StepWindow& w, std::uint32_t k, std::uint32_t last, cost::Residency& r) {
    // In a batch every page is scored: those that have no token yet score 0 and are not resident, so
    // they are never selected.
    const std::uint32_t live_pages = general_ ? pages_ : last / page_tokens_ + 1;
    std::fill(score_.begin(), score_.begin() + live_pages, 0);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      if (general_) {
        add_batch_scores(w.reads(k, l));
      } else {
        add_scores(w.reads(k, l), live_pages);
      }
    }
    order_pages(live_pages);
    std::fill(selected_.begin(), selected_.begin() + live_pages, 0);
    std::uint64_t used = 0;
    for (std::uint32_t p : order_) {
      if (score_[p] == 0 && !resident_[p]) break;  // zero-score pages are never promoted
      const std::uint64_t need = page_entries(p, last);
      if (used + need > capacity_) continue;
      used += need;
      selected_[p] = 1;
    }
    mask_.clear();
    for (std::uint32_t p = 0; p < live_pages; ++p) {
      resident_[p] = selected_[p];
      if (!selected_[p]) continue;
      const auto [begin, end] = page_range(p, last);
      mask_.set_range(begin, end);
    }
    for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l) = mask_;
    used_ = used;
  }

  // score_[p] += |s ∩ page p| for the live pages; pages that tile a word are counted by popcounts of
  // its slices.
  void add_scores(const core::TokenBitset& s, std::uint32_t live_pages) {
    if (core::kWordBits % page_tokens_ != 0) {
      for (std::uint32_t p = 0; p < live_pages; ++p) {
        const std::size_t b = static_cast<std::size_t>(p) * page_tokens_;
        score_[p] += static_cast<std::uint32_t>(s.count_range(b, b + page_tokens_));
      }
      return;
    }
    const std::uint32_t per_word = core::kWordBits / page_tokens_;
    const core::Word slice = page_tokens_ == core::kWordBits ? ~core::Word{0} : (core::Word{1} << page_tokens_) - 1;
    const core::Word* words = s.data();
    const std::size_t nw = (static_cast<std::size_t>(live_pages) + per_word - 1) / per_word;
    for (std::size_t i = 0; i < nw; ++i) {
      const core::Word x = words[i];
      if (x == 0) continue;
      const std::size_t p0 = i * per_word;
      const std::uint32_t q_end = static_cast<std::uint32_t>(std::min<std::size_t>(per_word, live_pages - p0));
      for (std::uint32_t q = 0; q < q_end; ++q) {
        score_[p0 + q] += static_cast<std::uint32_t>(std::popcount((x >> (q * page_tokens_)) & slice));
      }
    }
  }

  // add_scores for a batch: every sequence's pages, which tile its segment from its base.
  void add_batch_scores(const core::TokenBitset& s) {
    const core::Word* words = s.data();
    const bool tiles = core::kWordBits % page_tokens_ == 0 || page_tokens_ % core::kWordBits == 0;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      const std::uint32_t first = first_page_[b], count = first_page_[b + 1] - first;
      const std::size_t begin = bases_[b], end = begin + shape_.prompt(b) + shape_.decode_tokens;
      if (tiles) {  // the base is a multiple of 64
        add_group_counts(&score_[first], count, page_tokens_, begin / core::kWordBits, core::words_for(end),
                         [&](std::size_t i) { return words[i]; });
        continue;
      }
      for (std::uint32_t q = 0; q < count; ++q) {
        const std::size_t from = begin + static_cast<std::size_t>(q) * page_tokens_;
        score_[first + q] += static_cast<std::uint32_t>(s.count_range(from, std::min(from + page_tokens_, end)));
      }
    }
  }

  // The last step in a batch (header): new tokens join resident pages, sequence by sequence.
  void keep_new_tokens(std::uint32_t n, cost::Residency& r) {
    const std::uint32_t k = shape_.block_tokens;
    const std::uint64_t block_entries = std::uint64_t{k} * shape_.layers;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      const std::size_t t = shape_.prompt(b) + static_cast<std::size_t>(n - shape_.prompt_tokens);
      if (!resident_[first_page_[b] + t / page_tokens_]) continue;
      if (t % k == 0) {  // a new block
        if (used_ + block_entries > capacity_) continue;
        used_ += block_entries;
      }
      for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l).set(bases_[b] + t);
    }
  }

  // order_ = the pages that may be selected, in selection order: score > 0 by descending score, ties
  // resident first, then lower page; then resident pages with score 0, higher page first. A counting
  // sort on (score, resident): scores are at most page_tokens * layers.
  void order_pages(std::uint32_t live_pages) {
    const std::size_t keys = 2 * (static_cast<std::size_t>(page_tokens_) * shape_.layers + 1);
    bucket_.assign(keys + 1, 0);
    auto key = [&](std::uint32_t p) { return keys - 1 - (2 * static_cast<std::size_t>(score_[p]) + resident_[p]); };
    std::uint32_t scored = 0;
    for (std::uint32_t p = 0; p < live_pages; ++p) {
      if (score_[p] == 0) continue;
      ++bucket_[key(p) + 1];
      ++scored;
    }
    for (std::size_t b = 1; b <= keys; ++b) bucket_[b] += bucket_[b - 1];
    order_.resize(scored);
    for (std::uint32_t p = 0; p < live_pages; ++p) {
      if (score_[p] != 0) order_[bucket_[key(p)]++] = p;
    }
    for (std::uint32_t p = live_pages; p-- > 0;) {
      if (score_[p] == 0 && resident_[p]) order_.push_back(p);
    }
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  bool general_;  // a batch or blocks: pages numbered sequence by sequence
  std::uint32_t page_tokens_;
  std::uint32_t pages_;
  std::vector<std::size_t> bases_;           // batch: each sequence's base
  std::vector<std::uint32_t> first_page_;    // batch: each sequence's first page, and pages_
  std::vector<std::uint32_t> page_seq_;      // batch: each page's sequence
  std::vector<std::uint8_t> resident_;
  std::vector<std::uint32_t> score_;
  std::vector<std::uint8_t> selected_;
  std::vector<std::uint32_t> order_;
  std::vector<std::uint32_t> bucket_;  // order_pages: counting sort offsets
  core::TokenBitset mask_;
  std::uint64_t used_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_page(const PolicyContext& ctx) { return std::make_unique<Page>(ctx); }

}  // namespace kvsweep::policy
