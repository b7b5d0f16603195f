#include "kvsweep/policy/policy.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {

void StepWindow::throw_unavailable(std::uint32_t k) const {
  throw std::logic_error(blind_ ? "StepWindow: no reads are visible in this window (an online policy's prefill)"
                                : "StepWindow: S(n + " + std::to_string(k) + ") asked at n = " + std::to_string(n_) +
                                      ", but the window holds " + std::to_string(available_) + " future step(s)");
}

std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyContext& ctx) {
  if (name == "unlimited_hbm") return make_unlimited_hbm(ctx);
  if (name == "static") return make_static(ctx);
  if (name == "reactive_lru") return make_reactive_lru(ctx);
  if (name == "page") return make_page(ctx);  // it clamps page_tokens to the longest sequence itself
  if (name == "streaming") return make_streaming(ctx);
  if (name == "h2o") return make_h2o(ctx);
  if (name == "lru_hot") return make_lru_hot(ctx);
  if (name == "ema") return make_ema(ctx);
  if (name == "arc") return make_arc(ctx);
  if (name == "history") return make_history(ctx);
  if (name == "bandit") return make_bandit(ctx);
  if (name == "belady") return make_belady(ctx);
  if (name == "sa_guided") return make_sa_guided(ctx);
  if (name == "fm_tracking") return make_fm_tracking(ctx);
  if (name == "fm_dual") return make_fm_dual(ctx);
  throw std::invalid_argument("unknown policy '" + name + "'");
}

Information information_of(const std::string& name) {
  if (name == "fm_dual" || name == "oracle" || name == "exact") return Information::kOffline;
  PolicyContext tiny;
  tiny.shape = trace::TraceShape{1, 1, 1};
  tiny.memory.capacity_entries = 1;
  tiny.memory.writes_per_step = 1;
  tiny.memory.block_tokens = 1;
  tiny.memory.kv_entry_bytes = tiny.memory.weight_bytes_per_layer = 1;
  tiny.memory.hbm_bw = tiny.memory.link_read_bw = tiny.memory.link_write_bw = tiny.memory.dram_bw = 1;
  return make_policy(name, tiny)->information();
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

std::uint64_t place_in_token_order(cost::Residency& r, const trace::TraceShape& shape, std::uint64_t capacity) {
  if (!shape.batched() && shape.block_tokens == 1) return place_in_token_order(r, shape.prompt_tokens, capacity);
  // Block j of every sequence that has it, then the next: k entries each while they fit.
  const std::uint32_t k = shape.block_tokens, B = shape.batch_size();
  std::uint32_t longest = 0;
  for (std::uint32_t b = 0; b < B; ++b) longest = std::max(longest, shape.prompt(b));
  std::uint64_t placed = 0;
  for (std::uint32_t j = 0; std::uint64_t{j} * k < longest; ++j) {
    for (std::uint32_t b = 0; b < B; ++b) {
      const std::uint32_t first = j * k, prompt = shape.prompt(b);
      if (first >= prompt) continue;
      const std::size_t from = shape.base(b) + first, to = shape.base(b) + std::min(first + k, prompt);
      for (std::uint32_t l = 0; l < shape.layers; ++l) {
        if (placed + k > capacity) return placed;
        r.layer(l).set_range(from, to);
        placed += k;
      }
    }
  }
  return placed;
}

std::uint32_t keep_new_token(const trace::TraceShape& shape, std::uint32_t b, std::size_t at,
                             core::TokenBitset& layer, bool* kept) {
  const std::uint32_t k = shape.block_tokens;
  const std::size_t start = at - (at - shape.base(b)) % k;
  *kept = start == at || layer.test(start);
  if (!*kept) return 0;
  const std::uint32_t added = start == at && !layer.test(at) ? k : 0;
  layer.set(at);
  return added;
}

std::uint64_t layer_budget(std::uint64_t capacity, std::uint32_t layers, std::uint32_t l) {
  return capacity / layers + (l < capacity % layers ? 1 : 0);
}

}  // namespace kvsweep::policy
