// Model, hardware and variation presets, and the capacity arithmetic the cost model relies on.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>

#include "kvsweep/config/hardware.hpp"
#include "kvsweep/config/model.hpp"
#include "kvsweep/config/point.hpp"
#include "kvsweep/config/synthetic.hpp"

namespace kvsweep::config {
namespace {

ModelSpec resolve(const std::string& name, KvAccounting acc) {
  const ModelPreset* p = find_model_preset(name);
  EXPECT_NE(p, nullptr) << name;
  return resolve_model(*p, acc);
}

TEST(ModelPresets, Llama31_8bTrueAndMhaKvSizes) {
  const ModelSpec t = resolve("llama-3.1-8b", KvAccounting::kTrue);
  EXPECT_EQ(t.layers, 32u);
  EXPECT_DOUBLE_EQ(t.kv_bytes_per_token_layer, 4096);  // 2 * 8 heads * 128 * 2 bytes
  EXPECT_DOUBLE_EQ(t.weight_bytes_per_layer, 8.03e9 * 2 / 32);
  EXPECT_DOUBLE_EQ(t.resident_weight_bytes, 8.03e9 * 2);
  const ModelSpec m = resolve("llama-3.1-8b", KvAccounting::kMha);
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token_layer, 16384);  // 2 * 4096 hidden * 2 bytes, the paper's code
  EXPECT_DOUBLE_EQ(m.weight_bytes_per_layer, t.weight_bytes_per_layer);
}

// The authors' ModelConfig, number for number, and their 23 GiB of HBM: 530,765 KV entries.
TEST(ModelPresets, PaperAccountingPreset) {
  for (const KvAccounting acc : {KvAccounting::kTrue, KvAccounting::kMha}) {
    const ModelSpec m = resolve("llama-3.1-8b-paper", acc);
    EXPECT_EQ(m.layers, 32u);
    EXPECT_DOUBLE_EQ(m.kv_bytes_per_token_layer, 16384);
    const double d = 4096, d_ff = 14000;
    EXPECT_DOUBLE_EQ(m.weight_bytes_per_layer, 4 * d * d * 2 + 2 * d * d_ff * 2 / 8);
    EXPECT_DOUBLE_EQ(m.weight_bytes_per_layer, 162889728);
    EXPECT_DOUBLE_EQ(m.resident_weight_bytes, 16e9);
  }
  PointSpec p;
  p.model = resolve("llama-3.1-8b-paper", KvAccounting::kTrue);
  p.capacity = {CapacitySpec::Kind::kGigabytes, 24.696061952};  // 23 * 2^30 bytes
  EXPECT_EQ(capacity_entries(p, std::uint64_t{31299} + 10239, 32), 530765u);      // floor(8,696,061,952 / 16,384)
}

TEST(ModelPresets, Llama2IsFullMultiHead) {
  EXPECT_DOUBLE_EQ(resolve("llama-2-7b", KvAccounting::kTrue).kv_bytes_per_token_layer, 16384);
  EXPECT_DOUBLE_EQ(resolve("llama-2-7b", KvAccounting::kMha).kv_bytes_per_token_layer, 16384);
}

TEST(ModelPresets, Qwen7bHasFourKvHeads) {
  const ModelSpec q = resolve("qwen2.5-7b", KvAccounting::kTrue);
  EXPECT_EQ(q.layers, 28u);
  EXPECT_DOUBLE_EQ(q.kv_bytes_per_token_layer, 2.0 * 4 * 128 * 2);
  EXPECT_DOUBLE_EQ(resolve("qwen2.5-7b", KvAccounting::kMha).kv_bytes_per_token_layer, 2.0 * 3584 * 2);
}

TEST(ModelPresets, MixtralReadsActiveButHoldsAllWeights) {
  const ModelSpec m = resolve("mixtral-8x7b", KvAccounting::kTrue);
  EXPECT_DOUBLE_EQ(m.weight_bytes_per_layer, 12.9e9 * 2 / 32);
  EXPECT_DOUBLE_EQ(m.resident_weight_bytes, 46.7e9 * 2);
  EXPECT_DOUBLE_EQ(resident_weight_bytes(*find_model_preset("mixtral-8x7b")), 46.7e9 * 2);
}

TEST(ModelPresets, DeepSeekV3StoresOneMlaLatent) {
  const ModelSpec d = resolve("deepseek-v3", KvAccounting::kTrue);
  EXPECT_EQ(d.layers, 61u);
  EXPECT_DOUBLE_EQ(d.kv_bytes_per_token_layer, 576.0 * 2);  // (512 + 64) dims, no K/V factor 2
  EXPECT_DOUBLE_EQ(d.weight_bytes_per_layer, 37e9 * 2 / 61);
  EXPECT_DOUBLE_EQ(d.resident_weight_bytes, 671e9 * 2);
  EXPECT_DOUBLE_EQ(resolve("deepseek-v3", KvAccounting::kMha).kv_bytes_per_token_layer, 2.0 * 7168 * 2);
}

TEST(ModelPresets, AllPresetsAreSaneAndUnique) {
  std::set<std::string> names;
  for (const auto& p : model_presets()) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_EQ(dtype_bytes(p.dtype), 2.0) << p.name;
    EXPECT_GT(p.layers, 0u) << p.name;
    EXPECT_LE(p.active_params_billion, p.params_billion) << p.name;
    const ModelSpec s = resolve_model(p, KvAccounting::kTrue);
    EXPECT_GT(s.kv_bytes_per_token_layer, 0) << p.name;
    EXPECT_LE(s.kv_bytes_per_token_layer, resolve_model(p, KvAccounting::kMha).kv_bytes_per_token_layer)
        << p.name;
  }
  EXPECT_EQ(model_preset_names().size(), 10u);
  EXPECT_EQ(find_model_preset("gpt-5"), nullptr);
}

TEST(ModelPresets, KvAccountingSpelling) {
  EXPECT_EQ(to_string(KvAccounting::kTrue), "true");
  EXPECT_EQ(to_string(KvAccounting::kMha), "mha");
  EXPECT_EQ(parse_kv_accounting("mha"), KvAccounting::kMha);
  EXPECT_EQ(parse_kv_accounting("true"), KvAccounting::kTrue);
  EXPECT_FALSE(parse_kv_accounting("gqa").has_value());
}

TEST(HardwarePresets, ExactValues) {
  struct Want {
    const char* name;
    double hbm, cap, rd, wr, dram;
  };
  const Want want[] = {{"paper-table1", 4900, 24, 450, 450, 500},
                       {"gh200-spec", 4000, 96, 450, 450, 546},
                       {"gh200-measured", 3400, 96, 375, 297, 486},
                       {"h100-pcie5", 3350, 80, 64, 64, 300},
                       {"gb200", 8000, 192, 450, 450, 512}};
  ASSERT_EQ(hardware_presets().size(), std::size(want));
  for (const auto& w : want) {
    const HardwareSpec* h = find_hardware_preset(w.name);
    ASSERT_NE(h, nullptr) << w.name;
    EXPECT_EQ(h->hbm_bw_gbps, w.hbm) << w.name;
    EXPECT_EQ(h->hbm_capacity_gb, w.cap) << w.name;
    EXPECT_EQ(h->link_read_gbps, w.rd) << w.name;
    EXPECT_EQ(h->link_write_gbps, w.wr) << w.name;
    EXPECT_EQ(h->dram_bw_gbps, w.dram) << w.name;
  }
  EXPECT_EQ(hardware_preset_names().front(), "paper-table1");
  EXPECT_EQ(find_hardware_preset("gh300"), nullptr);
}

TEST(VariationPresets, Targets) {
  ASSERT_EQ(variation_presets().size(), 3u);
  EXPECT_DOUBLE_EQ(find_variation_preset("low")->target_jaccard, 0.95);
  EXPECT_DOUBLE_EQ(find_variation_preset("actual")->target_jaccard, 0.8);
  EXPECT_DOUBLE_EQ(find_variation_preset("high")->target_jaccard, 0.6);
  EXPECT_EQ(find_variation_preset("medium"), nullptr);
  // The defaults of SyntheticParams are the `actual` preset.
  EXPECT_EQ(SyntheticParams{}.variation, "actual");
  EXPECT_DOUBLE_EQ(SyntheticParams{}.target_jaccard, 0.8);
}

TEST(Policies, KnownNamesInStableOrder) {
  std::vector<std::string> want = {"unlimited_hbm", "static",  "reactive_lru", "page",    "streaming",   "h2o",
                                   "lru_hot",       "ema",     "arc",          "history", "bandit",      "belady",
                                   "sa_guided",     "fm_tracking", "fm_dual",  "oracle",  "exact"};
  EXPECT_EQ(known_policy_names(), want);
  // A point without `policies` runs every one but the exact MILP, which only small points can afford.
  want.pop_back();
  EXPECT_EQ(default_policy_names(), want);
}

PointSpec point_with(CapacitySpec::Kind kind, double value, KvAccounting acc = KvAccounting::kTrue) {
  PointSpec p;
  p.model = resolve_model(*find_model_preset("llama-3.1-8b"), acc);
  p.capacity = {kind, value};
  return p;
}

TEST(CapacityEntries, Ratio) {
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kRatio, 0.5), std::uint64_t{1000} + 100, 32), 17600u);
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kRatio, 1.0), std::uint64_t{31299} + 10239, 32), 41538u * 32);
  // 0.29 * 100 is 28.999999999999996 in binary; the user asked for 29.
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kRatio, 0.29), std::uint64_t{60} + 40, 1), 29u);
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kRatio, 0.333), std::uint64_t{3} + 0, 1), 0u);
}

TEST(CapacityEntries, GigabytesLeaveRoomForWeights) {
  // Paper Table I: 24 GB HBM, 16.06 GB of Llama-3.1-8B weights -> 7.94 GB for KV.
  const double free_bytes = 24e9 - 8.03e9 * 2;
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kGigabytes, 24), std::uint64_t{1} + 1, 32),
            static_cast<std::uint64_t>(std::floor(free_bytes / 4096)));
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kGigabytes, 24, KvAccounting::kMha), std::uint64_t{1} + 1, 32),
            static_cast<std::uint64_t>(std::floor(free_bytes / 16384)));
  EXPECT_THROW(capacity_entries(point_with(CapacitySpec::Kind::kGigabytes, 16), std::uint64_t{1} + 1, 32),
               std::invalid_argument);
  EXPECT_THROW(capacity_entries(point_with(CapacitySpec::Kind::kGigabytes, 16.06), std::uint64_t{1} + 1, 32),
               std::invalid_argument);
}

TEST(CapacityEntries, EntriesAreTakenAsGiven) {
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kEntries, 12345), std::uint64_t{10} + 10, 2), 12345u);
  EXPECT_EQ(capacity_entries(point_with(CapacitySpec::Kind::kEntries, 0), std::uint64_t{10} + 10, 2), 0u);
  EXPECT_THROW(capacity_entries(point_with(CapacitySpec::Kind::kEntries, -1), std::uint64_t{10} + 10, 2),
               std::invalid_argument);
}

TEST(CapacityEntries, KeyNames) {
  EXPECT_EQ(capacity_key(CapacitySpec::Kind::kRatio), "hbm_capacity_ratio");
  EXPECT_EQ(capacity_key(CapacitySpec::Kind::kGigabytes), "hbm_capacity_gb");
  EXPECT_EQ(capacity_key(CapacitySpec::Kind::kEntries), "hbm_kv_capacity_entries");
}

// weight_dtype scales W and the resident weights, kv_dtype scales e (both accountings); the paper
// preset's explicit byte counts are not derived from a dtype.
TEST(ModelPresets, DtypesScaleWeightsAndKvBytes) {
  const ModelPreset& p = *find_model_preset("llama-3.1-70b");
  const ModelSpec bf16 = resolve_model(p, KvAccounting::kTrue);
  EXPECT_EQ(bf16.weight_dtype, "bf16");
  EXPECT_EQ(bf16.kv_dtype, "bf16");
  const ModelSpec fp8 = resolve_model(p, KvAccounting::kTrue, Dtype::kFp8, std::nullopt);
  EXPECT_DOUBLE_EQ(fp8.weight_bytes_per_layer, bf16.weight_bytes_per_layer / 2);
  EXPECT_DOUBLE_EQ(fp8.resident_weight_bytes, 70.6e9);
  EXPECT_DOUBLE_EQ(fp8.kv_bytes_per_token_layer, bf16.kv_bytes_per_token_layer);
  EXPECT_EQ(fp8.weight_dtype, "fp8");
  const ModelSpec int4 = resolve_model(p, KvAccounting::kTrue, Dtype::kInt4, Dtype::kFp8);
  EXPECT_DOUBLE_EQ(int4.resident_weight_bytes, 70.6e9 / 2);
  EXPECT_DOUBLE_EQ(int4.kv_bytes_per_token_layer, 2.0 * 8 * 128 * 1);
  EXPECT_DOUBLE_EQ(resolve_model(p, KvAccounting::kMha, std::nullopt, Dtype::kFp32).kv_bytes_per_token_layer,
                   2.0 * 8192 * 4);
  const ModelPreset& paper = *find_model_preset("llama-3.1-8b-paper");
  EXPECT_TRUE(paper.fixed_bytes());
  EXPECT_FALSE(p.fixed_bytes());
  EXPECT_EQ(parse_dtype("fp8"), Dtype::kFp8);
  EXPECT_FALSE(parse_dtype("fp4").has_value());
  for (const auto& name : weight_dtype_names()) EXPECT_EQ(to_string(*parse_dtype(name)), name);
}

}  // namespace
}  // namespace kvsweep::config
