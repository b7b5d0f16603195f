#include "kvsweep/config/point.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

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

std::optional<HbmReads> parse_hbm_reads(std::string_view text) {
  if (text == "balanced") return HbmReads::kBalanced;
  if (text == "resident") return HbmReads::kResident;
  return std::nullopt;
}

std::uint64_t capacity_entries(const PointSpec& p, std::uint32_t prompt_tokens, std::uint32_t decode_tokens,
                               std::uint32_t layers) {
  const double value = p.capacity.value;
  switch (p.capacity.kind) {
    case CapacitySpec::Kind::kRatio: {
      const double footprint = (static_cast<double>(prompt_tokens) + decode_tokens) * layers;
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

const std::vector<std::string>& known_policy_names() {
  static const std::vector<std::string> kNames = {"unlimited_hbm", "static",    "reactive_lru", "page",
                                                  "streaming",     "h2o",       "belady",       "sa_guided",
                                                  "fm_tracking",   "fm_dual",   "oracle",       "exact"};
  return kNames;
}

const std::vector<std::string>& default_policy_names() {
  // All but `exact`, which only small points can afford.
  static const std::vector<std::string> kNames(known_policy_names().begin(), known_policy_names().end() - 1);
  return kNames;
}

}  // namespace kvsweep::config
