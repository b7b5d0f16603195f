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
//
// A batch, or blocks of k tokens (docs/policies-and-oracle.md): the same choice across every sequence of
// the layer's token space, over blocks (k = 1: each token is its own block). A block is read at a step
// when any of its tokens is, so its run is that of the union of its tokens' reads. Held = resident in
// R(n-1); the piggy-back group = the blocks not held that have a token read at n, and the blocks a new
// token starts (each sequence's new entry). Targets: free_migration's allocation for step n + 1 over the
// reads |S(n+1, l)| capped at the reachable reads h_l, in which a hit of layer l takes k b_l / h_l
// entries of C (b_l: the held or piggy-back blocks holding those h_l reads); layer l's target is
// floor(x_l b_l / h_l) blocks (k = 1: floor(x_l)), and should round-off leave the targets above floor(C /
// k) blocks, the last layers give up one block each. Steps 2 and 3 as above over blocks, with a budget of
// floor(C / k) blocks, ties by lowest position (sequence, then token). A chosen block holds every token
// that exists (a new token joins its block if that is chosen); a new token whose block is neither held
// nor read at n is never brought in. At the last step R(n) = R(n-1) and each new token joins its block
// if that is resident. fm_dual's plan rows are over the batch's token space (positions as the layout
// says); a block is planned when its row holds any of its tokens.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/core/block_bits.hpp"
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

// Units: core::TokenWords (k = 1: a lone sequence, bit for bit the original code, or a batch) or
// core::BlockWords (blocks). Every set the policy chooses over is kept in units: one bit per token, or
// one bit per block at its start bit (the group words of core/block_bits.hpp), and a read row is seen
// through units_.touched (a block is read when any of its tokens is).
template <class Units>
class FmTracking final : public Policy {
 public:
  FmTracking(const PolicyContext& ctx, Units units, bool dual)
      : shape_(ctx.shape), memory_(ctx.memory), plan_(dual ? ctx.plan : nullptr), units_(units),
        general_(ctx.shape.batched() || ctx.shape.block_tokens > 1),
        capacity_(ctx.memory.capacity_entries / ctx.shape.block_tokens),
        lookahead_(std::max<std::uint32_t>(1, ctx.params.fm_lookahead)),
        balanced_(ctx.memory.hbm_reads == config::HbmReads::kBalanced),
        words_(core::words_for(general_ ? ctx.shape.space() : ctx.shape.total_tokens())),
        exists_(general_ ? ctx.shape.space() : 0), layers_(ctx.shape.layers) {
    const std::size_t groups = units_.groups(words_);
    for (auto& s : layers_) {
      s.selected.assign(groups, 0);
      s.fresh.assign(groups, 0);
      s.run_planes.assign(static_cast<std::size_t>(std::bit_width(lookahead_)), std::vector<Word>(groups, 0));
      s.tie.assign(groups, 0);
      s.pending.assign(groups, 0);
      if constexpr (Units::kBlocks) s.held.assign(groups, 0);
    }
    counts_.resize(shape_.layers);
    reachable_.resize(shape_.layers);
    reachable_blocks_.resize(shape_.layers);
    targets_.resize(shape_.layers);
    unit_targets_.resize(shape_.layers);
    if constexpr (Units::kBlocks) entries_per_hit_.resize(shape_.layers);
  }

  std::string_view name() const override { return plan_ != nullptr ? "fm_dual" : "fm_tracking"; }
  std::uint32_t lookahead() const override { return lookahead_; }

  void place_prefill(const StepWindow& first, cost::Residency& r) override {
    // As a step "P - 1" whose resident set is every prompt token (placing prefill KV is free), with
    // no piggy-back group: R(P-1) is chosen from tokens < P for the hits of step P.
    const std::uint32_t p = shape_.prompt_tokens;
    cost::Residency all(shape_.layers, r.tokens());
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      if (!general_) {
        all.layer(l).set_range(0, p);
        continue;
      }
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) all.layer(l).set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    }
    if (general_) exists_ = all.layer(0);
    choose(first, 0, p, all, nullptr, r);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    if (general_) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) exists_.set(shape_.new_entry(b, w.n()));
    }
    if (w.available() == 0) {  // the last step: nothing left to serve; a new token joins its resident block
      if constexpr (Units::kBlocks) join_resident_blocks(w.n(), r);
      return;
    }
    before_ = r;  // R(n-1) (copy-assigned into kept storage); r becomes R(n)
    choose(w, 1, w.n() + 1, before_, &w, r);
  }

 private:
  static constexpr std::uint32_t kMaxRunRows = 128;  // scan_runs' table of row pointers

  // Each sequence's new token joins its block where that is resident (a block is held whole).
  void join_resident_blocks(std::uint32_t n, cost::Residency& r) const {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::size_t at = shape_.new_entry(b, n), start = at - (at - shape_.base(b)) % shape_.block_tokens;
        if (start != at && r.layer(l).test(start)) r.layer(l).set(at);
      }
    }
  }

  // Every array is over units (groups of core/block_bits.hpp; tokens: words).
  struct LayerScratch {
    std::vector<Word> selected;
    // Bit p of the length of each unit's read run from `next` (steps next, next + 1, ... that all
    // read it, at most K): run_planes[p][group].
    std::vector<std::vector<Word>> run_planes;
    std::vector<std::pair<std::size_t, Word>> scan;  // runs being measured: (group, units still running)
    std::vector<Word> tie;                  // the radix selection's undecided units
    std::vector<Word> pending;              // fill_by_next_read: units not yet in a class
    std::vector<std::uint32_t> active;      // fill_by_next_read: the groups with pending units
    std::vector<Word> fresh;                // read now or new, not held: the piggy-back group
    std::vector<Word> held;                 // blocks only: the held blocks (tokens: the residency itself)
    std::uint64_t chosen = 0;
  };

  // Group g of a read row in units (a block is read when any of its tokens is).
  Word unit(const Word* row, std::size_t g, std::size_t nw) const { return units_.touched(row, g, nw); }

  // Sets the run length of the units of `running` (group i of the scan) to `len`.
  static void set_run(LayerScratch& s, std::size_t i, Word units, std::uint32_t len) {
    for (std::size_t p = 0; p < s.run_planes.size(); ++p) {
      Word& plane = s.run_planes[p][i];
      plane = ((len >> p) & 1U) != 0 ? plane | units : plane & ~units;
    }
  }

  // Measures the runs of the units in s.scan, which are read at every step up to row `from` - 1 of
  // w, through rows from .. last: a unit that row j does not read has a run of j - k0; those still
  // running after `last` have last + 1 - k0. Group by group, so that the loads down one group's rows
  // (rows far ahead are rarely in cache) are issued ahead of the test that ends the loop.
  void scan_runs(LayerScratch& s, const StepWindow& w, std::uint32_t l, std::uint32_t k0, std::uint32_t from,
                 std::uint32_t last, std::size_t nw) {
    if (s.scan.empty()) return;
    const Word* rows[kMaxRunRows];
    const std::uint32_t end = std::min(last + 1, from + kMaxRunRows);
    for (std::uint32_t j = from; j < end; ++j) rows[j - from] = w.reads(j, l).data();
    for (auto [i, running] : s.scan) {
      std::uint32_t j = from;
      for (; j < end && running != 0; ++j) {
        const Word still = running & unit(rows[j - from], i, nw);
        if (running != still) set_run(s, i, running & ~still, j - k0);
        running = still;
      }
      for (; j <= last && running != 0; ++j) {  // past kMaxRunRows rows
        const Word still = running & unit(w.reads(j, l).data(), i, nw);
        if (running != still) set_run(s, i, running & ~still, j - k0);
        running = still;
      }
      if (running != 0) set_run(s, i, running, last + 1 - k0);
    }
    s.scan.clear();
  }

  // The run lengths from `next` = n + k0 over the groups of nw words: from scratch at prefill (k0 =
  // 0), otherwise from those from n (k0 = 1): units read at n run one step less, except those at the
  // cap K, which stay at K if step n + K reads them; units not read at n start a run at n + 1 if it
  // reads them.
  void update_runs(LayerScratch& s, const StepWindow& w, std::uint32_t l, std::uint32_t k0, std::size_t nw) {
    const std::size_t ng = units_.groups(nw);
    const std::uint32_t last = std::min(lookahead_ - 1 + k0, w.available());  // deepest row a run counts
    const Word* first = w.reads(k0, l).data();
    if (k0 == 0) {
      for (auto& plane : s.run_planes) std::fill(plane.begin(), plane.begin() + static_cast<std::ptrdiff_t>(ng), Word{0});
      for (std::size_t i = 0; i < ng; ++i) {
        const Word read = unit(first, i, nw);
        if (read != 0) s.scan.emplace_back(i, read);
      }
      return scan_runs(s, w, l, 0, 1, last, nw);
    }
    const Word* now = w.reads(0, l).data();
    const Word* beyond = lookahead_ <= w.available() ? w.reads(lookahead_, l).data() : nullptr;
    const std::size_t planes = s.run_planes.size();
    for (std::size_t i = 0; i < ng; ++i) {
      const Word now_i = unit(now, i, nw);
      // At the cap: every bit of the length equal to K's.
      Word at_cap = now_i;
      for (std::size_t p = 0; p < planes; ++p) {
        const Word x = s.run_planes[p][i];
        at_cap &= ((lookahead_ >> p) & 1U) != 0 ? x : ~x;
      }
      Word borrow = now_i;  // minus one where read at n
      for (std::size_t p = 0; p < planes && borrow != 0; ++p) {
        const Word x = s.run_planes[p][i];
        s.run_planes[p][i] = x ^ borrow;
        borrow &= ~x;
      }
      if (beyond != nullptr) {
        const Word stays = at_cap & unit(beyond, i, nw);
        if (stays != 0) set_run(s, i, stays, lookahead_);
      }
      const Word starting = unit(first, i, nw) & ~now_i;
      if (starting != 0) s.scan.emplace_back(i, starting);
    }
    scan_runs(s, w, l, 1, 2, last, nw);
  }

  // Adds to sel the `want` units of `cand` with the longest runs (run >= 1; lowest position first
  // among equal runs), or all of them if fewer: a radix selection from the top bit plane down, over ng
  // groups. Returns how many were added.
  static std::uint64_t take_longest_runs(LayerScratch& s, const Word* cand, std::size_t ng, std::uint64_t want,
                                         Word* sel) {
    Word* tie = s.tie.data();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < ng; ++i) {
      Word running = 0;
      for (const auto& plane : s.run_planes) running |= plane[i];
      tie[i] = cand[i] & running;
      total += static_cast<std::uint64_t>(std::popcount(tie[i]));
    }
    if (total <= want) {
      for (std::size_t i = 0; i < ng; ++i) sel[i] |= tie[i];
      return total;
    }
    std::uint64_t left = want;
    for (std::size_t p = s.run_planes.size(); p-- > 0 && left > 0;) {
      const Word* plane = s.run_planes[p].data();
      std::uint64_t with_bit = 0;
      for (std::size_t i = 0; i < ng; ++i) with_bit += static_cast<std::uint64_t>(std::popcount(tie[i] & plane[i]));
      if (with_bit <= left) {  // all of the longer half, then on among the shorter one
        for (std::size_t i = 0; i < ng; ++i) {
          sel[i] |= tie[i] & plane[i];
          tie[i] &= ~plane[i];
        }
        left -= with_bit;
      } else {
        for (std::size_t i = 0; i < ng; ++i) tie[i] &= plane[i];
      }
    }
    if (left > 0) take_lowest(sel, ng, left, [&](std::size_t i) { return tie[i]; });
    return want;
  }

  // The held units of layer l (tokens: the residency's own words).
  const Word* held_units(const cost::Residency& held, std::uint32_t l) const {
    if constexpr (Units::kBlocks) return layers_[l].held.data();
    return held.layer(l).data();
  }

  // Fills s.fresh (the piggy-back group: units read at n or holding a new token that is kept as the
  // new entry, not held) and, for blocks, s.held; returns the reads of `next` among held and fresh
  // units, and their units in *units_read.
  std::uint64_t prepare_groups(LayerScratch& s, const cost::Residency& held, const StepWindow* now,
                               const Word* s_next, std::uint32_t l, std::uint32_t n, std::size_t nw,
                               std::uint64_t* units_read) {
    const std::size_t ng = units_.groups(nw);
    const Word* h = held.layer(l).data();
    if constexpr (Units::kBlocks) {
      for (std::size_t g = 0; g < ng; ++g) s.held[g] = unit(h, g, nw);
    }
    const Word* hu = held_units(held, l);
    const Word* s_now = now != nullptr ? now->reads(0, l).data() : nullptr;
    Word* fresh = s.fresh.data();
    for (std::size_t g = 0; g < ng; ++g) fresh[g] = s_now != nullptr ? unit(s_now, g, nw) & ~hu[g] : Word{0};
    if (s_now != nullptr) {
      if (!general_) {
        if (n / kWordBits < nw) fresh[n / kWordBits] |= (Word{1} << (n % kWordBits)) & ~h[n / kWordBits];
      } else {
        // A new token that starts a block is the new entry (a token inside a block follows its block).
        for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
          const std::size_t at = shape_.new_entry(b, n);
          if ((at - shape_.base(b)) % shape_.block_tokens != 0) continue;
          fresh[at / (kWordBits * units_.per())] |= Word{1} << (at % kWordBits);
        }
      }
    }
    std::uint64_t hits = 0, read_units = 0;
    for (std::size_t g = 0; g < ng; ++g) {
      const Word reachable = hu[g] | fresh[g];
      if constexpr (Units::kBlocks) {
        if (reachable == 0) continue;
        read_units += static_cast<std::uint64_t>(std::popcount(unit(s_next, g, nw) & reachable));
        const Word bits = units_.spread(reachable);
        for (std::size_t i = units_.first_word(g); i < units_.last_word(g, nw); ++i) {
          hits += static_cast<std::uint64_t>(std::popcount(s_next[i] & bits));
        }
      } else {
        hits += static_cast<std::uint64_t>(std::popcount(s_next[g] & reachable));
      }
    }
    *units_read = Units::kBlocks ? read_units : hits;
    return hits;
  }

  // Per layer: the units of S(next, l) to hold, from free_migration's allocation x (hits). Tokens:
  // floor(x_l). Blocks: a hit of layer l takes k b_l / h_l entries (b_l blocks hold the h_l reads of
  // `next` it can reach), and the target is floor(x_l b_l / h_l) blocks; the last layers give up one
  // block each while round-off leaves them above C.
  void set_targets() {
    const std::uint32_t L = shape_.layers;
    if constexpr (!Units::kBlocks) {
      bound::free_migration_allocation(memory_, counts_, targets_, reachable_);
      for (std::uint32_t l = 0; l < L; ++l) unit_targets_[l] = static_cast<std::uint64_t>(std::floor(targets_[l] + 1e-9));
      return;
    }
    for (std::uint32_t l = 0; l < L; ++l) {
      entries_per_hit_[l] = reachable_[l] == 0 ? 1.0
                                               : static_cast<double>(shape_.block_tokens) * reachable_blocks_[l] / reachable_[l];
    }
    bound::free_migration_allocation(memory_, counts_, targets_, reachable_, nullptr, entries_per_hit_);
    std::uint64_t total = 0;
    for (std::uint32_t l = 0; l < L; ++l) {
      const double blocks = reachable_[l] == 0 ? 0.0 : targets_[l] * reachable_blocks_[l] / reachable_[l];
      unit_targets_[l] = std::min<std::uint64_t>(reachable_blocks_[l], static_cast<std::uint64_t>(std::floor(blocks + 1e-9)));
      total += unit_targets_[l];
    }
    for (std::uint32_t l = L; total > capacity_ && l-- > 0;) {
      if (unit_targets_[l] > 0) {
        --unit_targets_[l];
        --total;
      }
    }
  }

  // Chooses R(next - 1) into r for the hits of step `next` = n + k0 of window w (k0 = 1 for a decode
  // step, 0 for prefill), from the resident set `held` (R(n-1), or all prompt tokens), with the
  // piggy-back group (read at n or new) when `now` is given. A lone sequence's tokens are < tokens_below.
  void choose(const StepWindow& w, std::uint32_t k0, std::uint32_t tokens_below, const cost::Residency& held,
              const StepWindow* now, cost::Residency& r) {
    const std::uint32_t L = shape_.layers;
    const std::uint32_t depth = std::min(lookahead_, w.available() + 1 - k0);  // steps next .. next+depth-1
    const std::size_t nw = general_ ? words_ : core::words_for(tokens_below);
    const std::size_t ng = units_.groups(nw);
    const std::uint32_t n = w.n();
    // Group 0: held; group 1: read now or new, not held. Their reads at `next` are the most hits a
    // layer can have there.
    for_layers([&](std::uint32_t l) {
      std::uint64_t units_read = 0;
      reachable_[l] = static_cast<std::uint32_t>(prepare_groups(layers_[l], held, now, w.reads(k0, l).data(), l, n, nw, &units_read));
      reachable_blocks_[l] = static_cast<std::uint32_t>(units_read);
      update_runs(layers_[l], w, l, k0, nw);
    });
    for (std::uint32_t l = 0; l < L; ++l) counts_[l] = w.count(k0, l);
    set_targets();

    // Steps 1-2, per layer: the hits of step `next`.
    for_layers([&](std::uint32_t l) {
      LayerScratch& s = layers_[l];
      std::fill(s.selected.begin(), s.selected.begin() + static_cast<std::ptrdiff_t>(ng), Word{0});
      const std::uint64_t target = unit_targets_[l];
      // Group 0 (held) first, then group 1 (fresh) for what is left, each by longest run.
      Word* sel = s.selected.data();
      std::uint64_t chosen = take_longest_runs(s, held_units(held, l), ng, target, sel);
      if (chosen < target) chosen += take_longest_runs(s, s.fresh.data(), ng, target - chosen, sel);
      s.chosen = chosen;
    });

    // Step 3: the capacity left keeps other held units, soonest next read first; fm_dual first keeps
    // (or piggy-backs) the units its plan holds in this state, soonest next read first.
    std::uint64_t used = 0;
    for (const auto& s : layers_) used += s.chosen;
    std::uint64_t budget = capacity_ > used ? capacity_ - used : 0;
    auto unless_read_next = [&](std::uint32_t l, std::size_t i, Word x) {
      return balanced_ ? x : x & ~unit(w.reads(k0, l).data(), i, nw);
    };
    if (plan_ != nullptr && budget > 0) {
      const std::uint32_t state = n - shape_.prompt_tokens + k0;
      budget -= fill(w, k0, depth, nw, budget, [&](std::uint32_t l, std::size_t i) {
        const Word planned = unit(plan_->row(l, state), i, nw);
        return unless_read_next(l, i, planned & (held_units(held, l)[i] | layers_[l].fresh[i]) & ~layers_[l].selected[i]);
      });
    }
    fill(w, k0, depth, nw, budget, [&](std::uint32_t l, std::size_t i) {
      return unless_read_next(l, i, held_units(held, l)[i] & ~layers_[l].selected[i]);
    });
    for (std::uint32_t l = 0; l < L; ++l) write_layer(layers_[l].selected.data(), nw, r.layer(l));
  }

  // R(n, l) from the selected units: tokens as they are; a block with every token that exists.
  void write_layer(const Word* sel, std::size_t nw, core::TokenBitset& layer) const {
    Word* out = layer.data();
    if constexpr (Units::kBlocks) {
      const Word* x = exists_.data();
      for (std::size_t g = 0; g < units_.groups(nw); ++g) {
        const Word bits = units_.spread(sel[g]);
        for (std::size_t i = units_.first_word(g); i < units_.last_word(g, nw); ++i) out[i] = bits & x[i];
      }
    } else {
      std::copy(sel, sel + nw, out);
    }
    std::fill(out + nw, out + layer.word_count(), Word{0});
  }

  // Adds to `selected` up to `budget` of the units fill_mask(l, group) offers, soonest next read
  // first; returns how many.
  template <class FillMask>
  std::uint64_t fill(const StepWindow& w, std::uint32_t k0, std::uint32_t depth, std::size_t nw, std::uint64_t budget,
                     FillMask fill_mask) {
    if (budget == 0) return 0;
    const std::size_t ng = units_.groups(nw);
    std::uint64_t candidates = 0;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      candidates += count_words(ng, [&](std::size_t i) { return fill_mask(l, i); });
    }
    if (candidates <= budget) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        Word* sel = layers_[l].selected.data();
        for (std::size_t i = 0; i < ng; ++i) sel[i] |= fill_mask(l, i);
      }
      return candidates;
    }
    fill_by_next_read(w, k0, depth, nw, budget, fill_mask);
    return budget;
  }

  // Class k = read first at step next + k; class `depth` = not read within the window. Each layer's
  // unclassified units (`pending`, kept for the groups that still have some) are classified class by
  // class over all layers until the classes so far exceed the budget: that class is the cut. Held
  // units are mostly read again soon, so few groups stay pending for long.
  template <class FillMask>
  void fill_by_next_read(const StepWindow& w, std::uint32_t k0, std::uint32_t depth, std::size_t nw,
                         std::uint64_t budget, FillMask fill_mask) {
    const std::uint32_t L = shape_.layers;
    const std::size_t ng = units_.groups(nw);
    for (std::uint32_t l = 0; l < L; ++l) {
      LayerScratch& s = layers_[l];
      s.active.clear();
      for (std::size_t i = 0; i < ng; ++i) {
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
        for (const std::uint32_t i : s.active) total += static_cast<std::uint64_t>(std::popcount(s.pending[i] & unit(row, i, nw)));
      }
      if (total > budget) break;
      budget -= total;
      for (std::uint32_t l = 0; l < L; ++l) {
        LayerScratch& s = layers_[l];
        const Word* row = w.reads(k0 + cut, l).data();
        std::size_t kept = 0;
        for (const std::uint32_t i : s.active) {
          s.pending[i] &= ~unit(row, i, nw);
          if (s.pending[i] != 0) s.active[kept++] = i;
        }
        s.active.resize(kept);
      }
    }
    for (std::uint32_t l = 0; l < L; ++l) {
      LayerScratch& s = layers_[l];
      Word* sel = s.selected.data();
      std::vector<Word>& add = scratch_;
      add.assign(ng, 0);
      // Classes before the cut whole; then the cut class (pending and read at next + cut, or just
      // pending at the class `depth`), lowest layer then lowest position first.
      for (std::size_t i = 0; i < ng; ++i) add[i] = fill_mask(l, i) & ~s.pending[i];
      if (budget > 0) {
        const Word* in = cut < depth ? w.reads(k0 + cut, l).data() : nullptr;
        budget -= take_lowest(add.data(), ng, budget,
                              [&](std::size_t i) { return s.pending[i] & (in != nullptr ? unit(in, i, nw) : ~Word{0}); });
      }
      for (std::size_t i = 0; i < ng; ++i) sel[i] |= add[i];
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
  Units units_;
  bool general_;               // a batch or blocks: new tokens per sequence, the whole token space
  std::uint64_t capacity_;     // in units: C entries, or floor(C / k) blocks
  std::uint32_t lookahead_;
  bool balanced_;
  std::size_t words_;
  core::TokenBitset exists_;   // general only: tokens that exist (prompts, then one per sequence and step)
  std::vector<LayerScratch> layers_;
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint32_t> reachable_;         // per layer: reads of `next` among held and fresh units
  std::vector<std::uint32_t> reachable_blocks_;  // per layer: the units holding them
  std::vector<double> targets_;                  // free_migration's hits
  std::vector<double> entries_per_hit_;          // blocks only
  std::vector<std::uint64_t> unit_targets_;      // per layer: units of S(next, l) to hold
  std::vector<Word> scratch_;
  cost::Residency before_;
};

// Tokens for a lone sequence or a batch with k = 1, blocks otherwise (the header's rules).
std::unique_ptr<Policy> make_fm(const PolicyContext& ctx, bool dual) {
  if (ctx.shape.block_tokens > 1) return std::make_unique<FmTracking<core::BlockWords>>(ctx, core::BlockWords(ctx.shape.block_tokens), dual);
  return std::make_unique<FmTracking<core::TokenWords>>(ctx, core::TokenWords{}, dual);
}

}  // namespace

std::unique_ptr<Policy> make_fm_tracking(const PolicyContext& ctx) { return make_fm(ctx, false); }

std::unique_ptr<Policy> make_fm_dual(const PolicyContext& ctx) {
  const bool general = ctx.shape.batched() || ctx.shape.block_tokens > 1;
  const std::size_t words = core::words_for(general ? ctx.shape.space() : ctx.shape.total_tokens());
  if (ctx.plan == nullptr || ctx.plan->layers != ctx.shape.layers || ctx.plan->states != ctx.shape.decode_tokens ||
      ctx.plan->words < words) {
    throw std::invalid_argument("fm_dual needs a plan for every layer and state over the token space (the Lagrangian bound's paths)");
  }
  return make_fm(ctx, true);
}

}  // namespace kvsweep::policy
