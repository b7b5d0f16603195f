#include "kvsweep/config/model.hpp"

#include <stdexcept>

#include "kvsweep/core/units.hpp"
#include "named.hpp"

namespace kvsweep::config {

// Shapes from the published Hugging Face config.json of each model; parameter counts from the model
// cards. All are served in bf16 unless a point says otherwise.
// (A function-local table: lookups made while other files initialise still see it built.)
const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> kPresets = {
      // name, layers, hidden, kv_heads, head_dim, mla_latent_dim, params_billion, dtype, active
      {"llama-3.1-8b", 32, 4096, 8, 128, 0, 8.03, Dtype::kBf16, 8.03},
      {"llama-3.1-70b", 80, 8192, 8, 128, 0, 70.6, Dtype::kBf16, 70.6},
      {"llama-3.1-405b", 126, 16384, 8, 128, 0, 405.9, Dtype::kBf16, 405.9},
      // Llama 2 7B has no GQA: every one of its 32 heads keeps its own KV, so true == mha here.
      {"llama-2-7b", 32, 4096, 32, 128, 0, 6.74, Dtype::kBf16, 6.74},
      {"mistral-7b", 32, 4096, 8, 128, 0, 7.24, Dtype::kBf16, 7.24},
      // Mixtral routes each token to 2 of its 8 experts: all 46.7B parameters are resident in HBM, but
      // only the ~12.9B active ones are read per token, and W is the bytes read per layer per step.
      {"mixtral-8x7b", 32, 4096, 8, 128, 0, 46.7, Dtype::kBf16, 12.9},
      {"qwen2.5-7b", 28, 3584, 4, 128, 0, 7.62, Dtype::kBf16, 7.62},
      {"qwen2.5-72b", 80, 8192, 8, 128, 0, 72.7, Dtype::kBf16, 72.7},
      // DeepSeek-V3 caches one MLA latent per token and layer: kv_lora_rank 512 + qk_rope_head_dim 64.
      // kv_heads/head_dim (128 heads of 128 value dims) are unused for e because the latent is what is
      // stored. MoE: 671B parameters resident, 37B active per token.
      {"deepseek-v3", 61, 7168, 128, 128, 576, 671.0, Dtype::kBf16, 37.0},
      // The seed paper's own accounting (the authors' simulator's ModelConfig, "llama 3.1 8B setting";
      // shared/notes/PAPER.md): KV sized as if all 32 heads kept their own K and V (e = 2 * 4096 * 2 =
      // 16,384 B whichever kv_accounting), W = 4 d^2 * 2 + (2 d d_ff * 2) / 8 with d = 4096,
      // d_ff = 14,000 (their MLP term is divided by 8) = 162,889,728 B, and 16e9 B of resident weights.
      // Their step splits all bytes read, weights included, by alpha <= B_hbm / (B_hbm + B_link): the
      // weights are mirrored in DRAM (weights_in_dram: mirror by default).
      {"llama-3.1-8b-paper", 32, 4096, 32, 128, 0, 8.0, Dtype::kFp16, 8.0, 162889728.0, 16e9, true},
  };
  return kPresets;
}

const ModelPreset* find_model_preset(const std::string& name) {
  return detail::find_by_name(model_presets(), name);
}

std::vector<std::string> model_preset_names() { return detail::names_of(model_presets()); }

double dtype_bytes(Dtype d) {
  switch (d) {
    case Dtype::kFp32:
      return 4;
    case Dtype::kFp16:
    case Dtype::kBf16:
      return 2;
    case Dtype::kFp8:
      return 1;
    case Dtype::kInt4:
      return 0.5;
  }
  return 0;
}

std::string_view to_string(Dtype d) {
  switch (d) {
    case Dtype::kFp32:
      return "fp32";
    case Dtype::kFp16:
      return "fp16";
    case Dtype::kBf16:
      return "bf16";
    case Dtype::kFp8:
      return "fp8";
    case Dtype::kInt4:
      return "int4";
  }
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view text) {
  for (const Dtype d : {Dtype::kFp32, Dtype::kFp16, Dtype::kBf16, Dtype::kFp8, Dtype::kInt4}) {
    if (text == to_string(d)) return d;
  }
  return std::nullopt;
}

const std::vector<std::string>& weight_dtype_names() {
  static const std::vector<std::string> kNames = {"fp32", "fp16", "bf16", "fp8", "int4"};
  return kNames;
}

const std::vector<std::string>& kv_dtype_names() {
  static const std::vector<std::string> kNames = {"fp32", "fp16", "bf16", "fp8"};
  return kNames;
}

double resident_weight_bytes(const ModelPreset& preset, std::optional<Dtype> weight_dtype) {
  if (preset.resident_weight_bytes > 0) return preset.resident_weight_bytes;
  return core::kGB * preset.params_billion * dtype_bytes(weight_dtype.value_or(preset.dtype));
}

ModelSpec resolve_model(const ModelPreset& preset, KvAccounting accounting, std::optional<Dtype> weight_dtype,
                        std::optional<Dtype> kv_dtype) {
  if (preset.layers == 0) throw std::invalid_argument("model preset '" + preset.name + "' has 0 layers");
  const Dtype weights = weight_dtype.value_or(preset.dtype);
  const Dtype kv = kv_dtype.value_or(preset.dtype);
  const double dtype = dtype_bytes(kv);
  ModelSpec m;
  m.name = preset.name;
  m.layers = preset.layers;
  m.weight_dtype = to_string(weights);
  m.kv_dtype = to_string(kv);
  if (accounting == KvAccounting::kMha) {
    // The paper's code sizes KV as if every query head had its own K and V of the hidden width.
    m.kv_bytes_per_token_layer = 2.0 * preset.hidden * dtype;
  } else if (preset.mla_latent_dim > 0) {
    // MLA stores one joint latent per token; K and V are both reconstructed from it, hence no 2x.
    m.kv_bytes_per_token_layer = preset.mla_latent_dim * dtype;
  } else {
    m.kv_bytes_per_token_layer = 2.0 * preset.kv_heads * preset.head_dim * dtype;
  }
  const double active =
      preset.active_params_billion > 0 ? preset.active_params_billion : preset.params_billion;
  m.weight_bytes_per_layer = preset.weight_bytes_per_layer > 0
                                 ? preset.weight_bytes_per_layer
                                 : core::kGB * active * dtype_bytes(weights) / preset.layers;
  m.resident_weight_bytes = resident_weight_bytes(preset, weights);
  return m;
}

std::string_view to_string(KvAccounting accounting) {
  return accounting == KvAccounting::kMha ? "mha" : "true";
}

std::optional<KvAccounting> parse_kv_accounting(std::string_view text) {
  if (text == "true") return KvAccounting::kTrue;
  if (text == "mha") return KvAccounting::kMha;
  return std::nullopt;
}

}  // namespace kvsweep::config
