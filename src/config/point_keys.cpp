// The top-level keys of a design point and how each is parsed.
#include "point_keys.hpp"

#include <algorithm>
#include <filesystem>

#include "kvsweep/config/limits.hpp"
#include "named.hpp"

namespace kvsweep::config::detail {

namespace {
const std::string kModelInline =
    "an inline mapping {name, layers, kv_bytes_per_token_layer, weight_bytes_per_layer}";
const std::string kHardwareInline =
    "an inline mapping {name, hbm_bw_gbps, link_read_gbps, link_write_gbps, dram_bw_gbps, hbm_capacity_gb, "
    "dram_capacity_gb, link_transfer_overhead_bytes}";

// The ranges of config/limits.hpp, as the readers take them.
const Range kBandwidth = closed(kMinBandwidthGbps, kMaxBandwidthGbps);
const Range kHbmGb{0, kMaxHbmGb, true, false};
const Range kDramGb{0, kMaxDramGb, true, false};
const Range kOverhead = closed(0, kMaxTransferOverheadBytes);

// The fields of an inline mapping by key, with every missing required key reported at the mapping.
std::map<std::string, Field> read_inline(const Field& f, const std::vector<std::string>& required,
                                         const std::vector<std::string>& optional, YamlContext& ctx) {
  std::vector<std::string> allowed = required;
  allowed.insert(allowed.end(), optional.begin(), optional.end());
  std::map<std::string, Field> by_key;
  for (auto& field : read_fields(f.value, f.path, allowed, ctx)) by_key.emplace(field.key.Scalar(), field);
  for (const auto& r : required) {
    if (!by_key.count(r)) ctx.error(f.value.Mark(), f.path + ": missing required key '" + r + "'");
  }
  return by_key;
}

bool parse_model(const Field& f, YamlContext& ctx, Draft& d) {
  d.model_preset = nullptr;
  d.inline_model.reset();
  if (f.value.IsScalar()) {
    d.model_preset = find_model_preset(f.value.Scalar());
    if (d.model_preset == nullptr) {
      ctx.error(f.mark(),
                unknown_value("model", "preset", f.value.Scalar(), model_preset_names(), kModelInline));
    }
    return d.model_preset != nullptr;
  }
  if (!f.value.IsMap()) {
    ctx.error(f.mark(), "model: expected a preset name or " + kModelInline + ", got " + describe(f.value));
    return false;
  }
  const std::size_t before = ctx.error_count();
  auto fields =
      read_inline(f, {"name", "layers", "kv_bytes_per_token_layer", "weight_bytes_per_layer"}, {}, ctx);
  ModelSpec m;
  if (fields.count("name")) m.name = read_string(fields.at("name"), ctx).value_or("");
  if (fields.count("layers")) m.layers = read_u32(fields.at("layers"), 1, kMaxLayers, ctx).value_or(0);
  if (fields.count("kv_bytes_per_token_layer")) {
    m.kv_bytes_per_token_layer =
        read_number(fields.at("kv_bytes_per_token_layer"), closed(1, kMaxKvBytesPerTokenLayer), ctx).value_or(0);
  }
  if (fields.count("weight_bytes_per_layer")) {
    m.weight_bytes_per_layer =
        read_number(fields.at("weight_bytes_per_layer"), closed(0, kMaxWeightBytesPerLayer), ctx).value_or(0);
  }
  // An inline model gives no parameter count: all of its weights are read every step, so the resident
  // bytes are the per-layer bytes times the layers.
  m.resident_weight_bytes = m.weight_bytes_per_layer * m.layers;
  if (ctx.error_count() != before) return false;
  d.inline_model = m;
  return true;
}

bool parse_hardware(const Field& f, YamlContext& ctx, Draft& d) {
  d.hardware.reset();
  if (f.value.IsScalar()) {
    if (const auto* h = find_hardware_preset(f.value.Scalar())) d.hardware = *h;
    if (!d.hardware) {
      ctx.error(f.mark(), unknown_value("hardware", "preset", f.value.Scalar(), hardware_preset_names(),
                                        kHardwareInline));
    }
    return d.hardware.has_value();
  }
  if (!f.value.IsMap()) {
    ctx.error(f.mark(),
              "hardware: expected a preset name or " + kHardwareInline + ", got " + describe(f.value));
    return false;
  }
  const std::size_t before = ctx.error_count();
  auto fields = read_inline(f, {"name", "hbm_bw_gbps", "link_read_gbps", "link_write_gbps", "dram_bw_gbps"},
                            {"hbm_capacity_gb", "dram_capacity_gb", "link_transfer_overhead_bytes"}, ctx);
  HardwareSpec h;
  if (fields.count("name")) h.name = read_string(fields.at("name"), ctx).value_or("");
  const std::pair<const char*, double HardwareSpec::*> bandwidths[] = {
      {"hbm_bw_gbps", &HardwareSpec::hbm_bw_gbps},
      {"link_read_gbps", &HardwareSpec::link_read_gbps},
      {"link_write_gbps", &HardwareSpec::link_write_gbps},
      {"dram_bw_gbps", &HardwareSpec::dram_bw_gbps},
  };
  for (const auto& [key, member] : bandwidths) {
    if (fields.count(key)) h.*member = read_number(fields.at(key), kBandwidth, ctx).value_or(0);
  }
  if (fields.count("hbm_capacity_gb")) h.hbm_capacity_gb = read_number(fields.at("hbm_capacity_gb"), kHbmGb, ctx);
  if (fields.count("dram_capacity_gb")) h.dram_capacity_gb = read_number(fields.at("dram_capacity_gb"), kDramGb, ctx);
  if (fields.count("link_transfer_overhead_bytes")) {
    h.link_transfer_overhead_bytes = read_number(fields.at("link_transfer_overhead_bytes"), kOverhead, ctx).value_or(0);
  }
  if (ctx.error_count() != before) return false;
  d.hardware = h;
  return true;
}

bool parse_kv_accounting_key(const Field& f, YamlContext& ctx, Draft& d) {
  const auto text = read_string(f, ctx);
  if (!text) return false;
  const auto acc = parse_kv_accounting(*text);
  if (!acc && (*text == "gqa" || *text == "mla" || *text == "GQA" || *text == "MLA")) {
    // Edit distance would suggest 'mha' for 'gqa', the opposite of what the user meant.
    ctx.error(f.mark(), "kv_accounting: unknown value '" + *text +
                            "' (did you mean 'true'? it sizes KV by the model's real GQA or MLA heads); "
                            "allowed: true, mha");
  } else if (!acc) {
    ctx.error(f.mark(), unknown_value("kv_accounting", "value", *text, {"true", "mha"}));
  }
  d.kv_accounting = acc.value_or(KvAccounting::kTrue);
  return acc.has_value();
}

bool parse_hbm_reads_key(const Field& f, YamlContext& ctx, Draft& d) {
  const auto text = read_string(f, ctx);
  if (!text) return false;
  const auto mode = parse_hbm_reads(*text);
  if (!mode) ctx.error(f.mark(), unknown_value("hbm_reads", "value", *text, {"balanced", "resident"}));
  d.hbm_reads = mode.value_or(HbmReads::kBalanced);
  return mode.has_value();
}

bool parse_weights_in_dram_key(const Field& f, YamlContext& ctx, Draft& d) {
  const auto text = read_string(f, ctx);
  if (!text) return false;
  const auto mode = parse_weights_in_dram(*text);
  if (!mode) ctx.error(f.mark(), unknown_value("weights_in_dram", "value", *text, {"none", "mirror"}));
  d.weights_in_dram = mode;
  return mode.has_value();
}

ParseFn dtype_key(const char* key, std::optional<Dtype> Draft::*member, const std::vector<std::string>& allowed) {
  return [key, member, &allowed](const Field& f, YamlContext& ctx, Draft& d) {
    d.*member = std::nullopt;
    const auto text = read_string(f, ctx);
    if (!text) return false;
    const auto dtype = parse_dtype(*text);
    if (!dtype || std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
      ctx.error(f.mark(), unknown_value(key, "value", *text, allowed));
      return false;
    }
    d.*member = dtype;
    return true;
  };
}

ParseFn link_override(std::optional<double> Draft::*member) {
  return [member](const Field& f, YamlContext& ctx, Draft& d) {
    d.*member = read_number(f, kBandwidth, ctx);
    return (d.*member).has_value();
  };
}

ParseFn capacity(CapacitySpec::Kind kind) {
  return [kind](const Field& f, YamlContext& ctx, Draft& d) {
    std::optional<double> value;
    if (kind == CapacitySpec::Kind::kRatio) value = read_number(f, {0, 1, true, false}, ctx);
    if (kind == CapacitySpec::Kind::kGigabytes) value = read_number(f, kHbmGb, ctx);
    if (kind == CapacitySpec::Kind::kEntries) {
      if (const auto n = read_integer(f, 0, kMaxCapacityEntries, ctx)) value = static_cast<double>(*n);
    }
    d.capacity.reset();
    if (value) d.capacity = CapacitySpec{kind, *value};
    d.capacity_mark = f.key.Mark();
    return value.has_value();
  };
}

ParseFn token_count(std::optional<std::uint32_t> Draft::*member, std::uint32_t max) {
  return [member, max](const Field& f, YamlContext& ctx, Draft& d) {
    d.*member = read_u32(f, 1, max, ctx);
    return (d.*member).has_value();
  };
}

bool parse_variation(const Field& f, YamlContext& ctx, Draft& d) {
  const std::vector<std::string> names = names_of(variation_presets());
  const std::string numeric = "a target Jaccard overlap in (0, 1)";
  if (!f.value.IsScalar()) {
    ctx.error(f.mark(), "variation: expected one of " + core::join(names) + " or " + numeric + ", got " +
                            describe(f.value));
    return false;
  }
  const std::string text = f.value.Scalar();
  if (const auto* p = find_variation_preset(text)) {
    d.synthetic.variation = p->name;
    d.synthetic.target_jaccard = p->target_jaccard;
    return true;
  }
  if (!is_number_text(text)) {
    ctx.error(f.mark(), unknown_value("variation", "value", text, names, numeric));
    return false;
  }
  const auto x = read_number(f, {0, 1, true, true}, ctx);
  if (!x) return false;
  d.synthetic.variation = text;
  d.synthetic.target_jaccard = *x;
  return true;
}

std::string misplaced_in_synthetic(const std::string& key) {
  if (key == "sparsity" || key == "variation") {
    return " ('" + key + "' is a point key: give it beside 'synthetic:', not under it)";
  }
  if (key == "target_jaccard") return " (give it as the point key 'variation', a number in (0, 1))";
  return "";
}

ParseFn knob_group(const std::vector<KeyDecl>& (*decls)(), std::string (*misplaced)(const std::string&)) {
  return [decls, misplaced](const Field& f, YamlContext& ctx, Draft& d) {
    if (!f.value.IsMap()) {
      ctx.error(f.mark(), f.path + ": expected a mapping of " + core::join(key_names(decls())) + ", got " +
                              describe(f.value));
      return false;
    }
    apply_fields(read_fields(f.value, f.path, key_names(decls()), ctx, misplaced), decls(), ctx, d);
    return true;  // each knob records its own failure under its own path
  };
}

// A trace file named by the YAML, resolved beside it (so that a point file and its traces move together).
std::optional<std::string> trace_path(const Field& file, YamlContext& ctx) {
  const auto text = read_string(file, ctx);
  if (!text) return std::nullopt;
  namespace fs = std::filesystem;
  fs::path path(*text);
  if (path.is_relative()) path = ctx.base_dir() / path;
  path = path.lexically_normal();
  std::error_code ec;
  if (text->empty() || !fs::is_regular_file(path, ec)) {
    const bool exists = !text->empty() && fs::exists(path, ec);
    ctx.error(file.mark(), file.path + ": '" + *text + "' " + (exists ? "is not a regular file" : "does not exist") +
                               (path.string() != *text ? " (looked for '" + path.string() + "')" : ""));
    return std::nullopt;
  }
  return path.string();
}

bool parse_trace(const Field& f, YamlContext& ctx, Draft& d) {
  d.trace_file.clear();
  d.trace_files.clear();
  const std::string allowed = "allowed: synthetic, or a mapping {file: path}, or {files: [path, ...]} (a batch)";
  if (f.value.IsScalar() && f.value.Scalar() == "synthetic") return true;
  if (!f.value.IsMap()) {
    const std::string got =
        f.value.IsScalar() ? "unknown value " + describe(f.value) : "got " + describe(f.value);
    ctx.error(f.mark(), "trace: " + got + "; " + allowed);
    return false;
  }
  auto fields = read_inline(f, {}, {"file", "files"}, ctx);
  if (fields.count("file") == fields.count("files")) {
    if (fields.empty()) ctx.error(f.mark(), "trace: give file or files; " + allowed);
    else ctx.error(fields.at("files").key.Mark(), "trace: give file or files, not both");
    return false;
  }
  if (fields.count("file")) {
    const auto path = trace_path(fields.at("file"), ctx);
    if (!path) return false;
    d.trace_file = *path;
    d.given["trace.file"] = fields.at("file").key.Mark();
    return true;
  }
  const Field& files = fields.at("files");
  if (!files.value.IsSequence() || files.value.size() == 0) {
    ctx.error(files.mark(), "trace.files: expected a non-empty list of trace files, one per sequence, got " +
                                (files.value.IsSequence() ? std::string("an empty list") : describe(files.value)));
    return false;
  }
  const std::size_t before = ctx.error_count();
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < files.value.size(); ++i) {
    const Field item{"trace.files[" + std::to_string(i) + "]", files.key, files.value[i]};
    if (const auto path = trace_path(item, ctx)) paths.push_back(*path);
  }
  if (ctx.error_count() != before) return false;
  d.trace_files = std::move(paths);
  d.given["trace.file"] = files.key.Mark();
  return true;
}

bool parse_policies(const Field& f, YamlContext& ctx, Draft& d) {
  d.policies.reset();
  const auto& known = known_policy_names();
  if (!f.value.IsSequence() || f.value.size() == 0) {
    ctx.error(f.mark(), "policies: expected a non-empty list of policy names, got " +
                            (f.value.IsSequence() ? std::string("an empty list") : describe(f.value)) +
                            "; allowed: " + core::join(known));
    return false;
  }
  const std::size_t before = ctx.error_count();
  std::vector<std::string> names;
  std::map<std::string, YAML::Mark> first;
  for (const auto& item : f.value) {
    const YAML::Mark mark = item.IsNull() || item.Mark().is_null() ? f.mark() : item.Mark();
    if (!item.IsScalar()) {
      ctx.error(mark, "policies: expected a policy name, got " + describe(item));
      continue;
    }
    const std::string name = item.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      ctx.error(mark, unknown_value("policies", "policy", name, known));
    } else if (const auto [it, fresh] = first.emplace(name, mark); !fresh) {
      ctx.error(mark,
                "policies: duplicate policy '" + name + "' (first listed at " + line_col(it->second) + ")");
    } else {
      names.push_back(name);
    }
  }
  if (ctx.error_count() != before) return false;
  d.policies = std::move(names);
  return true;
}

bool parse_batch_prompt_tokens(const Field& f, YamlContext& ctx, Draft& d) {
  d.batch_prompt_tokens.clear();
  if (!f.value.IsSequence() || f.value.size() == 0) {
    ctx.error(f.mark(), "batch_prompt_tokens: expected a non-empty list of prompt lengths, one per sequence "
                        "(integers in " + integer_bounds(1, kMaxPromptTokens) + "), got " +
                            (f.value.IsSequence() ? std::string("an empty list") : describe(f.value)));
    return false;
  }
  const std::size_t before = ctx.error_count();
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < f.value.size(); ++i) {
    const Field item{f.path + "[" + std::to_string(i) + "]", f.key, f.value[i]};
    if (const auto v = read_u32(item, 1, kMaxPromptTokens, ctx)) out.push_back(*v);
  }
  if (ctx.error_count() != before) return false;
  d.batch_prompt_tokens = std::move(out);
  return true;
}

bool parse_kv_block_tokens(const Field& f, YamlContext& ctx, Draft& d) {
  const auto k = read_u32(f, 1, kMaxBlockTokens, ctx);
  if (!k) return false;
  if ((*k & (*k - 1)) != 0) {
    ctx.error(f.mark(), "kv_block_tokens: " + std::to_string(*k) +
                            " is not a power of two; allowed: 1, 2, 4, ..., 4096 (vLLM's 16, SGLang's 64 and 256)");
    return false;
  }
  d.kv_block_tokens = *k;
  return true;
}

bool parse_read_unit_key(const Field& f, YamlContext& ctx, Draft& d) {
  const auto text = read_string(f, ctx);
  if (!text) return false;
  const auto unit = parse_read_unit(*text);
  if (!unit) ctx.error(f.mark(), unknown_value("read_unit", "value", *text, {"token", "block"}));
  d.read_unit = unit.value_or(ReadUnit::kToken);
  return unit.has_value();
}

std::vector<KeyDecl> make_point_decls() {
  using K = CapacitySpec::Kind;
  const std::string policies = core::join(known_policy_names());
  return {
      {"name", "string", "none", "any text", "a label for the point, copied to its results",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         d.name = read_string(f, ctx).value_or("");
         return f.value.IsScalar();
       }},
      {"model", "preset or mapping", "required", core::join(model_preset_names()) + ", or " + kModelInline,
       "the model whose KV cache and weights are placed; inline: layers in [1, 1024] (the largest models have "
       "126), kv_bytes_per_token_layer in [1, 16777216] B, weight_bytes_per_layer in [0, 1e12] B",
       parse_model},
      {"kv_accounting", "string", "true", "true, mha",
       "true: real GQA/MLA KV sizes; mha: 2 * hidden * dtype bytes, as the paper's code (preset models only)",
       parse_kv_accounting_key},
      {"weight_dtype", "string", "the preset's (bf16)", core::join(weight_dtype_names()),
       "number format of the weights: scales W and the resident weights (preset models but "
       "llama-3.1-8b-paper, which keeps the paper's bytes)",
       dtype_key("weight_dtype", &Draft::weight_dtype, weight_dtype_names())},
      {"kv_dtype", "string", "the preset's (bf16)", core::join(kv_dtype_names()),
       "number format of the KV cache: scales e (preset models but llama-3.1-8b-paper)",
       dtype_key("kv_dtype", &Draft::kv_dtype, kv_dtype_names())},
      {"hardware", "preset or mapping", "required",
       core::join(hardware_preset_names()) + ", or " + kHardwareInline,
       "HBM, off-package link and DRAM bandwidths (GB/s) and HBM size (GB); inline: bandwidths in [0.1, 1e6] "
       "GB/s (as link_read_gbps), hbm_capacity_gb in (0, 1e6] (as the point key)",
       parse_hardware},
      {"link_read_gbps", "number", "the hardware's", kBandwidth.bounds(),
       "overrides the link's DRAM -> GPU bandwidth, GB/s; 0.1 GB/s is below any link KV sits behind (PCIe 1.0 "
       "x1: 0.25), 1e6 over 100 times the fastest HBM, and the bounds are exact to 1e-9 within these",
       link_override(&Draft::link_read_gbps)},
      {"link_write_gbps", "number", "the hardware's", kBandwidth.bounds(),
       "overrides the link's GPU -> DRAM bandwidth, GB/s (range as link_read_gbps)",
       link_override(&Draft::link_write_gbps)},
      {"hbm_capacity_ratio", "number", "none", "(0, 1]",
       "HBM for KV as a share of the final KV footprint (P + D) * L; at most one capacity key",
       capacity(K::kRatio)},
      {"hbm_capacity_gb", "number", "the hardware's hbm_capacity_gb", kHbmGb.bounds(),
       "total HBM, GB; KV gets what the resident weights leave; at most one capacity key (1e6 GB: thousands "
       "of times any GPU's HBM)",
       capacity(K::kGigabytes)},
      {"hbm_kv_capacity_entries", "integer", "none", integer_bounds(0, kMaxCapacityEntries),
       "HBM for KV in (token, layer) entries; at most one capacity key (1e12: over 50 times the largest "
       "footprint P and L allow)",
       capacity(K::kEntries)},
      {"hbm_reads", "string", "balanced", "balanced, resident",
       "balanced: HBM serves the time-minimising share of a step's resident reads, DRAM's copy the rest; "
       "resident: every resident read comes from HBM",
       parse_hbm_reads_key},
      {"weights_in_dram", "string", "none (mirror for llama-3.1-8b-paper)", "none, mirror",
       "mirror: the weights also have a copy in DRAM, so balanced reads may read part of a step's weight bytes "
       "over the link when HBM is its bottleneck (the paper's accounting); none: weights come from HBM only",
       parse_weights_in_dram_key},
      {"prompt_tokens", "integer", "required unless trace.file", integer_bounds(1, kMaxPromptTokens),
       "prompt length P, tokens (2^24: longer than any model's context)",
       token_count(&Draft::prompt_tokens, kMaxPromptTokens)},
      {"decode_tokens", "integer", "required unless trace.file", integer_bounds(1, kMaxDecodeTokens),
       "decoded tokens D (2^20: longer than any generation)", token_count(&Draft::decode_tokens, kMaxDecodeTokens)},
      {"batch_size", "integer", "1", integer_bounds(1, kMaxBatchSize),
       "sequences B decoding in lockstep, sharing HBM and the link (a trace: {files} list gives one per file)",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         const auto x = read_u32(f, 1, kMaxBatchSize, ctx);
         d.batch_size = x.value_or(1);
         return x.has_value();
       }},
      {"batch_prompt_tokens", "list", "none", "B integers in " + integer_bounds(1, kMaxPromptTokens),
       "prompt length of each sequence of the batch, instead of prompt_tokens (in a sweep, a list of such "
       "lists is an axis)",
       parse_batch_prompt_tokens},
      {"prompt_tokens_spread", "number", "0", "[0, 1)",
       "sequence b's prompt is uniform over [P (1 - s), P (1 + s)], drawn from the point's seed",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         const auto x = read_number(f, {0, 1, false, true}, ctx);
         d.prompt_tokens_spread = x.value_or(0);
         return x.has_value();
       }},
      {"kv_block_tokens", "integer", "1", "a power of two in " + integer_bounds(1, kMaxBlockTokens),
       "placement unit k: a block of k tokens of one sequence and layer moves and occupies HBM as a whole",
       parse_kv_block_tokens},
      {"read_unit", "string", "token", "token, block",
       "token: a step reads the selected tokens; block: it reads every existing token of a block holding one "
       "(page-sparse attention, as Quest)",
       parse_read_unit_key},
      {"link_transfer_overhead_bytes", "number", "the hardware's", kOverhead.bounds(),
       "overrides the hardware's per-transfer cost O: link bytes each block crossing towards the GPU, and each "
       "new entry written through, costs beside its payload",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         d.link_transfer_overhead_bytes = read_number(f, kOverhead, ctx);
         return d.link_transfer_overhead_bytes.has_value();
       }},
      number_knob(&Draft::synthetic, "sparsity", &SyntheticParams::sparsity, {0, 1, false, true},
                  "share of the past tokens NOT read at each (step, layer)"),
      {"variation", "string or number", "actual", "low, actual, high, or a Jaccard target in (0, 1)",
       "how much the set of read tokens changes from step to step", parse_variation},
      {"synthetic", "mapping", "{}", core::join(key_names(synthetic_key_decls())),
       "knobs of the synthetic trace generator", knob_group(&synthetic_key_decls, &misplaced_in_synthetic)},
      {"trace", "synthetic or mapping", "synthetic", "synthetic, {file: path}, or {files: [path, ...]}",
       "where the token reads come from: synthetic, a recorded file, or one recorded file per sequence of a "
       "batch (CSV or HDF5 each); a relative file is found beside the YAML file",
       parse_trace},
      {"policies", "list", "all but exact", policies, "policies evaluated, in this order", parse_policies},
      {"policy_params", "mapping", "{}", core::join(key_names(policy_param_key_decls())), "policy knobs",
       knob_group(&policy_param_key_decls, nullptr)},
      {"oracle", "mapping", "{}", core::join(key_names(oracle_key_decls())),
       "budgets of the annealers (token-level oracle, sa_guided tuning)", knob_group(&oracle_key_decls, nullptr)},
      {"seed", "integer", "1", "[0, 2^64)", "seed of the point's random streams (any 64-bit value)",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         const auto x = read_integer(f, 0, std::numeric_limits<std::uint64_t>::max(), ctx);
         d.seed = x.value_or(1);
         return x.has_value();
       }},
  };
}
}  // namespace

std::string unknown_value(const std::string& path, const std::string& what, const std::string& value,
                          const std::vector<std::string>& allowed, const std::string& alternative) {
  const std::string guess = core::did_you_mean(value, allowed);
  return path + ": unknown " + what + " '" + value + "'" +
         (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; allowed: " + core::join(allowed) +
         (alternative.empty() ? "" : ", or " + alternative);
}


const std::vector<KeyDecl>& point_key_decls() {
  static const std::vector<KeyDecl> kDecls = make_point_decls();
  return kDecls;
}

}  // namespace kvsweep::config::detail
