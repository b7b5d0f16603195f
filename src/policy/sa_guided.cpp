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
        score_(ctx.shape.total_tokens(), 0.0) {}

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
      std::fill(union_.begin(), union_.begin() + static_cast<std::ptrdiff_t>(nw), Word{0});
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        const Word* s = w.reads(k, l).data();
        for (std::size_t i = 0; i < nw; ++i) union_[i] |= s[i];
      }
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
    ranked_.clear();
    for (std::size_t i = 0; i < nw; ++i) {
      for (Word x = cand_[i]; x != 0; x &= x - 1) ranked_.push_back(static_cast<std::uint32_t>(i * kWordBits + std::countr_zero(x)));
    }
    // Scores summed in k order so that they are bit-identical run to run.
    for (std::uint32_t k = 1; k <= k_max; ++k) {
      const Word* s = w.reads(k, l).data();
      const double inc = 1.0 / k;
      for (std::size_t i = 0; i < nw; ++i) {
        for (Word x = cand_[i] & s[i]; x != 0; x &= x - 1) score_[i * kWordBits + std::countr_zero(x)] += inc;
      }
    }
    auto better = [&](std::uint32_t a, std::uint32_t b) {
      return score_[a] != score_[b] ? score_[a] > score_[b] : a < b;
    };
    std::nth_element(ranked_.begin(), ranked_.begin() + static_cast<std::ptrdiff_t>(take - 1), ranked_.end(), better);
    for (std::uint64_t i = 0; i < take; ++i) {
      const std::uint32_t t = ranked_[i];
      h[t / kWordBits] |= Word{1} << (t % kWordBits);
    }
    for (std::uint32_t t : ranked_) score_[t] = 0.0;
  }

  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint32_t window_;
  double fraction_;
  std::vector<Word> union_;
  std::vector<Word> cand_;
  std::vector<double> score_;
  std::vector<std::uint32_t> ranked_;
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_sa_guided(const PolicyContext& ctx) { return std::make_unique<SaGuided>(ctx); }

}  // namespace kvsweep::policy
