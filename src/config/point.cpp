#include "kvsweep/config/point.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <limits>
#include <stdexcept>
#include <string>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/core/units.hpp"

namespace kvsweep::config {

namespace {
// floor() that forgives the last-ulp error of a product: 0.29 * 100 is 28.999999999999996 in binary
// floating point, and a user who asked for 29 entries must get 29, not 28.
std::uint64_t floor_entries(double x, const char* what) {
  if (!std::isfinite(x) || x < 0) {
    throw std::invalid_argument(std::string(what) + ": capacity " + std::to_string(x) +
                                " is not a finite non-negative number of entries");
  }
  const double f = std::floor(x * (1.0 + 1e-12));
  if (f >= 18446744073709551616.0) throw std::invalid_argument(std::string(what) + ": capacity overflows");
  return static_cast<std::uint64_t>(f);
}
}  // namespace

std::string_view capacity_key(CapacitySpec::Kind kind) {
  switch (kind) {
    case CapacitySpec::Kind::kRatio:
      return "hbm_capacity_ratio";
    case CapacitySpec::Kind::kGigabytes:
      return "hbm_capacity_gb";
    case CapacitySpec::Kind::kEntries:
      return "hbm_kv_capacity_entries";
  }
  return "?";
}

std::string_view to_string(HbmReads mode) { return mode == HbmReads::kResident ? "resident" : "balanced"; }

std::string_view to_string(WeightsInDram mode) { return mode == WeightsInDram::kMirror ? "mirror" : "none"; }

std::optional<WeightsInDram> parse_weights_in_dram(std::string_view text) {
  if (text == "none") return WeightsInDram::kNone;
  if (text == "mirror") return WeightsInDram::kMirror;
  return std::nullopt;
}

std::string_view to_string(ReadUnit unit) { return unit == ReadUnit::kBlock ? "block" : "token"; }

std::optional<ReadUnit> parse_read_unit(std::string_view text) {
  if (text == "token") return ReadUnit::kToken;
  if (text == "block") return ReadUnit::kBlock;
  return std::nullopt;
}

std::vector<std::uint32_t> batch_prompts(const PointSpec& p) {
  if (!p.batch_prompt_tokens.empty()) return p.batch_prompt_tokens;
  std::vector<std::uint32_t> out(p.batch_size, p.prompt_tokens);
  if (p.prompt_tokens_spread == 0) return out;
  // P_b uniform over the integers of [P (1 - s), P (1 + s)], sequence by sequence from its own stream.
  const double lo = std::ceil(p.prompt_tokens * (1 - p.prompt_tokens_spread));
  const double hi = std::floor(p.prompt_tokens * (1 + p.prompt_tokens_spread));
  for (std::uint32_t b = 0; b < p.batch_size; ++b) {
    core::Rng rng(core::derive_seed({p.seed, 0xba7c4ULL, b}));
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    out[b] = static_cast<std::uint32_t>(std::max(1.0, lo + static_cast<double>(rng.below(span))));
  }
  return out;
}

std::optional<HbmReads> parse_hbm_reads(std::string_view text) {
  if (text == "balanced") return HbmReads::kBalanced;
  if (text == "resident") return HbmReads::kResident;
  return std::nullopt;
}

namespace {

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string gb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g GB", bytes / core::kGB);
  return buf;
}

// HBM a point needs: its resident weights and the KV capacity it asks for, bytes.
double needed_bytes(const PointSpec& p, const ModelSpec& m, std::uint64_t footprint_tokens, std::uint32_t layers) {
  const double e = m.kv_bytes_per_token_layer;
  switch (p.capacity.kind) {
    case CapacitySpec::Kind::kRatio:
      return m.resident_weight_bytes +
             std::floor(p.capacity.value * static_cast<double>(footprint_tokens) * layers) * e;
    case CapacitySpec::Kind::kGigabytes:
      return core::gb_to_bytes(p.capacity.value);
    case CapacitySpec::Kind::kEntries:
      return m.resident_weight_bytes + p.capacity.value * e;
  }
  return 0;
}

}  // namespace

std::string infeasibility(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers) {
  if (p.hardware.dram_capacity_gb) {
    // DRAM keeps a copy of every entry: the whole KV of every sequence must fit in it.
    const double kv = static_cast<double>(footprint_tokens) * layers * p.model.kv_bytes_per_token_layer;
    const double dram = core::gb_to_bytes(*p.hardware.dram_capacity_gb);
    if (kv > dram * (1 + 1e-12)) {
      return p.model.name + " on " + p.hardware.name + " does not fit: the batch's KV, " + std::to_string(footprint_tokens) +
             " tokens x " + std::to_string(layers) + " layers = " + gb(kv) + ", exceeds its " + gb(dram) +
             " of DRAM (dram_capacity_gb), which holds a copy of every entry; use fewer or shorter sequences, a "
             "smaller kv_dtype, or an inline hardware mapping with more dram_capacity_gb or without it";
    }
  }
  // hbm_capacity_gb is the HBM size itself (its own check: the weights must leave room for KV).
  if (!p.hardware.hbm_capacity_gb || p.capacity.kind == CapacitySpec::Kind::kGigabytes) return "";
  const double hbm = core::gb_to_bytes(*p.hardware.hbm_capacity_gb);
  const double need = needed_bytes(p, p.model, footprint_tokens, layers);
  if (need <= hbm * (1 + 1e-12)) return "";
  const ModelSpec& m = p.model;
  std::string what = m.name;
  if (!m.weight_dtype.empty()) what += " (" + m.weight_dtype + " weights, " + m.kv_dtype + " KV)";
  std::string msg = what + " on " + p.hardware.name + " does not fit: ";
  msg += gb(m.resident_weight_bytes) + " of weights + " + gb(need - m.resident_weight_bytes) + " of KV (" +
         std::string(capacity_key(p.capacity.kind)) + " " + num(p.capacity.value) + ") = " + gb(need) + " > its " +
         gb(hbm) + " of HBM";
  // The ways out, most specific first: smaller dtypes of this model that fit, ...
  std::vector<std::string> ways;
  const ModelPreset* preset = find_model_preset(m.name);
  if (preset != nullptr && !preset->fixed_bytes()) {
    const Dtype wd = parse_dtype(m.weight_dtype).value_or(preset->dtype);
    const Dtype kd = parse_dtype(m.kv_dtype).value_or(preset->dtype);
    // HBM needed with weights w and KV k, or nothing when either is not smaller than what the point has.
    auto fits = [&](Dtype w, Dtype k) -> std::optional<double> {
      const ModelSpec s = resolve_model(*preset, p.kv_accounting, w, k);
      const double bytes = needed_bytes(p, s, footprint_tokens, layers);
      return bytes <= hbm ? std::optional(bytes) : std::nullopt;
    };
    auto smaller = [](const std::vector<std::string>& names, Dtype than) {
      std::vector<Dtype> out;  // largest first
      for (const auto& n : names) {
        if (dtype_bytes(*parse_dtype(n)) < dtype_bytes(than)) out.push_back(*parse_dtype(n));
      }
      return out;
    };
    // The largest smaller weight format with this KV, the largest smaller KV format with these weights,
    // and only if neither alone fits, the two together.
    for (const Dtype w : smaller(weight_dtype_names(), wd)) {
      if (const auto b = fits(w, kd)) {
        ways.push_back("weight_dtype: " + std::string(to_string(w)) + " (" + gb(*b) + ")");
        break;
      }
    }
    for (const Dtype k : smaller(kv_dtype_names(), kd)) {
      if (const auto b = fits(wd, k)) {
        ways.push_back("kv_dtype: " + std::string(to_string(k)) + " (" + gb(*b) + ")");
        break;
      }
    }
    if (ways.empty()) {
      for (const Dtype w : smaller(weight_dtype_names(), wd)) {
        for (const Dtype k : smaller(kv_dtype_names(), kd)) {
          if (const auto b = fits(w, k); b && ways.empty()) {
            ways.push_back("weight_dtype: " + std::string(to_string(w)) + " with kv_dtype: " +
                           std::string(to_string(k)) + " (" + gb(*b) + ")");
          }
        }
      }
    }
  }
  // ... a hardware preset with more HBM, ...
  const HardwareSpec* larger = nullptr;
  for (const auto& h : hardware_presets()) {
    if (h.hbm_capacity_gb && core::gb_to_bytes(*h.hbm_capacity_gb) >= need &&
        (larger == nullptr || *h.hbm_capacity_gb < *larger->hbm_capacity_gb)) {
      larger = &h;
    }
  }
  if (larger != nullptr) ways.push_back("hardware: " + larger->name + " (" + gb(core::gb_to_bytes(*larger->hbm_capacity_gb)) + ")");
  // ... or an inline hardware: a larger size, or bandwidths without one.
  ways.push_back("an inline hardware mapping with hbm_capacity_gb >= " + num(std::ceil(need / core::kGB)) + " or without it");
  std::string joined;
  for (std::size_t i = 0; i < ways.size(); ++i) joined += (i == 0 ? "" : i + 1 == ways.size() ? ", or " : ", ") + ways[i];
  return msg + "; use " + joined;
}

std::uint64_t capacity_entries(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers) {
  if (const std::string why = infeasibility(p, footprint_tokens, layers); !why.empty()) {
    throw std::invalid_argument(why);
  }
  const double value = p.capacity.value;
  switch (p.capacity.kind) {
    case CapacitySpec::Kind::kRatio: {
      const double footprint = static_cast<double>(footprint_tokens) * layers;
      return floor_entries(value * footprint, "hbm_capacity_ratio");
    }
    case CapacitySpec::Kind::kGigabytes: {
      const double e = p.model.kv_bytes_per_token_layer;
      if (!(e > 0)) {
        throw std::invalid_argument("hbm_capacity_gb: model '" + p.model.name +
                                    "' has no KV bytes per token and layer");
      }
      const double free_bytes = core::gb_to_bytes(value) - p.model.resident_weight_bytes;
      if (!(free_bytes > 0)) {
        throw std::invalid_argument("hbm_capacity_gb: " + std::to_string(value) +
                                    " GB of HBM leaves no room for KV after " +
                                    std::to_string(p.model.resident_weight_bytes / core::kGB) + " GB of '" +
                                    p.model.name + "' weights");
      }
      return floor_entries(free_bytes / e, "hbm_capacity_gb");
    }
    case CapacitySpec::Kind::kEntries:
      return floor_entries(value, "hbm_kv_capacity_entries");
  }
  throw std::invalid_argument("unknown capacity kind");
}

std::uint64_t footprint_tokens(const PointSpec& p) {
  std::uint64_t f = 0;
  for (const std::uint32_t prompt : batch_prompts(p)) f += std::uint64_t{prompt} + p.decode_tokens;
  return f;
}

std::string capacity_problem(const PointSpec& p, std::uint64_t footprint_tokens, std::uint32_t layers) {
  try {
    capacity_entries(p, footprint_tokens, layers);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

const std::vector<std::string>& known_policy_names() {
  static const std::vector<std::string> kNames = {
      "unlimited_hbm", "static",    "reactive_lru", "page",        "streaming", "h2o",    "lru_hot", "ema",
      "arc",           "history",   "bandit",       "belady",      "sa_guided", "fm_tracking", "fm_dual",
      "oracle",        "exact"};
  return kNames;
}

const std::vector<std::string>& default_policy_names() {
  // All but `exact`, which only small points can afford.
  static const std::vector<std::string> kNames(known_policy_names().begin(), known_policy_names().end() - 1);
  return kNames;
}

const std::vector<std::string>& simulated_policy_names() {
  // known_policy_names() without `oracle` and `exact`.
  static const std::vector<std::string> kNames(known_policy_names().begin(), known_policy_names().end() - 2);
  return kNames;
}

std::vector<std::string> result_settings(const PointSpec& point) {
  auto lists = [&](std::string_view name) {
    return std::find(point.policies.begin(), point.policies.end(), name) != point.policies.end();
  };
  std::vector<std::string> keys = {"policies", "oracle.max_memory_gb", "oracle.lagrangian_gap",
                                   "oracle.lagrangian_passes", "oracle.lagrangian_wall_s"};
  if (lists("oracle")) {
    for (const char* k : {"replicas", "moves", "moves_per_round", "patience_rounds", "max_wall_s", "sa_replicas",
                          "sa_rounds", "sa_w_max"}) {
      keys.push_back(std::string("oracle.") + k);
    }
  }
  if (lists("exact")) {
    keys.emplace_back("oracle.exact_max_binaries");
    keys.emplace_back("oracle.exact_max_nodes");
  }
  return keys;
}

}  // namespace kvsweep::config
