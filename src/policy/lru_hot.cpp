// lru_hot — the production baseline of sparse-attention serving (SGLang/vLLM HiSparse: the sparse KV in
// host memory, a GPU hot buffer per request and layer, LRU). Online.
// HBM is split into hot buffers, one per (sequence, layer) pair, as streaming splits it: floor(C / (B L))
// entries each, one more for the first C mod (B L) pairs in layer-major order (layer l, then sequence b);
// a buffer of s entries holds floor(s / k) blocks. Prefill: static's placement (the prompts' first
// blocks in token order) trimmed to each buffer, lowest positions kept. At (n, l): every block of the
// layer with a read token that is not held is promoted (piggy-backed: its read tokens cross the link
// anyway), the sequence's new token joins its block if held or starts a block of its own (kept), and a
// block's stamp becomes n - P + 1 when it is read or started (prefill blocks: 0). Then, per buffer over
// its share, the blocks with the smallest stamps are evicted, ties lowest position. Unlike
// reactive_lru, whose one LRU spans every layer and sequence, a layer or a sequence that reads a lot
// cannot take another's room.
#include <algorithm>

#include "block_cache.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class LruHot final : public Policy {
 public:
  explicit LruHot(const PolicyContext& ctx)
      : cache_(ctx), stamps_(cache_.blocks() * ctx.shape.layers, 0), capacity_(ctx.memory.capacity_entries) {
    const auto& sh = ctx.shape;
    const std::uint32_t pairs = sh.batch_size() * sh.layers;
    for (std::uint32_t i = 0; i < pairs; ++i) share_.push_back(layer_budget(capacity_, pairs, i) / sh.block_tokens);
    for (std::uint32_t b = 0; b < sh.batch_size(); ++b) {
      first_.push_back(sh.base(b) / sh.block_tokens);
      last_.push_back((sh.base(b) + sh.prompt(b) + sh.decode_tokens + sh.block_tokens - 1) / sh.block_tokens);
    }
  }
  std::string_view name() const override { return "lru_hot"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    cache_.place_static(r);
    for (std::uint32_t l = 0; l < cache_.shape().layers; ++l) {
      for (std::uint32_t b = 0; b < cache_.shape().batch_size(); ++b) trim(r, l, b);
    }
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const auto& sh = cache_.shape();
    const std::uint32_t stamp = w.n() - sh.prompt_tokens + 1;
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      cache_.demand(w.reads(0, l), r, l, [&](std::size_t j, bool, std::uint32_t) {
        stamps_[cache_.unit(l, j)] = stamp;
        return true;
      });
    }
    cache_.keep_new_tokens(w.n(), r, [&](std::uint32_t l, std::size_t j) { stamps_[cache_.unit(l, j)] = stamp; });
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      for (std::uint32_t b = 0; b < sh.batch_size(); ++b) trim(r, l, b);
    }
  }

 private:
  // Evicts the oldest blocks of buffer (l, b) until it fits its share.
  void trim(cost::Residency& r, std::uint32_t l, std::uint32_t b) {
    const std::uint64_t share = share_[static_cast<std::size_t>(l) * cache_.shape().batch_size() + b];
    held_.clear();
    cache_.for_each_block_in(r.layer(l), first_[b], last_[b],
                             [&](std::size_t j) { held_.push_back({stamps_[cache_.unit(l, j)], j}); });
    if (held_.size() <= share) return;
    const std::size_t excess = held_.size() - share;
    std::nth_element(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(excess - 1), held_.end());
    for (std::size_t i = 0; i < excess; ++i) cache_.evict(r, l, held_[i].second);
  }

  BlockCache cache_;
  std::vector<std::uint32_t> stamps_;
  std::uint64_t capacity_;
  std::vector<std::uint64_t> share_;       // blocks per (layer, sequence), index l * B + b
  std::vector<std::size_t> first_, last_;  // each sequence's block range
  std::vector<std::pair<std::uint32_t, std::size_t>> held_;  // scratch: (stamp, block) of one buffer
};

}  // namespace

std::unique_ptr<Policy> make_lru_hot(const PolicyContext& ctx) { return std::make_unique<LruHot>(ctx); }

}  // namespace kvsweep::policy
