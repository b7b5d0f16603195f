#pragma once
// Scores a schedule as it is produced, one decode step at a time, with the formulas of
// cost_model.hpp. It recounts everything from the bitsets (it never trusts a policy's bookkeeping)
// and throws std::logic_error when a schedule breaks the rules: capacity exceeded, or a layer holding a
// token that does not exist yet.
//
// Cost: O(L * (P + D) / 64) word operations per decode step.

#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "kvsweep/cost/cost_model.hpp"
#include "kvsweep/cost/residency.hpp"

namespace kvsweep::cost {

// Sums over every (n, l) of one schedule.
struct ScheduleTotals {
  std::uint64_t steps = 0;       // (n, l) pairs scored
  std::uint64_t reads = 0;
  std::uint64_t hits = 0;
  std::uint64_t piggyback = 0;   // a1
  std::uint64_t prefetch = 0;    // a2
  std::uint64_t kept_new = 0;    // sum of beta
  std::uint64_t transfers = 0;   // blocks moved towards the GPU (counted only when transfers cost: O > 0)
  std::uint64_t peak_resident = 0;
  double hbm_hits = 0;           // hits that HBM served (balanced reads send the rest to DRAM's copy)
  double total_time_s = 0;
  double hbm_bytes = 0;
  double link_read_bytes = 0;
  double link_write_bytes = 0;
  double dram_bytes = 0;
  double weight_bytes = 0;       // weights read (W per step)
  double hbm_weight_bytes = 0;   // of those, the bytes HBM served (all of them unless weights_in_dram: mirror)
  // Time spent per bottleneck (which term of the max won), seconds.
  double hbm_bound_s = 0;
  double link_bound_s = 0;
  double dram_bound_s = 0;
};

// Optional per-(n, l) record, for the checker and for per-step time series.
struct StepRecord {
  std::uint32_t n = 0;
  std::uint32_t layer = 0;
  StepCounts counts;
  double time_s = 0;
};

class Judge {
 public:
  // enforce_capacity = false only for the `unlimited_hbm` reference.
  Judge(const MemorySystem& memory, const trace::TraceShape& shape, bool enforce_capacity);

  // R(P-1, ·): the free initial placement of prefill KV (tokens < P only).
  void begin(const Residency& initial);
  // Scores decode step n: reads[l] = S(n, l), after = R(n, ·).
  void score_step(std::uint32_t n, std::span<const core::TokenBitset> reads, const Residency& after);

  const ScheduleTotals& totals() const { return totals_; }
  // Keeps a StepRecord for every (n, l) from now on (memory O(D * L)).
  void record_steps(bool on) { record_ = on; }
  const std::vector<StepRecord>& records() const { return records_; }

 private:
  void check_layer_bounds(const core::TokenBitset& layer, std::uint32_t n, std::uint32_t l) const;
  void account(std::uint32_t n, std::uint32_t l, const StepCounts& c);
  // A batch or blocks (shape.batched() or k > 1): every segment's tokens, block rules and capacity in blocks.
  void score_step_general(std::uint32_t n, std::span<const core::TokenBitset> reads, const Residency& after);
  // Entries a layer holds in HBM as capacity counts them (k per resident block), after the block rule and
  // the existence of every held token were checked. n: the state after step n (none: the initial one).
  std::uint64_t held_entries(const core::TokenBitset& layer, std::uint32_t l, std::optional<std::uint32_t> n) const;
  // The same after a step, from the words that changed since prev_ (held_[l] updated).
  std::uint64_t held_after_step(const core::TokenBitset& layer, std::uint32_t l, std::uint32_t n);
  // One word of a layer, k <= 64: throws if it holds a token that does not exist or part of a block.
  void check_word(core::Word c, core::Word x, std::uint32_t l, std::size_t w, std::optional<std::uint32_t> n) const;
  // Entries the word's resident blocks count (k <= 64).
  std::uint64_t entries_in_word(core::Word c) const;
  [[noreturn]] void broken(const char* what, std::uint32_t l, std::size_t w, std::optional<std::uint32_t> n) const;
  static std::string state_name(std::optional<std::uint32_t> n);

  MemorySystem memory_;
  trace::TraceShape shape_;
  bool general_ = false;              // batched or blocks: score_step_general
  std::vector<std::size_t> next_;     // per sequence: the position its next token takes
  core::TokenBitset exists_;          // positions whose token exists (prompts, then one per step and sequence)
  std::vector<std::uint64_t> held_;   // per layer: entries held in prev_ (k per resident block)
  core::Word block_starts_;           // k <= 64: the start bits of a word's blocks
  bool enforce_capacity_;
  Residency prev_;
  ScheduleTotals totals_;
  bool record_ = false;
  std::vector<StepRecord> records_;
};

// What a user reads about one policy on one point.
struct PolicyMetrics {
  double total_time_s = 0;
  double throughput_tok_s = 0;
  double speedup_vs_static = 0;  // filled when `static` ran on the same point, else NaN
  double hbm_hit_rate = 0;       // bytes HBM served (weights + KV hits it served) / all bytes read
  double kv_hit_rate = 0;        // hits / reads
  double migrated_bytes = 0;     // e * (a1 + a2)
  double link_bytes = 0;         // link-read + link-write bytes
  double link_read_bytes = 0;
  double hbm_bytes = 0;
  double dram_bytes = 0;
  std::uint64_t reads = 0;
  std::uint64_t hits = 0;
  double hbm_hits = 0;           // hits HBM served (balanced reads send the rest to DRAM's copy)
  std::uint64_t promotions = 0;  // a1 + a2
  std::uint64_t prefetches = 0;  // a2
  std::uint64_t peak_resident_entries = 0;
  double hbm_bound_share = 0;    // share of total time where HBM was the bottleneck
  double link_bound_share = 0;
  double dram_bound_share = 0;
};

PolicyMetrics summarise(const ScheduleTotals& t, const MemorySystem& m, std::uint32_t decode_tokens);

}  // namespace kvsweep::cost
