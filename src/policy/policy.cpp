#include "kvsweep/policy/policy.hpp"

#include <algorithm>
#include <stdexcept>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {

std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyContext& ctx) {
  if (name == "unlimited_hbm") return make_unlimited_hbm(ctx);
  if (name == "static") return make_static(ctx);
  if (name == "reactive_lru") return make_reactive_lru(ctx);
  if (name == "page") return make_page(ctx);  // it clamps page_tokens to the longest sequence itself
  if (name == "streaming") return make_streaming(ctx);
  if (name == "h2o") return make_h2o(ctx);
  if (name == "belady") return make_belady(ctx);
  if (name == "sa_guided") return make_sa_guided(ctx);
  if (name == "fm_tracking") return make_fm_tracking(ctx);
  if (name == "fm_dual") return make_fm_dual(ctx);
  throw std::invalid_argument("unknown policy '" + name + "'");
}

std::uint64_t place_in_token_order(cost::Residency& r, std::uint32_t prompt_tokens, std::uint64_t capacity) {
  const std::uint32_t layers = r.layers();
  const std::uint64_t full = std::min<std::uint64_t>(prompt_tokens, capacity / layers);
  for (std::uint32_t l = 0; l < layers; ++l) r.layer(l).set_range(0, full);
  std::uint64_t placed = full * layers;
  if (full < prompt_tokens) {
    for (std::uint32_t l = 0; l < layers && placed < capacity; ++l, ++placed) r.layer(l).set(full);
  }
  return placed;
}

std::uint64_t layer_budget(std::uint64_t capacity, std::uint32_t layers, std::uint32_t l) {
  return capacity / layers + (l < capacity % layers ? 1 : 0);
}

}  // namespace kvsweep::policy
