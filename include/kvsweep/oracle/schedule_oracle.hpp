#pragma once
// The token-level oracle: annealing directly over residency schedules, with perfect knowledge of every
// future read. A schedule is stored entry-major (for each (token, layer) entry, one bit per state
// i = 0..D, where state 0 is R(P-1) and state i is R(P-1+i)), next to the reads in the same layout, so
// that a move on one entry touches a few contiguous words. Per-(step, layer) counts and times are kept
// up to date, so a move's cost delta is computed from the handful of steps it touches; the judge's
// formulas are the only cost used (cost::step_time_s, looked up in a cost::StepTimeTable).
//
// Memory: two bits per entry and state plus O(D * L) counts: fine for small and medium points; the
// paper-scale point needs a compressed form (see docs/policies-and-oracle.md "Large points").
//
// Batches and blocks (trace::TraceShape::batched(), block_tokens k > 1; general()): an "entry" of the
// schedule is a unit, one block of k positions of one layer's token space (k = 1: one position), whose
// bit in a state says that every token of the block existing then is resident; a unit never holds a
// state before its first token exists, and costs k entries of capacity in every state it is resident
// (capacity is counted in units: floor(C / k)). Every per-(step, layer) term is a sum over units: a
// unit resident before the step adds its tokens read (hits); one promoted at the step (resident after,
// not before, with tokens existing before) adds its tokens read (a1) and its other existing tokens
// (a2), and, like one read while not resident, one transfer; one resident after the step that receives
// a sequence's new token keeps it (beta). The step's writes are B. So the moves are the same moves over
// units, and an edit recounts exactly the steps whose unit terms it changes, with the judge's numbers.
// The lone sequence with k = 1 keeps its own word-parallel path, unchanged.

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "kvsweep/core/fast_div.hpp"
#include "kvsweep/core/huge_pages.hpp"
#include "kvsweep/core/rng.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/cost/cost_model.hpp"
#include "kvsweep/cost/residency.hpp"
#include "kvsweep/cost/step_time_table.hpp"
#include "kvsweep/oracle/max_tree.hpp"
#include "kvsweep/oracle/tempering.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::oracle {

// Everything the replicas share: shape, memory system, reads (entry-major).
class OracleInstance {
 public:
  OracleInstance(const trace::ExplicitTrace& trace, const cost::MemorySystem& memory);
  // Reads a source once (keeps one bit per entry and step).
  OracleInstance(trace::TraceSource& source, const cost::MemorySystem& memory);
  // An empty instance to fill with add_steps(): a window of a longer trace whose first
  // `frozen_states` states are fixed.
  // With freeze_last, the last state is fixed too (a window that hands its end state to the next).
  OracleInstance(const trace::TraceShape& shape, const cost::MemorySystem& memory, std::uint32_t frozen_states,
                 bool freeze_last = false);
  // Steps j0 .. j0 + reads.size() - 1, j0 a multiple of 64 and at most 64 steps: reads[k][l] = S(P + j0 + k, l)
  // of this instance. Bitsets may be longer than tokens(); the bits beyond are ignored.
  void add_steps(std::uint32_t j0, std::span<const std::vector<core::TokenBitset>> reads);

  const trace::TraceShape& shape() const { return shape_; }
  const cost::MemorySystem& memory() const { return memory_; }
  // cost::step_time_s of one (step, layer)'s counts, by table lookup (bit-identical).
  double step_time_s(const cost::StepCounts& c) const { return step_time_(c); }
  std::uint32_t tokens() const { return shape_.total_tokens(); }
  // A batch or blocks: units are blocks of positions (see the file's header).
  bool general() const { return general_; }
  // Units per layer: tokens() for a lone sequence, else the blocks of the token space.
  std::uint32_t units() const { return units_; }
  std::uint64_t entries() const { return static_cast<std::uint64_t>(units_) * shape_.layers; }
  // Units that fit in HBM at once: C, or floor(C / k).
  std::uint64_t capacity_units() const { return memory_.capacity_entries / shape_.block_tokens; }
  std::uint32_t states() const { return shape_.decode_tokens + 1; }
  std::size_t words_per_entry() const { return words_per_entry_; }
  // Entry e = l * units + unit (entries() < 2^32, checked on construction).
  std::uint32_t layer_of(std::uint64_t e) const { return by_units_.quotient(static_cast<std::uint32_t>(e)); }
  std::uint32_t unit_of(std::uint64_t e) const { return by_units_.remainder(static_cast<std::uint32_t>(e)); }
  // First state a move may change for entry e: its (first) token must exist, and leading frozen states
  // (a window's start state, fixed by the window before it) never change.
  std::uint32_t first_state(std::uint64_t e) const {
    std::uint32_t exists;
    if (general_) {
      const std::int64_t birth = birth_[unit_of(e)];
      exists = birth < 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>(birth + 1, states()));
    } else {
      const std::uint32_t t = unit_of(e);
      exists = t < shape_.prompt_tokens ? 0 : t - shape_.prompt_tokens + 1;
    }
    return exists > frozen_states_ ? exists : frozen_states_;
  }
  // general(): tokens of entry e's block that exist in state i (i = step j before the step j).
  std::uint32_t existing(std::uint64_t e, std::uint32_t i) const {
    const std::int64_t x = std::int64_t{i} - birth_[unit_of(e)];
    return x <= 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>(x, shape_.block_tokens));
  }
  // general(): tokens of entry e's block read at step j.
  std::uint32_t unit_reads(std::uint64_t e, std::uint32_t j) const;
  // general(): the steps of word w (bit k: step 64 w + k) at which a new token joins entry e's block.
  core::Word creates_word(std::uint64_t e, std::size_t w) const;
  // k > 1: the units of a layer a bitset of positions touches (any of a block's positions), one bit per
  // unit, into out (resized to the units' words).
  void units_of(const core::TokenBitset& positions, std::vector<core::Word>& out) const;
  std::uint32_t frozen_states() const { return frozen_states_; }
  // One past the last state a move may change.
  std::uint32_t free_end() const { return freeze_last_ ? states() - 1 : states(); }
  // Is the entry read at step j (n = P + j)?
  bool read(std::uint64_t e, std::uint32_t j) const {
    return (reads_[e * words_per_entry_ + j / core::kWordBits] >> (j % core::kWordBits)) & 1U;
  }
  core::Word read_word(std::uint64_t e, std::size_t w) const { return reads_[e * words_per_entry_ + w]; }
  std::uint32_t read_count(std::uint32_t j, std::uint32_t l) const { return read_count_[j * shape_.layers + l]; }

 private:
  void init(const trace::ExplicitTrace& trace);
  trace::TraceShape shape_;
  cost::MemorySystem memory_;
  bool general_;
  std::uint32_t units_;
  core::FastDivider by_units_;  // splits an entry index: it is in every move
  cost::StepTimeTable step_time_;
  // general(): per unit of a layer, the step that creates its block's first token (negative: a prompt
  // token; past the last step for padding, which never exists).
  std::vector<std::int64_t> birth_;
  std::size_t space_words_ = 0;
  // k > 1: the reads token by token, step-major: words [(j L + l) * space_words_, ...) for step j, layer l.
  core::HugeVector<core::Word> token_reads_;
  std::size_t words_per_entry_ = 0;
  std::uint32_t frozen_states_ = 0;
  bool freeze_last_ = false;
  core::HugeVector<core::Word> reads_;
  std::vector<std::uint32_t> read_count_;
};

// One editable schedule with its per-step counts, times and per-state occupancy.
class ScheduleState {
  using Word = core::Word;

 public:
  explicit ScheduleState(const OracleInstance& inst);
  // From a recorded schedule: residency[i] = state i (R(P-1+i)), i = 0..D.
  ScheduleState(const OracleInstance& inst, const std::vector<cost::Residency>& residency);

  // Loading a schedule block by block (e.g. while a policy runs): states i0 .. i0 + states.size() - 1 of
  // a new schedule, i0 a multiple of 64 and at most 64 states; then recount() once.
  void load_states(std::uint32_t i0, std::span<const cost::Residency* const> states);
  void recount() { rebuild_counts(); }

  bool resident(std::uint64_t e, std::uint32_t i) const {
    return (res_[e * wpe_ + i / core::kWordBits] >> (i % core::kWordBits)) & 1U;
  }
  // Word w of entry e's states (bit k: state 64 w + k).
  core::Word state_word(std::uint64_t e, std::size_t w) const { return res_[e * wpe_ + w]; }
  // Incrementally tracked total time (drifts by rounding over many moves; see exact_total()).
  double total() const { return total_; }
  // Total recomputed from the counts, summed in step order.
  double exact_total() const;
  std::uint32_t occupancy(std::uint32_t i) const { return occ_.at(i); }
  // State i as a Residency (for the judge and the checker).
  cost::Residency residency(std::uint32_t i) const;
  // States 64 w .. 64 w + 63 (those that exist) into `block`, as Residencies with room for `tokens`
  // positions (at least the shape's space()): one pass over one word of every entry, the cheap way to
  // hand a whole schedule to the judge. The block's storage is reused from call to call.
  void state_block(std::size_t w, std::size_t tokens, std::vector<cost::Residency>& block) const;

  // A tentative edit: set entry e resident (v) or not over states [s, u). Returns false, changing
  // nothing, when it would break capacity or hold a token before it exists. Logged for undo().
  // Cost: O((u - s) / 64) words, plus per run of changed states an O(log D) capacity check and the
  // steps whose terms change (the run's two ends and the reads inside it).
  bool set_range(std::uint64_t e, std::uint32_t s, std::uint32_t u, bool v);
  // Capacity-neutral: entry `to` takes entry `from`'s place over states [s, u), where `from` is resident
  // and `to` is not (std::logic_error otherwise). False, changing nothing, when `to` does not exist yet.
  bool hand_over(std::uint64_t from, std::uint64_t to, std::uint32_t s, std::uint32_t u);
  // Capacity-safe: entry `to` becomes resident over [s, u) (where it already is, nothing changes)
  // while entry `from`, resident over all of [s, u), is evicted over [s, from_end), from_end >= u.
  // std::logic_error when `from` does not hold [s, u); false, changing nothing, when `to` does not
  // exist yet at s or the range touches a frozen state.
  bool swap_in(std::uint64_t to, std::uint64_t from, std::uint32_t s, std::uint32_t u, std::uint32_t from_end);
  // The maximal run of resident states of entry e that contains state i (resident), clipped to the
  // states a move may change: [begin, end).
  std::pair<std::uint32_t, std::uint32_t> run_around(std::uint64_t e, std::uint32_t i) const;
  // Cost change of the edits since the last commit()/undo().
  double pending_delta() const { return pending_; }
  // Most proposals edit nothing (refused by a check): those return here without a call.
  void commit() {
    if (flip_log_.empty() && step_log_.empty()) {
      total_ += pending_;
      pending_ = 0;
      return;
    }
    commit_edits();
  }
  void undo() {
    if (flip_log_.empty() && step_log_.empty()) {
      pending_ = 0;
      return;
    }
    undo_edits();
  }

 private:
  static constexpr std::uint32_t kNoStep = ~std::uint32_t{0};
  void commit_edits();
  void undo_edits();
  // One entry's terms of the 64 steps of one word (bit k: step 64 w + k): read while resident, promoted
  // while read or ahead of its read, the step's own new KV kept.
  struct Terms {
    Word hit, piggyback, prefetch, kept;
  };
  // general(): one unit's terms of the 64 steps of one word: resident before the step and read there,
  // promoted (resident after, not before, with existing tokens), crossing the link towards the GPU
  // (read while not resident, or promoted), keeping the step's new token.
  struct UnitTerms {
    Word hit, promoted, crossing, kept;
  };
  struct StepUndo {
    std::uint32_t index;
    cost::StepCounts counts;
    double time;
  };
  struct Flip {  // states 64 word + k for the set bits k of mask, all flipped the same way
    std::uint64_t entry;
    std::size_t word;
    Word mask;
  };
  // j_new: the step that creates entry e (kNoStep for a prompt token).
  Terms terms(std::uint64_t e, std::size_t w, std::uint32_t j_new) const;
  UnitTerms unit_terms(std::uint64_t e, std::size_t w) const;
  // Adds (sign +1) or removes (-1) the terms of unit e at step j = 64 w + bit to that step's counts.
  void add_unit_step(cost::StepCounts& c, std::uint64_t e, std::uint32_t j, const UnitTerms& t, int bit,
                     std::uint64_t sign) const;
  bool edit(std::uint64_t e, std::uint32_t s, std::uint32_t u, bool v, bool check_capacity);
  // The lone and general halves of edit(): recount the step words [wa, wa + words) of entry e after its
  // states flipped, from the terms saved before (j_new: the step that creates a lone entry).
  void recount_tokens(std::uint64_t e, std::uint32_t j_new, std::size_t wa, std::size_t words);
  void recount_units(std::uint64_t e, std::size_t wa, std::size_t words);
  // Logs (step_log_) and then recomputes the time of the (step, layer) at index idx, adding its change.
  void log_step(std::uint32_t idx) { step_log_.push_back({idx, counts_[idx], time_[idx]}); }
  void retime(std::uint32_t idx) {
    const double time = inst_->step_time_s(counts_[idx]);
    pending_ += time - time_[idx];
    time_[idx] = time;
  }
  // States 64 w .. 64 w + count - 1 as unit bitsets (the positions of a lone sequence) into block, as
  // Residencies with room for `tokens` units.
  void transpose_states(std::size_t w, std::uint32_t count, std::size_t tokens, std::vector<cost::Residency>& block) const;
  void rebuild_unit_counts();
  void rebuild_token_counts();
  // Inverts the flip's states and updates the occupancy leaves.
  void apply(const Flip& f);
  void rebuild_counts();

  const OracleInstance* inst_;
  std::size_t wpe_;
  core::HugeVector<core::Word> res_;
  MaxTree occ_;                           // entries resident in each state
  std::vector<cost::StepCounts> counts_;  // [j * L + l]
  std::vector<double> time_;              // [j * L + l]
  double total_ = 0;
  double pending_ = 0;
  std::vector<StepUndo> step_log_;
  std::vector<Flip> flip_log_;
  std::vector<Word> masks_;               // scratch, one per word of states: what an edit flips
  std::vector<Terms> terms_before_;       // scratch, one per word of states
  std::vector<UnitTerms> unit_terms_before_;  // scratch, general(): one per word of states
};

// The annealing problem over ScheduleState (tempering.hpp's Problem concept).
class ScheduleProblem {
 public:
  using State = ScheduleState;
  explicit ScheduleProblem(const OracleInstance& inst) : inst_(inst) {}
  double cost(const State& s) const { return s.total(); }

  // Moves, local: (a) "toggle" a short random range of one entry to resident or not; (b) "hand_over"
  // residency over a short range from a resident entry to a non-resident one (capacity-neutral);
  // (c) "miss_to_hit": make a missed read a hit by holding the entry from its previous read
  // (piggy-back) or a prefetch just before. Non-local, so that a good seed is not a local trap under
  // a full HBM: (d) "hand_over_run" hands the rest of a residency run over, up to wherever the
  // receiver is resident; (e) "evict_for_hit" makes a missed read a hit in the place of a victim
  // resident at that step, evicting the victim over the same states or the rest of its run;
  // (f) "evict_run" drops a whole residency run. Runs are followed for at most 128 states.
  enum MoveKind : std::uint8_t { kToggle, kHandOver, kMissToHit, kHandOverRun, kEvictForHit, kEvictRun, kMoveKinds };
  static std::span<const char* const> move_kinds() {
    static constexpr const char* kNames[kMoveKinds] = {"toggle",        "hand_over",     "miss_to_hit",
                                                       "hand_over_run", "evict_for_hit", "evict_run"};
    return kNames;
  }
  template <class Accept>
  MoveOutcome step(State& s, core::Rng& rng, Accept&& accept) const {
    MoveOutcome out;
    if (!propose(s, rng, out.kind)) {
      s.undo();
      return out;
    }
    out.proposed = true;
    out.delta = s.pending_delta();
    if (accept(out.delta)) {
      s.commit();
      out.accepted = true;
    } else {
      s.undo();
    }
    return out;
  }

 private:
  static constexpr std::uint32_t kNoStep = ~std::uint32_t{0};
  bool propose(State& s, core::Rng& rng, std::uint8_t& kind) const;
  bool propose_miss_to_hit(State& s, std::uint64_t e, std::uint32_t first, std::uint64_t r2, core::Rng& rng,
                           bool evict) const;
  // The first step >= from (wrapping) at which entry e is read but not resident, or kNoStep.
  std::uint32_t find_miss(const State& s, std::uint64_t e, std::uint32_t from) const;
  // The last step < j at which entry e is read, or kNoStep.
  std::uint32_t previous_read(std::uint64_t e, std::uint32_t j) const;
  const OracleInstance& inst_;
};

}  // namespace kvsweep::oracle
