#pragma once
// Model shapes. Only what the cost model needs: layers, KV bytes per (token, layer) entry, weight
// bytes read per layer per decode step, and the weight bytes that occupy HBM.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvsweep::config {

enum class KvAccounting { kTrue, kMha };  // kMha: 2 * hidden * KV dtype bytes, as the paper's code

// Number formats of weights and KV. Presets are served in bf16 unless a point asks otherwise
// (weight_dtype, kv_dtype); int4 is for weights only.
enum class Dtype { kFp32, kFp16, kBf16, kFp8, kInt4 };
double dtype_bytes(Dtype d);
std::string_view to_string(Dtype d);
std::optional<Dtype> parse_dtype(std::string_view text);
// The YAML spellings allowed for weight_dtype and for kv_dtype.
const std::vector<std::string>& weight_dtype_names();
const std::vector<std::string>& kv_dtype_names();

struct ModelPreset {
  std::string name;
  std::uint32_t layers;
  std::uint32_t hidden;
  std::uint32_t kv_heads;
  std::uint32_t head_dim;
  std::uint32_t mla_latent_dim;  // 0 unless MLA (DeepSeek): KV entry = latent (+ rope) dims
  double params_billion;         // total parameters, for weight bytes
  Dtype dtype;                   // as served by default, weights and KV
  // Parameters read per decoded token. Differs from params_billion only for mixture-of-experts models,
  // whose unrouted experts sit in HBM but are not read; 0 means "same as params_billion".
  double active_params_billion = 0;
  // Byte counts given outright instead of derived from the parameter count (0: derive): for a preset
  // that reproduces another tool's accounting exactly (llama-3.1-8b-paper). Such a preset keeps its
  // byte counts: it refuses other dtypes.
  double weight_bytes_per_layer = 0;
  double resident_weight_bytes = 0;
  // The accounting it reproduces reads part of the weights from a copy in DRAM when that is faster
  // (the paper's simulator: its alpha cap takes weight bytes over the link too): the default of
  // `weights_in_dram` for points of this model is then `mirror`.
  bool mirrors_weights = false;

  bool fixed_bytes() const { return weight_bytes_per_layer > 0 || resident_weight_bytes > 0; }
};

// A resolved model, ready for the cost model.
struct ModelSpec {
  std::string name;
  std::uint32_t layers = 0;
  double kv_bytes_per_token_layer = 0;  // e
  double weight_bytes_per_layer = 0;    // W: bytes read per layer per decode step (active params)
  double resident_weight_bytes = 0;     // all weights held in HBM (total params), bytes
  // The formats behind those bytes; empty for an inline model, which gives bytes outright.
  std::string weight_dtype;
  std::string kv_dtype;
};

const std::vector<ModelPreset>& model_presets();
const ModelPreset* find_model_preset(const std::string& name);
std::vector<std::string> model_preset_names();
// e = 2 * kv_heads * head_dim * KV bytes (MLA: latent * KV bytes); kMha: 2 * hidden * KV bytes.
// W = active params * weight bytes / layers; resident_weight_bytes = total params * weight bytes. The
// dtypes default to the preset's; a preset's own weight_bytes_per_layer / resident_weight_bytes replace
// the derived ones (and its callers refuse other dtypes for it).
ModelSpec resolve_model(const ModelPreset& preset, KvAccounting accounting, std::optional<Dtype> weight_dtype = {},
                        std::optional<Dtype> kv_dtype = {});
// Bytes of weights that stay in HBM: total params * weight bytes (every expert of an MoE model).
double resident_weight_bytes(const ModelPreset& preset, std::optional<Dtype> weight_dtype = {});

// "true" / "mha", the YAML spelling of each accounting; parse_kv_accounting is its inverse.
std::string_view to_string(KvAccounting accounting);
std::optional<KvAccounting> parse_kv_accounting(std::string_view text);

}  // namespace kvsweep::config
