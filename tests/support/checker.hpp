#pragma once
// Test utilities that share no code with the engine's hot paths: an independent schedule checker that
// replays explicit residency sets through the cost formulas token by token, an exhaustive search for
// the optimal schedule of tiny instances, and random tiny instances.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/oracle/schedule_oracle.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::testing {

// schedule[0] = R(P-1, ·); schedule[n - P + 1] = R(n, ·); each entry is one set per layer.
using Schedule = std::vector<std::vector<std::set<std::uint32_t>>>;

struct CheckResult {
  bool ok = true;
  std::string problem;  // why not ok
  double total_time_s = 0;
  std::uint64_t hits = 0, reads = 0, piggyback = 0, prefetch = 0, kept_new = 0;
};

// Replays the schedule on the trace with docs/cost-model.md's formulas, one token at a time.
CheckResult check_schedule(const trace::ExplicitTrace& trace, const cost::MemorySystem& m,
                           const Schedule& schedule, bool enforce_capacity);

// Runs one policy through the engine and records its schedule as sets.
struct RecordedRun {
  Schedule schedule;
  double judged_time_s = 0;  // what the engine's Judge said
  std::uint64_t judged_hits = 0;
  bool respects_capacity = true;
};
// fm_dual follows `plan` when given, else the Lagrangian bound's paths (a batch or blocks: a plan that
// holds in each state what the next step reads, until the bound has batch paths).
RecordedRun run_and_record(const std::string& policy, const trace::ExplicitTrace& trace,
                           const cost::MemorySystem& m, const config::PolicyParams& params = {},
                           const policy::ResidencyPlan* plan = nullptr);

// The states of an oracle schedule as sets, for check_schedule.
Schedule schedule_of(const oracle::ScheduleState& s, const oracle::OracleInstance& inst);

// For the tests' references written from a policy's batch rule: the sequence whose segment holds position
// p, and the first position of p's block (TraceShape's layout).
inline std::uint32_t sequence_at(const trace::TraceShape& sh, std::uint32_t p) {
  std::uint32_t b = sh.batch_size() - 1;
  while (sh.base(b) > p) --b;
  return b;
}
inline std::uint32_t block_start(const trace::TraceShape& sh, std::uint32_t p) {
  const auto base = static_cast<std::uint32_t>(sh.base(sequence_at(sh, p)));
  return base + (p - base) / sh.block_tokens * sh.block_tokens;
}

// The optimal total time over every schedule (capacity-respecting), by dynamic programming over
// residency sets. Tiny instances only: L <= 2 and P + D <= 8 (L = 2) or <= 12 (L = 1).
double exhaustive_optimum(const trace::ExplicitTrace& trace, const cost::MemorySystem& m);

// The same for a tiny batch or blocks (check_schedule's rules): every state any schedule can reach, by
// dynamic programming over sets of existing (sequence, token, layer) entries. At most 12 entries in all.
double exhaustive_batch_optimum(const trace::ExplicitTrace& trace, const cost::MemorySystem& m);

// Where a test's resident reads come from: the read mode, and whether the weights are mirrored in DRAM
// (weights_in_dram), so that a test parametrised by it covers every variant of the cost model.
struct ReadMode {
  config::HbmReads reads = config::HbmReads::kBalanced;
  config::WeightsInDram weights = config::WeightsInDram::kNone;
  constexpr ReadMode(config::HbmReads r, config::WeightsInDram w = config::WeightsInDram::kNone)  // NOLINT: implicit
      : reads(r), weights(w) {}
  void apply(cost::MemorySystem& m) const {
    m.hbm_reads = reads;
    m.weights_in_dram = weights;
  }
};
// "balanced", "resident", "balanced_mirror" (test names allow no '+').
std::string mode_name(const ReadMode& mode);

// Every read mode, for tests that must hold in each.
inline constexpr ReadMode kReadModes[] = {config::HbmReads::kBalanced, config::HbmReads::kResident,
                                          {config::HbmReads::kBalanced, config::WeightsInDram::kMirror}};

// A random tiny instance: shape, reads, bandwidths and capacity drawn from `seed`; the read mode given.
struct Instance {
  trace::ExplicitTrace trace;
  cost::MemorySystem memory;
};
Instance random_instance(std::uint64_t seed, std::uint32_t max_layers, std::uint32_t max_tokens,
                         ReadMode mode = config::HbmReads::kBalanced);

// A random tiny batch (issue 25): B sequences with prompts of 1..max_prompt tokens, D decode steps, L
// layers, blocks of k tokens and a per-transfer cost of O bytes; each step reads each existing token of
// each sequence with one density; capacity a random number of entries up to the final footprint.
// Positions follow the engine's layout (TraceShape::base), which check_schedule decodes on its own.
Instance random_batch_instance(std::uint64_t seed, std::uint32_t batch, std::uint32_t max_prompt, std::uint32_t decode,
                               std::uint32_t layers, std::uint32_t block_tokens, double overhead_bytes,
                               ReadMode mode = config::HbmReads::kBalanced);

// A small instance with persistent reads: each layer reads a set of about `read_share` of the past
// tokens that changes by `churn` of its members per step (the leavers replaced by random other past
// tokens, the newest token joining often), over `decode` steps after `prompt` tokens; capacity a
// random share of what the reads need, bandwidths as in random_instance.
Instance persistent_instance(std::uint64_t seed, std::uint32_t layers, std::uint32_t prompt, std::uint32_t decode,
                             ReadMode mode = config::HbmReads::kBalanced);

}  // namespace kvsweep::testing
