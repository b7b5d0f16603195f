// page — Quest-like paging with perfect next-step knowledge. Page p = tokens [p*T, (p+1)*T) of every
// layer (T = page_tokens, default 16), moved whole: a page is resident in all layers or in none.
// At the end of step n (and at prefill, for step P) the policy scores every page by the reads it will
// serve at the next step, score(p) = sum_l |S(n+1, l) ∩ p|, then selects pages greedily while their
// entries fit in C: pages with score > 0 by descending score (ties: resident pages first, then lower
// page index), then resident pages with score 0 (kept rather than evicted, ties: higher page first).
// Selected pages are made resident (their missing entries promoted; the new entry (n, l) is kept iff
// its page is selected); every other page is evicted. At the last step nothing is moved.
#include <algorithm>
#include <numeric>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class Page final : public Policy {
 public:
  explicit Page(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries),
        page_tokens_(std::max<std::uint32_t>(1, ctx.params.page_tokens)),
        pages_((ctx.shape.total_tokens() + page_tokens_ - 1) / page_tokens_),
        resident_(pages_, 0), score_(pages_, 0), selected_(pages_, 0), mask_(ctx.shape.total_tokens()) {}

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
    // Last step: keep the placement; the new entry joins if its page is resident and there is room.
    const std::uint32_t p = n / page_tokens_;
    if (resident_[p] && used_ + shape_.layers <= capacity_) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l).set(n);
      used_ += shape_.layers;
    }
  }

 private:
  // Entries page p holds when the newest token is `last`.
  std::uint64_t page_entries(std::uint32_t p, std::uint32_t last) const {
    const std::uint64_t begin = static_cast<std::uint64_t>(p) * page_tokens_;
    if (begin > last) return 0;
    const std::uint64_t end = std::min<std::uint64_t>(begin + page_tokens_, std::uint64_t{last} + 1);
    return (end - begin) * shape_.layers;
  }

  // Selects pages for the reads S(n + k, ·) with tokens 0..last existing, and writes R.
  void place(const StepWindow& w, std::uint32_t k, std::uint32_t last, cost::Residency& r) {
    const std::uint32_t live_pages = last / page_tokens_ + 1;
    std::fill(score_.begin(), score_.begin() + live_pages, 0);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const core::TokenBitset& s = w.reads(k, l);
      for (std::uint32_t p = 0; p < live_pages; ++p) {
        const std::size_t b = static_cast<std::size_t>(p) * page_tokens_;
        score_[p] += static_cast<std::uint32_t>(s.count_range(b, b + page_tokens_));
      }
    }
    order_.resize(live_pages);
    std::iota(order_.begin(), order_.end(), 0U);
    std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
      const bool za = score_[a] == 0, zb = score_[b] == 0;
      if (za != zb) return !za;
      if (!za) {
        if (score_[a] != score_[b]) return score_[a] > score_[b];
        if (resident_[a] != resident_[b]) return resident_[a] > resident_[b];
        return a < b;
      }
      if (resident_[a] != resident_[b]) return resident_[a] > resident_[b];
      return a > b;
    });
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
      const std::size_t b = static_cast<std::size_t>(p) * page_tokens_;
      mask_.set_range(b, std::min<std::size_t>(b + page_tokens_, std::size_t{last} + 1));
    }
    for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l) = mask_;
    used_ = used;
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t page_tokens_;
  std::uint32_t pages_;
  std::vector<std::uint8_t> resident_;
  std::vector<std::uint32_t> score_;
  std::vector<std::uint8_t> selected_;
  std::vector<std::uint32_t> order_;
  core::TokenBitset mask_;
  std::uint64_t used_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_page(const PolicyContext& ctx) { return std::make_unique<Page>(ctx); }

}  // namespace kvsweep::policy
