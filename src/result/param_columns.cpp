// The identity columns and one column per point parameter. A parameter's column is its YAML key with
// '.' -> '_' (docs/yaml-reference.md), so a sweep axis over any key is a column of the same name.
#include <string>

#include "columns.hpp"
#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::result::detail {

namespace {

using Kind = config::CapacitySpec::Kind;

const config::SyntheticParams* synthetic(const RowContext& c) {
  return c.point.trace.file.empty() && c.point.trace.files.empty() ? &c.point.trace.synthetic : nullptr;
}

std::string joined(const std::vector<std::uint32_t>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(v[i]);
  }
  return out;
}

// A synthetic-trace knob: NaN for a point that reads a trace file (the knob does not apply).
template <class F>
ColumnDef synth(std::string name, std::string unit, std::string description, F f) {
  return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
    const auto* s = synthetic(c);
    return s != nullptr ? static_cast<double>(f(*s)) : kNaN;
  });
}

// hbm_capacity_ratio / _gb / hbm_kv_capacity_entries: the value when the point gave its capacity this
// way, else NaN.
ColumnDef capacity_as(Kind kind, std::string unit, std::string description) {
  return f64(
      std::string(config::capacity_key(kind)), std::move(unit), std::move(description),
      [kind](const RowContext& c) { return c.point.capacity.kind == kind ? c.point.capacity.value : kNaN; });
}

double footprint(const RowContext& c) {
  const double entries = static_cast<double>(c.footprint_tokens) * c.layers;
  return entries > 0 && c.decode_tokens > 0 ? entries : kNaN;
}

double capacity(const RowContext& c) {
  return c.capacity_entries ? static_cast<double>(*c.capacity_entries) : kNaN;
}

std::vector<ColumnDef> model_and_hardware() {
  return {
      str("model", 64, "model preset or inline name", [](const RowContext& c) { return c.point.model_name; }),
      str("kv_accounting", 8, "true (GQA/MLA sizes) or mha (the paper's 2 * hidden)",
          [](const RowContext& c) { return config::to_string(c.point.kv_accounting); }),
      str("weight_dtype", 8, "the weights' number format (preset models; empty for an inline model)",
          [](const RowContext& c) { return c.point.model.weight_dtype; }),
      str("kv_dtype", 8, "the KV cache's number format (preset models; empty for an inline model)",
          [](const RowContext& c) { return c.point.model.kv_dtype; }),
      str("hbm_reads", 8, "balanced (HBM serves the time-minimising share of resident reads) or resident",
          [](const RowContext& c) { return config::to_string(c.point.hbm_reads); }),
      str("weights_in_dram", 8, "mirror (a copy of the weights in DRAM: balanced reads may read weight bytes over the link) or none",
          [](const RowContext& c) { return config::to_string(c.point.weights_in_dram); }),
      i64("layers", "", "L, the model's layers", [](const RowContext& c) { return c.point.model.layers; }),
      f64("kv_bytes_per_token_layer", "B", "e, one (token, layer) KV entry",
          [](const RowContext& c) { return c.point.model.kv_bytes_per_token_layer; }),
      f64("weight_bytes_per_layer", "B", "W, weights read per layer per decode step",
          [](const RowContext& c) { return c.point.model.weight_bytes_per_layer; }),
      f64("resident_weight_bytes", "B", "weights held in HBM (all experts)",
          [](const RowContext& c) { return c.point.model.resident_weight_bytes; }),
      str("hardware", 64, "memory-system preset or inline name",
          [](const RowContext& c) { return c.point.hardware.name; }),
      f64("hbm_bw_gbps", "GB/s", "HBM bandwidth",
          [](const RowContext& c) { return c.point.hardware.hbm_bw_gbps; }),
      f64("link_read_gbps", "GB/s", "link DRAM -> GPU, overrides applied",
          [](const RowContext& c) { return c.point.hardware.link_read_gbps; }),
      f64("link_write_gbps", "GB/s", "link GPU -> DRAM, overrides applied",
          [](const RowContext& c) { return c.point.hardware.link_write_gbps; }),
      f64("dram_bw_gbps", "GB/s", "DRAM bandwidth",
          [](const RowContext& c) { return c.point.hardware.dram_bw_gbps; }),
      f64("hardware_hbm_capacity_gb", "GB", "the hardware's HBM size; NaN when it has none",
          [](const RowContext& c) { return c.point.hardware.hbm_capacity_gb.value_or(kNaN); }),
      f64("hardware_dram_capacity_gb", "GB", "the hardware's DRAM size; NaN when it has none",
          [](const RowContext& c) { return c.point.hardware.dram_capacity_gb.value_or(kNaN); }),
      f64("link_transfer_overhead_bytes", "B", "O, link bytes a transfer costs beside its payload, overrides applied",
          [](const RowContext& c) { return c.point.hardware.link_transfer_overhead_bytes; }),
  };
}

std::vector<ColumnDef> capacity_and_sequence() {
  return {
      str("capacity_kind", 24,
          "how the capacity was given: hbm_capacity_ratio, hbm_capacity_gb or hbm_kv_capacity_entries",
          [](const RowContext& c) { return config::capacity_key(c.point.capacity.kind); }),
      f64("capacity_value", "", "the value of that key",
          [](const RowContext& c) { return c.point.capacity.value; }),
      capacity_as(Kind::kRatio, "", "share of the final KV footprint; NaN unless capacity_kind is this key"),
      capacity_as(Kind::kGigabytes, "GB", "total HBM; NaN unless capacity_kind is this key"),
      capacity_as(Kind::kEntries, "entries", "C given directly; NaN unless capacity_kind is this key"),
      i64("prompt_tokens", "tokens", "P (from the trace file when one is read; 0 if it could not be)",
          [](const RowContext& c) { return c.prompt_tokens; }),
      i64("decode_tokens", "tokens", "D (as prompt_tokens)",
          [](const RowContext& c) { return c.decode_tokens; }),
      str("trace", 256, "synthetic, or the trace file's path (a batch's files joined by ';')",
          [](const RowContext& c) {
            if (!c.point.trace.file.empty()) return c.point.trace.file;
            std::string files;
            for (const auto& f : c.point.trace.files) {
              if (!files.empty()) files += ';';
              files += f;
            }
            return files.empty() ? std::string("synthetic") : files;
          }),
      i64("batch_size", "sequences", "B, sequences decoding in lockstep",
          [](const RowContext& c) { return c.point.batch_size; }),
      str("batch_prompt_tokens", 256, "P_b of every sequence, comma-separated (from the trace files when read)",
          [](const RowContext& c) { return joined(c.prompts); }),
      f64("prompt_tokens_spread", "", "s: P_b uniform over [P (1 - s), P (1 + s)]",
          [](const RowContext& c) { return c.point.prompt_tokens_spread; }),
      i64("kv_block_tokens", "tokens", "k, the placement unit",
          [](const RowContext& c) { return c.point.kv_block_tokens; }),
      str("read_unit", 8, "token or block (a selected block is read whole)",
          [](const RowContext& c) { return config::to_string(c.point.read_unit); }),
  };
}

// synthetic_<knob>: the YAML key synthetic.<knob>.
template <class F>
ColumnDef synth_knob(const std::string& knob, std::string unit, F f) {
  return synth("synthetic_" + knob, std::move(unit), "`synthetic." + knob + "`; NaN for a trace file", f);
}

std::vector<ColumnDef> synthetic_knobs() {
  using S = config::SyntheticParams;
  return {
      synth("sparsity", "", "share of past tokens not read; NaN for a trace file",
            [](const S& s) { return s.sparsity; }),
      str("variation", 24, "as given: low, actual, high or a number; \"\" for a trace file",
          [](const RowContext& c) {
            return synthetic(c) != nullptr ? synthetic(c)->variation : std::string();
          }),
      synth("target_jaccard", "", "the Jaccard target that variation stands for; NaN for a trace file",
            [](const S& s) { return s.target_jaccard; }),
      str("synthetic_model", 16, "`synthetic.model`: spans or random_swap; \"\" for a trace file",
          [](const RowContext& c) {
            return synthetic(c) != nullptr ? std::string(config::to_string(synthetic(c)->model)) : std::string();
          }),
      synth_knob("sink_tokens", "tokens", [](const S& s) { return s.sink_tokens; }),
      synth_knob("recent_share", "", [](const S& s) { return s.recent_share; }),
      synth_knob("heavy_share", "", [](const S& s) { return s.heavy_share; }),
      synth_knob("heavy_lifetime_steps", "steps", [](const S& s) { return s.heavy_lifetime_steps; }),
      synth_knob("span_tokens", "tokens", [](const S& s) { return s.span_tokens; }),
      synth_knob("recall_prob", "", [](const S& s) { return s.recall_prob; }),
      synth_knob("layer_spread", "", [](const S& s) { return s.layer_spread; }),
      synth_knob("cross_layer_share", "", [](const S& s) { return s.cross_layer_share; }),
      synth_knob("dense_layers", "layers", [](const S& s) { return s.dense_layers; }),
      synth_knob("recency_slope", "", [](const S& s) { return s.recency_slope; }),
      synth_knob("uniform_share", "", [](const S& s) { return s.uniform_share; }),
      synth("synthetic_swap_share", "",
            "`synthetic.swap_share` as applied (derived from variation when not given); NaN unless random_swap",
            [](const S& s) { return s.model == config::SyntheticModel::kRandomSwap ? config::random_swap_share(s) : kNaN; }),
      synth("synthetic_window_share", "", "`synthetic.window_share`; NaN unless random_swap",
            [](const S& s) { return s.model == config::SyntheticModel::kRandomSwap ? s.window_share : kNaN; }),
  };
}

// policy_params_<knob> / oracle_<knob>: the YAML keys policy_params.<knob> / oracle.<knob>.
template <class F>
ColumnDef policy_knob(const std::string& knob, bool integer, std::string unit, F f) {
  auto get = [f](const RowContext& c) { return f(c.point.policy_params); };
  const std::string doc = "`policy_params." + knob + "` as given";
  return integer ? i64("policy_params_" + knob, std::move(unit), doc, get)
                 : f64("policy_params_" + knob, std::move(unit), doc, get);
}
template <class F>
ColumnDef oracle_knob(const std::string& knob, bool integer, std::string unit, F f) {
  auto get = [f](const RowContext& c) { return f(c.oracle_settings); };
  const std::string doc = "`oracle." + knob + "` as used (command-line overrides applied)";
  return integer ? i64("oracle_" + knob, std::move(unit), doc, get)
                 : f64("oracle_" + knob, std::move(unit), doc, get);
}

std::vector<ColumnDef> policy_and_oracle_settings() {
  using P = config::PolicyParams;
  using O = config::OracleSettings;
  return {
      policy_knob("page_tokens", true, "tokens", [](const P& p) { return p.page_tokens; }),
      policy_knob("streaming_sinks", true, "tokens", [](const P& p) { return p.streaming_sinks; }),
      policy_knob("h2o_recent_share", false, "", [](const P& p) { return p.h2o_recent_share; }),
      policy_knob("belady_lookahead", true, "steps", [](const P& p) { return p.belady_lookahead; }),
      policy_knob("sa_window", true, "steps", [](const P& p) { return p.sa_window; }),
      policy_knob("sa_fraction", false, "", [](const P& p) { return p.sa_fraction; }),
      policy_knob("fm_lookahead", true, "steps", [](const P& p) { return p.fm_lookahead; }),
      policy_knob("ema_decay", false, "", [](const P& p) { return p.ema_decay; }),
      policy_knob("ema_admit", false, "", [](const P& p) { return p.ema_admit; }),
      policy_knob("ema_prefetch", false, "", [](const P& p) { return p.ema_prefetch; }),
      oracle_knob("replicas", true, "", [](const O& o) { return o.replicas; }),
      oracle_knob("moves", false, "proposals", [](const O& o) { return o.moves; }),
      oracle_knob("moves_per_round", true, "proposals", [](const O& o) { return o.moves_per_round; }),
      oracle_knob("patience_rounds", true, "rounds", [](const O& o) { return o.patience_rounds; }),
      oracle_knob("max_wall_s", false, "s", [](const O& o) { return o.max_wall_s; }),
      oracle_knob("max_memory_gb", false, "GB", [](const O& o) { return o.max_memory_gb; }),
      oracle_knob("sa_replicas", true, "", [](const O& o) { return o.sa_replicas; }),
      oracle_knob("sa_rounds", true, "rounds", [](const O& o) { return o.sa_rounds; }),
      oracle_knob("sa_w_max", true, "steps", [](const O& o) { return o.sa_w_max; }),
      oracle_knob("exact_max_binaries", true, "", [](const O& o) { return o.exact_max_binaries; }),
      oracle_knob("exact_max_nodes", true, "nodes", [](const O& o) { return o.exact_max_nodes; }),
      oracle_knob("lagrangian_gap", false, "", [](const O& o) { return o.lagrangian_gap; }),
      oracle_knob("lagrangian_passes", true, "passes", [](const O& o) { return o.lagrangian_passes; }),
      oracle_knob("lagrangian_wall_s", false, "s", [](const O& o) { return o.lagrangian_wall_s; }),
      // Seeds are YAML integers >= 0; one above 2^63 - 1 would read back negative (two's complement).
      i64("seed", "", "the point's seed",
          [](const RowContext& c) { return static_cast<std::int64_t>(c.point.seed); }),
  };
}

std::vector<ColumnDef> derived_sizes() {
  return {
      f64("footprint_entries", "entries", "sum over the batch of (P_b + D), times L; NaN when P, D are unknown", footprint),
      f64("capacity_entries", "entries", "C; NaN when it cannot be resolved", capacity),
      f64("capacity_gb", "GB", "C * e, the HBM given to KV",
          [](const RowContext& c) { return capacity(c) * c.point.model.kv_bytes_per_token_layer / 1e9; }),
      f64("capacity_share", "", "C / footprint (not clamped to 1)",
          [](const RowContext& c) { return capacity(c) / footprint(c); }),
  };
}

void append(std::vector<ColumnDef>& to, std::vector<ColumnDef> more) {
  for (auto& d : more) to.push_back(std::move(d));
}

}  // namespace

std::vector<ColumnDef> identity_columns() {
  return {
      str("point_id", 16, "16 hex digits, stable over runs: the point's parameters (not its policy list)",
          [](const RowContext& c) { return c.in.point_id; }),
      str("status", 8, "ok, or failed (then every result column is NaN)",
          [](const RowContext& c) { return c.result != nullptr ? "ok" : "failed"; }),
      str("error", Schema::kErrorBytes,
          "why the attempt failed, cut to 256 bytes ending in \"...\"; \"\" when ok",
          [](const RowContext& c) { return c.error; }),
      str("name", 64, "the point's `name`", [](const RowContext& c) { return c.point.name; }),
      str("source", 128, "where the point was defined", [](const RowContext& c) { return c.point.source; }),
      str("policies", 192, "the point's policies, in evaluation order, comma-separated",
          [](const RowContext& c) { return core::join(c.point.policies, ","); }),
      str("axis_values", 256, "the sweep's axis values for this point, name=value;... as written in the sweep",
          [](const RowContext& c) { return c.axes; }),
  };
}

std::vector<ColumnDef> parameter_columns() {
  std::vector<ColumnDef> out = model_and_hardware();
  append(out, capacity_and_sequence());
  append(out, synthetic_knobs());
  append(out, policy_and_oracle_settings());
  append(out, derived_sizes());
  return out;
}

std::vector<ColumnDef> all_columns(const std::vector<std::string>& policies) {
  std::vector<ColumnDef> out = identity_columns();
  append(out, parameter_columns());
  for (const auto& p : policies) append(out, policy_columns(p));
  append(out, outcome_columns());
  append(out, run_columns());
  return out;
}

}  // namespace kvsweep::result::detail
