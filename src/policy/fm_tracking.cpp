// fm_tracking — a future-aware schedule that aims at the hits of the free_migration bound
// (shared/notes/CERTIFY.md, "fm-tracking"). At step n it chooses R(n), which serves the hits of step
// n + 1, with K = min(fm_lookahead, steps left) steps of future reads:
//  1. Targets: h_l = floor(x_l), where x is free_migration's hit allocation for step n + 1 (the
//     continuous knapsack over |S(n+1, ·)| and C that gives the bound, bound/bounds.hpp), with x_l
//     capped at the layer's reachable reads |S(n+1, l) ∩ (R(n-1, l) ∪ S(n, l) ∪ {n})|: capacity that
//     a layer could not fill goes to the others (at 1/8 of the paper's scale this took the certified
//     gap from 1.34 to 0.43 % at 40 % sparsity and from 1.80 to 1.27 % at 50 %).
//  2. Per layer, up to h_l entries of S(n+1, l): first those already in R(n-1, l) (kept, free), then
//     those read now and missed or new, S(n+1, l) ∩ (S(n, l) ∪ {n}) \ R(n-1, l) (piggy-backed or kept
//     new: one HBM write each). Within each group the longest upcoming read run first (the number of
//     consecutive steps n+1, n+2, ... that read the entry, counted up to K), lowest token first among
//     equal runs.
//  3. The capacity left keeps other entries of R(n-1) (free) in next-read order: read at n+2 first,
//     then n+3, ..., n+K, then not read within K; a class across all layers at once, lowest layer then
//     lowest token first when a class does not fit whole. With resident reads an entry read at n+1 but
//     beyond h_l is not kept (it would add HBM time at n+1); with balanced reads it is kept first (the
//     cost model lets HBM serve only the time-minimising share of hits anyway).
// Run lengths are kept per token from step to step, bit-sliced (one word per bit of the length and 64
// tokens): a step decrements the runs of the entries read at n, extends the capped ones and scans only
// the runs that start at n + 1; the longest runs are then taken by a radix selection over the bit
// planes. (Recounting every run up to K steps deep each step was most of the policy's time.)
// It never prefetches and never promotes an entry for a later step than n + 1. At the last step
// (nothing left to read) R(n) = R(n-1). Prefill is the same choice for step P with every prompt token
// free to place: step 2 over S(P, l) (no piggy-back group), step 3 over the other prompt tokens.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

using core::kWordBits;
using core::Word;

// Sets in `out` up to `need` of the bits of mask(i), lowest first; returns how many.
template <class Mask>
std::uint64_t take_lowest(Word* out, std::size_t nw, std::uint64_t need, Mask mask) {
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < nw && done < need; ++i) {
    Word x = mask(i) & ~out[i];
    auto c = static_cast<std::uint64_t>(std::popcount(x));
    if (c == 0) continue;
    if (done + c > need) {
      Word lowest = 0;
      for (std::uint64_t take = need - done; take > 0; --take) {
        lowest |= x & (~x + 1);
        x &= x - 1;
      }
      x = lowest;
      c = need - done;
    }
    out[i] |= x;
    done += c;
  }
  return done;
}

std::uint64_t count_words(std::size_t nw, auto mask) {
  std::uint64_t c = 0;
  for (std::size_t i = 0; i < nw; ++i) c += static_cast<std::uint64_t>(std::popcount(mask(i)));
  return c;
}

class FmTracking final : public Policy {
 public:
  explicit FmTracking(const PolicyContext& ctx, bool dual = false)
      : shape_(ctx.shape), memory_(ctx.memory), plan_(dual ? ctx.plan : nullptr), capacity_(ctx.memory.capacity_entries),
        lookahead_(std::max<std::uint32_t>(1, ctx.params.fm_lookahead)),
        balanced_(ctx.memory.hbm_reads == config::HbmReads::kBalanced), words_(core::words_for(ctx.shape.total_tokens())),
        layers_(ctx.shape.layers) {
    for (auto& s : layers_) {
      s.selected.assign(words_, 0);
      s.fresh.assign(words_, 0);
      s.run_planes.assign(static_cast<std::size_t>(std::bit_width(lookahead_)), std::vector<Word>(words_, 0));
      s.tie.assign(words_, 0);
      s.pending.assign(words_, 0);
    }
    counts_.resize(shape_.layers);
    reachable_.resize(shape_.layers);
    targets_.resize(shape_.layers);
  }

  std::string_view name() const override { return plan_ != nullptr ? "fm_dual" : "fm_tracking"; }
  std::uint32_t lookahead() const override { return lookahead_; }

  void place_prefill(const StepWindow& first, cost::Residency& r) override {
    // As a step "P - 1" whose resident set is every prompt token (placing prefill KV is free), with
    // no piggy-back group: R(P-1) is chosen from tokens < P for the hits of step P.
    const std::uint32_t p = shape_.prompt_tokens;
    cost::Residency all(shape_.layers, r.tokens());
    for (std::uint32_t l = 0; l < shape_.layers; ++l) all.layer(l).set_range(0, p);
    choose(first, 0, p, all, nullptr, r);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    if (w.available() == 0) return;  // the last step: nothing left to serve
    before_ = r;  // R(n-1) (copy-assigned into kept storage); r becomes R(n)
    choose(w, 1, w.n() + 1, before_, &w, r);
  }

 private:
  static constexpr std::uint32_t kMaxRunRows = 128;  // scan_runs' table of row pointers

  struct LayerScratch {
    std::vector<Word> selected;
    // Bit p of the length of each token's read run from `next` (steps next, next + 1, ... that all
    // read it, at most K): run_planes[p][word].
    std::vector<std::vector<Word>> run_planes;
    std::vector<std::pair<std::size_t, Word>> scan;  // runs being measured: (word, tokens still running)
    std::vector<Word> tie;                  // the radix selection's undecided tokens
    std::vector<Word> pending;              // fill_by_next_read: entries not yet in a class
    std::vector<std::uint32_t> active;      // fill_by_next_read: the words with pending entries
    std::vector<Word> fresh;                // S(n) ∪ {n} \ held: the piggy-back group
    std::uint64_t chosen = 0;
  };

  // Sets the run length of the tokens of `running` (word i of the scan) to `len`.
  static void set_run(LayerScratch& s, std::size_t i, Word tokens, std::uint32_t len) {
    for (std::size_t p = 0; p < s.run_planes.size(); ++p) {
      Word& plane = s.run_planes[p][i];
      plane = ((len >> p) & 1U) != 0 ? plane | tokens : plane & ~tokens;
    }
  }

  // Measures the runs of the tokens in s.scan, which are read at every step up to row `from` - 1 of
  // w, through rows from .. last: a token that row j does not read has a run of j - k0; those still
  // running after `last` have last + 1 - k0. Word by word, so that the loads down one word's rows
  // (rows far ahead are rarely in cache) are issued ahead of the test that ends the loop.
  void scan_runs(LayerScratch& s, const StepWindow& w, std::uint32_t l, std::uint32_t k0, std::uint32_t from,
                 std::uint32_t last) {
    if (s.scan.empty()) return;
    const Word* rows[kMaxRunRows];
    const std::uint32_t end = std::min(last + 1, from + kMaxRunRows);
    for (std::uint32_t j = from; j < end; ++j) rows[j - from] = w.reads(j, l).data();
    for (auto [i, running] : s.scan) {
      std::uint32_t j = from;
      for (; j < end && running != 0; ++j) {
        const Word still = running & rows[j - from][i];
        if (running != still) set_run(s, i, running & ~still, j - k0);
        running = still;
      }
      for (; j <= last && running != 0; ++j) {  // past kMaxRunRows rows
        const Word still = running & w.reads(j, l).data()[i];
        if (running != still) set_run(s, i, running & ~still, j - k0);
        running = still;
      }
      if (running != 0) set_run(s, i, running, last + 1 - k0);
    }
    s.scan.clear();
  }

  // The run lengths from `next` = n + k0 over nw words: from scratch at prefill (k0 = 0), otherwise
  // from those from n (k0 = 1): entries read at n run one step less, except those at the cap K, which
  // stay at K if step n + K reads them; entries not read at n start a run at n + 1 if it reads them.
  void update_runs(LayerScratch& s, const StepWindow& w, std::uint32_t l, std::uint32_t k0, std::size_t nw) {
    const std::uint32_t last = std::min(lookahead_ - 1 + k0, w.available());  // deepest row a run counts
    const Word* first = w.reads(k0, l).data();
    if (k0 == 0) {
      for (auto& plane : s.run_planes) std::fill(plane.begin(), plane.begin() + static_cast<std::ptrdiff_t>(nw), Word{0});
      for (std::size_t i = 0; i < nw; ++i) {
        if (first[i] != 0) s.scan.emplace_back(i, first[i]);
      }
      return scan_runs(s, w, l, 0, 1, last);
    }
    const Word* now = w.reads(0, l).data();
    const Word* beyond = lookahead_ <= w.available() ? w.reads(lookahead_, l).data() : nullptr;
    const std::size_t planes = s.run_planes.size();
    for (std::size_t i = 0; i < nw; ++i) {
      // At the cap: every bit of the length equal to K's.
      Word at_cap = now[i];
      for (std::size_t p = 0; p < planes; ++p) {
        const Word x = s.run_planes[p][i];
        at_cap &= ((lookahead_ >> p) & 1U) != 0 ? x : ~x;
      }
      Word borrow = now[i];  // minus one where read at n
      for (std::size_t p = 0; p < planes && borrow != 0; ++p) {
        const Word x = s.run_planes[p][i];
        s.run_planes[p][i] = x ^ borrow;
        borrow &= ~x;
      }
      if (beyond != nullptr && (at_cap & beyond[i]) != 0) set_run(s, i, at_cap & beyond[i], lookahead_);
      const Word starting = first[i] & ~now[i];
      if (starting != 0) s.scan.emplace_back(i, starting);
    }
    scan_runs(s, w, l, 1, 2, last);
  }

  // Adds to sel the `want` entries of `cand` with the longest runs (run >= 1; lowest token first among
  // equal runs), or all of them if fewer: a radix selection from the top bit plane down. Returns how
  // many were added.
  static std::uint64_t take_longest_runs(LayerScratch& s, const Word* cand, std::size_t nw, std::uint64_t want,
                                         Word* sel) {
    Word* tie = s.tie.data();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < nw; ++i) {
      Word running = 0;
      for (const auto& plane : s.run_planes) running |= plane[i];
      tie[i] = cand[i] & running;
      total += static_cast<std::uint64_t>(std::popcount(tie[i]));
    }
    if (total <= want) {
      for (std::size_t i = 0; i < nw; ++i) sel[i] |= tie[i];
      return total;
    }
    std::uint64_t left = want;
    for (std::size_t p = s.run_planes.size(); p-- > 0 && left > 0;) {
      const Word* plane = s.run_planes[p].data();
      std::uint64_t with_bit = 0;
      for (std::size_t i = 0; i < nw; ++i) with_bit += static_cast<std::uint64_t>(std::popcount(tie[i] & plane[i]));
      if (with_bit <= left) {  // all of the longer half, then on among the shorter one
        for (std::size_t i = 0; i < nw; ++i) {
          sel[i] |= tie[i] & plane[i];
          tie[i] &= ~plane[i];
        }
        left -= with_bit;
      } else {
        for (std::size_t i = 0; i < nw; ++i) tie[i] &= plane[i];
      }
    }
    if (left > 0) take_lowest(sel, nw, left, [&](std::size_t i) { return tie[i]; });
    return want;
  }

  // Chooses R(next - 1) into r for the hits of step `next` = n + k0 of window w (k0 = 1 for a decode
  // step, 0 for prefill), from the resident set `held` (R(n-1), or all prompt tokens), with the
  // piggy-back group S(n, ·) ∪ {n} when `now` is given. Tokens are < tokens_below.
  void choose(const StepWindow& w, std::uint32_t k0, std::uint32_t tokens_below, const cost::Residency& held,
              const StepWindow* now, cost::Residency& r) {
    const std::uint32_t L = shape_.layers;
    const std::uint32_t depth = std::min(lookahead_, w.available() + 1 - k0);  // steps next .. next+depth-1
    const std::size_t nw = core::words_for(tokens_below);
    const std::uint32_t n = w.n();
    // Group 0: held; group 1: read now or new (S(n) ∪ {n}), not held. Their reads at `next` are the
    // most hits a layer can have there.
    for_layers([&](std::uint32_t l) {
      const Word* h = held.layer(l).data();
      const Word* s_now = now != nullptr ? now->reads(0, l).data() : nullptr;
      const Word* s_next = w.reads(k0, l).data();
      Word* fresh = layers_[l].fresh.data();
      for (std::size_t i = 0; i < nw; ++i) fresh[i] = s_now != nullptr ? s_now[i] & ~h[i] : Word{0};
      if (s_now != nullptr && n / kWordBits < nw) fresh[n / kWordBits] |= (Word{1} << (n % kWordBits)) & ~h[n / kWordBits];
      reachable_[l] = static_cast<std::uint32_t>(count_words(nw, [&](std::size_t i) { return s_next[i] & (h[i] | fresh[i]); }));
      update_runs(layers_[l], w, l, k0, nw);
    });
    for (std::uint32_t l = 0; l < L; ++l) counts_[l] = w.count(k0, l);
    bound::free_migration_allocation(memory_, counts_, targets_, reachable_);

    // Steps 1-2, per layer: the hits of step `next`.
    auto per_layer = [&](std::uint32_t l) {
      LayerScratch& s = layers_[l];
      const Word* h = held.layer(l).data();
      const Word* fresh = s.fresh.data();
      std::fill(s.selected.begin(), s.selected.begin() + static_cast<std::ptrdiff_t>(nw), Word{0});
      const auto target = static_cast<std::uint64_t>(std::floor(targets_[l] + 1e-9));
      // Group 0 (held) first, then group 1 (fresh) for what is left, each by longest run.
      Word* sel = s.selected.data();
      std::uint64_t chosen = take_longest_runs(s, h, nw, target, sel);
      if (chosen < target) chosen += take_longest_runs(s, fresh, nw, target - chosen, sel);
      s.chosen = chosen;
    };
    for_layers(per_layer);

    // Step 3: the capacity left keeps other held entries, soonest next read first; fm_dual first keeps
    // (or piggy-backs) the entries its plan holds in this state, soonest next read first.
    std::uint64_t used = 0;
    for (const auto& s : layers_) used += s.chosen;
    std::uint64_t budget = capacity_ > used ? capacity_ - used : 0;
    auto unless_read_next = [&](std::uint32_t l, std::size_t i, Word x) { return balanced_ ? x : x & ~w.reads(k0, l).data()[i]; };
    if (plan_ != nullptr && budget > 0) {
      const std::uint32_t state = n - shape_.prompt_tokens + k0;
      budget -= fill(w, k0, depth, nw, budget, [&](std::uint32_t l, std::size_t i) {
        const Word* planned = plan_->row(l, state);
        return unless_read_next(l, i, planned[i] & (held.layer(l).data()[i] | layers_[l].fresh[i]) & ~layers_[l].selected[i]);
      });
    }
    fill(w, k0, depth, nw, budget, [&](std::uint32_t l, std::size_t i) {
      return unless_read_next(l, i, held.layer(l).data()[i] & ~layers_[l].selected[i]);
    });
    for (std::uint32_t l = 0; l < L; ++l) {
      Word* out = r.layer(l).data();
      std::copy(layers_[l].selected.begin(), layers_[l].selected.begin() + static_cast<std::ptrdiff_t>(nw), out);
      std::fill(out + nw, out + r.layer(l).word_count(), Word{0});
    }
  }

  // Adds to `selected` up to `budget` of the entries fill_mask(l, i) offers, soonest next read first;
  // returns how many.
  template <class FillMask>
  std::uint64_t fill(const StepWindow& w, std::uint32_t k0, std::uint32_t depth, std::size_t nw, std::uint64_t budget,
                     FillMask fill_mask) {
    if (budget == 0) return 0;
    std::uint64_t candidates = 0;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      candidates += count_words(nw, [&](std::size_t i) { return fill_mask(l, i); });
    }
    if (candidates <= budget) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        Word* sel = layers_[l].selected.data();
        for (std::size_t i = 0; i < nw; ++i) sel[i] |= fill_mask(l, i);
      }
      return candidates;
    }
    fill_by_next_read(w, k0, depth, nw, budget, fill_mask);
    return budget;
  }

  // Class k = read first at step next + k; class `depth` = not read within the window. Each layer's
  // unclassified entries (`pending`, kept for the words that still have some) are classified class by
  // class over all layers until the classes so far exceed the budget: that class is the cut. Held
  // entries are mostly read again soon, so few words stay pending for long.
  template <class FillMask>
  void fill_by_next_read(const StepWindow& w, std::uint32_t k0, std::uint32_t depth, std::size_t nw,
                         std::uint64_t budget, FillMask fill_mask) {
    const std::uint32_t L = shape_.layers;
    for (std::uint32_t l = 0; l < L; ++l) {
      LayerScratch& s = layers_[l];
      s.active.clear();
      for (std::size_t i = 0; i < nw; ++i) {
        s.pending[i] = fill_mask(l, i);
        if (s.pending[i] != 0) s.active.push_back(static_cast<std::uint32_t>(i));
      }
    }
    std::uint32_t cut = 0;
    for (; cut < depth; ++cut) {
      std::uint64_t total = 0;
      for (std::uint32_t l = 0; l < L; ++l) {
        const LayerScratch& s = layers_[l];
        const Word* row = w.reads(k0 + cut, l).data();
        for (const std::uint32_t i : s.active) total += static_cast<std::uint64_t>(std::popcount(s.pending[i] & row[i]));
      }
      if (total > budget) break;
      budget -= total;
      for (std::uint32_t l = 0; l < L; ++l) {
        LayerScratch& s = layers_[l];
        const Word* row = w.reads(k0 + cut, l).data();
        std::size_t kept = 0;
        for (const std::uint32_t i : s.active) {
          s.pending[i] &= ~row[i];
          if (s.pending[i] != 0) s.active[kept++] = i;
        }
        s.active.resize(kept);
      }
    }
    for (std::uint32_t l = 0; l < L; ++l) {
      LayerScratch& s = layers_[l];
      Word* sel = s.selected.data();
      std::vector<Word>& add = scratch_;
      add.assign(nw, 0);
      // Classes before the cut whole; then the cut class (pending and read at next + cut, or just
      // pending at the class `depth`), lowest layer then lowest token first.
      for (std::size_t i = 0; i < nw; ++i) add[i] = fill_mask(l, i) & ~s.pending[i];
      if (budget > 0) {
        const Word* in = cut < depth ? w.reads(k0 + cut, l).data() : nullptr;
        budget -= take_lowest(add.data(), nw, budget,
                              [&](std::size_t i) { return s.pending[i] & (in != nullptr ? in[i] : ~Word{0}); });
      }
      for (std::size_t i = 0; i < nw; ++i) sel[i] |= add[i];
    }
  }

  template <class F>
  void for_layers(F&& f) {
    tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, shape_.layers),
                      [&](const tbb::blocked_range<std::uint32_t>& range) {
                        for (std::uint32_t l = range.begin(); l < range.end(); ++l) f(l);
                      });
  }

  trace::TraceShape shape_;
  cost::MemorySystem memory_;
  const ResidencyPlan* plan_;  // fm_dual's guide; null for fm_tracking
  std::uint64_t capacity_;
  std::uint32_t lookahead_;
  bool balanced_;
  std::size_t words_;
  std::vector<LayerScratch> layers_;
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint32_t> reachable_;  // per layer: reads of `next` among held and fresh entries
  std::vector<double> targets_;
  std::vector<Word> scratch_;
  cost::Residency before_;
};

}  // namespace

std::unique_ptr<Policy> make_fm_tracking(const PolicyContext& ctx) { return std::make_unique<FmTracking>(ctx); }

std::unique_ptr<Policy> make_fm_dual(const PolicyContext& ctx) {
  if (ctx.plan == nullptr || ctx.plan->layers != ctx.shape.layers || ctx.plan->states != ctx.shape.decode_tokens) {
    throw std::invalid_argument("fm_dual needs a plan for every layer and state (the Lagrangian bound's paths)");
  }
  return std::make_unique<FmTracking>(ctx, true);
}

}  // namespace kvsweep::policy
