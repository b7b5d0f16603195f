#pragma once
// Model shapes. Only what the cost model needs: layers, KV bytes per (token, layer) entry, weight
// bytes read per layer per decode step.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvsweep::config {

enum class KvAccounting { kTrue, kMha };  // kMha: 2 * hidden * dtype_bytes, as the paper's code

struct ModelPreset {
  std::string name;
  std::uint32_t layers;
  std::uint32_t hidden;
  std::uint32_t kv_heads;
  std::uint32_t head_dim;
  std::uint32_t mla_latent_dim;  // 0 unless MLA (DeepSeek): KV entry = latent (+ rope) dims
  double params_billion;         // total parameters, for weight bytes
  std::uint32_t dtype_bytes;
};

// A resolved model, ready for the cost model.
struct ModelSpec {
  std::string name;
  std::uint32_t layers = 0;
  double kv_bytes_per_token_layer = 0;  // e
  double weight_bytes_per_layer = 0;    // W
};

const std::vector<ModelPreset>& model_presets();
const ModelPreset* find_model_preset(const std::string& name);
std::vector<std::string> model_preset_names();
// e = 2 * kv_heads * head_dim * dtype_bytes (MLA: latent * dtype_bytes); kMha: 2 * hidden * dtype_bytes.
// W = params * dtype_bytes / layers.
ModelSpec resolve_model(const ModelPreset& preset, KvAccounting accounting);

}  // namespace kvsweep::config
