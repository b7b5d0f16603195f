#pragma once
// One design point: everything needed to produce a trace and score every policy on it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvsweep/config/hardware.hpp"
#include "kvsweep/config/model.hpp"
#include "kvsweep/config/synthetic.hpp"

namespace kvsweep::config {

// Exactly one of the three ways of giving the HBM capacity available to KV.
struct CapacitySpec {
  enum class Kind { kRatio, kGigabytes, kEntries };
  Kind kind = Kind::kRatio;
  double value = 0;  // ratio of the final KV footprint, total HBM in GB, or entries
};
// The YAML key of each kind: hbm_capacity_ratio, hbm_capacity_gb, hbm_kv_capacity_entries.
std::string_view capacity_key(CapacitySpec::Kind kind);

// Where a resident entry's read is served from (YAML key `hbm_reads`). DRAM keeps a copy of every
// entry (inclusive hierarchy), so a resident entry can be read from either tier:
//   kBalanced  HBM serves the share of the hits that minimises the step time, the rest go over the link
//              (the authors' simulator: HBM never takes more than the bandwidth-optimal share);
//   kResident  every resident read comes from HBM.
enum class HbmReads { kBalanced, kResident };
// "balanced" / "resident"; parse_hbm_reads is its inverse.
std::string_view to_string(HbmReads mode);
std::optional<HbmReads> parse_hbm_reads(std::string_view text);

// Whether the weights also have a copy in DRAM (YAML key `weights_in_dram`):
//   kNone    the weights are read from HBM only (the default);
//   kMirror  a copy of the weights sits in DRAM too, so with balanced reads a step may read part of its
//            weight bytes over the link when HBM is its bottleneck (raising the aggregate bandwidth at small
//            batch, when the weights dominate a step's bytes; the paper's accounting does this). No effect
//            with hbm_reads: resident, where every resident read comes from HBM.
enum class WeightsInDram { kNone, kMirror };
// "none" / "mirror"; parse_weights_in_dram is its inverse.
std::string_view to_string(WeightsInDram mode);
std::optional<WeightsInDram> parse_weights_in_dram(std::string_view text);

struct TraceSpec {
  std::string file;                // empty: synthetic (or `files`)
  std::vector<std::string> files;  // a batch's recorded traces, one per sequence (`trace: {files: [...]}`)
  SyntheticParams synthetic;       // used when neither is given
};

// What a selected token costs to read (YAML key `read_unit`): token-sparse attention over paged KV reads
// the selected tokens (kToken); page-sparse attention (Quest) reads every existing token of a block that
// holds a selected one (kBlock).
enum class ReadUnit { kToken, kBlock };
std::string_view to_string(ReadUnit unit);  // "token" / "block"
std::optional<ReadUnit> parse_read_unit(std::string_view text);

// Policy-specific knobs with defaults; YAML key `policy_params`.
struct PolicyParams {
  std::uint32_t page_tokens = 16;          // page: Quest page size
  std::uint32_t streaming_sinks = 4;       // streaming: sink tokens kept
  double h2o_recent_share = 0.5;           // h2o: share of the per-layer budget for recent tokens
  std::uint32_t belady_lookahead = 32;     // belady: decode steps of look-ahead
  std::uint32_t sa_window = 8;             // sa_guided: look-ahead window W, decode steps
  double sa_fraction = 0.5;                // sa_guided: fraction R of candidates migrated
  std::uint32_t fm_lookahead = 64;         // fm_tracking: decode steps of look-ahead
  double ema_decay = 0.8;                  // ema: score decay per decode step
  double ema_admit = 1.0;                  // ema: score a read block needs to be promoted (<= 1: every one)
  double ema_prefetch = 2.0;               // ema: score an evicted block needs to be prefetched (0: never)
};

// Budgets of the annealers (YAML key `oracle`): the token-level oracle and the tuning of sa_guided's
// (W, R). Used when `oracle` is among the point's policies.
struct OracleSettings {
  std::uint32_t replicas = 8;            // parallel-tempering replicas of the token-level oracle
  double moves = 2e7;                    // proposals over all replicas
  std::uint32_t moves_per_round = 20000; // per replica between swap rounds
  std::uint32_t patience_rounds = 50;    // stop after this many rounds without a better schedule
  double max_wall_s = 0;                 // 0: none (a wall limit makes results timing-dependent)
  double max_memory_gb = 4;              // larger points report the seed schedule, not annealed
  std::uint32_t sa_replicas = 2;         // replicas of the (W, R) tuning of sa_guided (one per core here)
  std::uint32_t sa_rounds = 8;           // its round budget (the paper point: ~2 min on 2 cores)
  std::uint32_t sa_w_max = 64;           // largest W it tries
  // The exact MILP (policy `exact`): refused above this many binary variables; its node budget.
  std::uint32_t exact_max_binaries = 20000;
  std::uint32_t exact_max_nodes = 20000;
  // The Lagrangian bound (bound/lagrangian.hpp): computed after the baselines (before the oracle) where
  // the certified gap is still above lagrangian_gap, until it is not (the best baseline within
  // lagrangian_gap of the bound) or within its passes (and seconds, 0: none; a limit makes results
  // timing-dependent); fm_dual runs on its paths then. Independent of `oracle`. 300 passes: Fig. 4's
  // random_swap point at high variation needs ~200 to certify within 1 % (docs/paper.md).
  double lagrangian_gap = 0.005;
  std::uint32_t lagrangian_passes = 300;
  double lagrangian_wall_s = 0;
};

struct PointSpec {
  std::string source;        // where it was defined, "file.yaml" or "file.yaml#3"
  std::string name;          // optional free-text label (YAML `name`), "" when not given
  ModelSpec model;
  std::string model_name;    // preset name or inline name
  KvAccounting kv_accounting = KvAccounting::kTrue;
  HardwareSpec hardware;
  CapacitySpec capacity;
  HbmReads hbm_reads = HbmReads::kBalanced;
  WeightsInDram weights_in_dram = WeightsInDram::kNone;  // resolved: the key, else the model's default
  std::uint32_t prompt_tokens = 0;  // P; 0 when a trace file is given (its header decides)
  std::uint32_t decode_tokens = 0;  // D; 0 when a trace file is given (its header decides)
  // A batch (docs/cost-model.md "Batches and blocks"): B sequences decode in lockstep, sharing HBM and
  // the link. Their prompts: batch_prompt_tokens one by one, else prompt_tokens spread uniformly over
  // [P (1 - s), P (1 + s)] by the point's seed (batch_prompts()), else all prompt_tokens.
  std::uint32_t batch_size = 1;                    // B
  std::vector<std::uint32_t> batch_prompt_tokens;  // P_b, b < B; empty: from prompt_tokens
  double prompt_tokens_spread = 0;                 // s in [0, 1)
  std::uint32_t kv_block_tokens = 1;               // k: placement unit, tokens (a power of two)
  ReadUnit read_unit = ReadUnit::kToken;
  TraceSpec trace;
  std::vector<std::string> policies;  // in evaluation order
  PolicyParams policy_params;
  OracleSettings oracle;
  std::uint64_t seed = 1;
};

// A stable identifier of the point's parameters: 16 hex digits. It covers everything that changes the
// numbers (model, hardware, capacity, P, D, trace, policy knobs, seed) but not the label, the policy
// list or the annealers' budgets, and it does not depend on how the YAML was written.
std::string point_id(const PointSpec& point);

// P_b of every sequence of a synthetic point (size batch_size): batch_prompt_tokens if given, else
// prompt_tokens spread by prompt_tokens_spread (b = 0 included; s = 0: all equal), from the point's seed.
std::vector<std::uint32_t> batch_prompts(const PointSpec& point);

// The capacity in KV entries, C, for a point whose sequences hold footprint_tokens = sum_b (P_b + D)
// tokens per layer over L layers (from the trace):
//   kRatio     floor(ratio * sum_b (P_b + D) * L)
//   kGigabytes floor((value * 1e9 - p.model.resident_weight_bytes) / p.model.kv_bytes_per_token_layer)
//   kEntries   value
// Not clamped to the footprint (P + D) * L. Throws std::invalid_argument when the capacity cannot be
// resolved (weights fill the given HBM, e <= 0, a negative or non-finite value) or the point does not
// fit its hardware (infeasibility()).
std::uint64_t capacity_entries(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers);

// Why a point cannot exist, or "" when it can: when its hardware has an HBM size, the resident weights
// plus the KV capacity the point asks for must fit in it; when it has a DRAM size, the whole KV must fit
// in DRAM (which keeps a copy of every entry, docs/cost-model.md). The one-line reason names the model and its
// dtypes, the hardware, both sizes and the ways out (a smaller dtype that fits, a hardware preset with
// more HBM, an inline hardware without a size).
std::string infeasibility(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers);

// Why capacity_entries() would refuse the point for this sequence shape (infeasibility() included), or
// "" when it would not: for validate to report before anything is evaluated.
std::string capacity_problem(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers);

// Sum over a synthetic point's sequences of (P_b + D) (batch_prompts()): its final KV footprint per layer.
std::uint64_t footprint_tokens(const PointSpec& p);

// The settings besides its parameters (which point_id covers) that change a point's results, as YAML
// keys: "policies" (the list, in order), then the `oracle.<knob>` budgets that apply to its policies
// (the Lagrangian's and max_memory_gb always; the annealers' with `oracle`; the MILP's with `exact`).
// Resuming a results file compares these between a point's stored row and the sweep (driver/plan).
std::vector<std::string> result_settings(const PointSpec& point);

// Names of every policy kvsweep knows, in a stable order: the baselines (policy::make_policy), then
// `oracle` (the annealed schedule; with it, sa_guided's (W, R) are tuned first).
const std::vector<std::string>& known_policy_names();
// The policies of a point that does not list its own: all known ones but `exact`.
const std::vector<std::string>& default_policy_names();
// The policies the simulator runs step by step (policy::make_policy): known_policy_names() without
// `oracle` and `exact`. Every policy places batches and blocks (docs/policies-and-oracle.md "In a batch").
const std::vector<std::string>& simulated_policy_names();

}  // namespace kvsweep::config
