// streaming — StreamingLLM placement. Each layer gets an equal share B_l of C (layer_budget). HBM holds
// the first `streaming_sinks` tokens (attention sinks) and the most recent B_l - sinks tokens of the
// layer; the new entry is always kept and the token leaving the window is evicted. Nothing is ever
// promoted: a read outside sinks and window goes over the link.
// A batch, or blocks of k tokens: C is split equally over the (sequence, layer) pairs, as layer_budget
// splits it over layers: floor(C / (B·L)) entries each, one more for the first C mod (B·L) pairs in
// layer-major order (layer l, then sequence b), so that no sequence gets more than one entry more than
// another. A share of s entries holds floor(s / k) blocks: first the sink blocks (those holding the
// sequence's first `streaming_sinks` tokens, at most all of the share's blocks), the rest its window of
// most recent blocks (the block being filled counts as one). Prefill: the sink blocks and the window's
// last prompt blocks. A step, per layer and sequence: a new token inside a block joins it iff the block
// is resident; one that starts a block keeps it iff the window is not empty, and the block that leaves
// the window then is evicted unless it is a sink block. With B = 1 and k = 1 this is the rule above.
#include <algorithm>

#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class Streaming final : public Policy {
 public:
  explicit Streaming(const PolicyContext& ctx) : shape_(ctx.shape) {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      const std::uint64_t budget = layer_budget(ctx.memory.capacity_entries, shape_.layers, l);
      const std::uint64_t sinks = std::min<std::uint64_t>(ctx.params.streaming_sinks, budget);
      sinks_.push_back(sinks);
      window_.push_back(budget - sinks);
    }
  }
  std::string_view name() const override { return "streaming"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    const std::uint64_t p = shape_.prompt_tokens;
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      r.layer(l).set_range(0, std::min(sinks_[l], p));
      r.layer(l).set_range(p - std::min(window_[l], p), p);
    }
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint64_t n = w.n();
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      if (window_[l] == 0) continue;
      r.layer(l).set(n);
      // The window now covers (n - window, n]; the token that fell out leaves unless it is a sink.
      if (n >= window_[l] && n - window_[l] >= sinks_[l]) r.layer(l).reset(n - window_[l]);
    }
  }

 private:
  trace::TraceShape shape_;
  std::vector<std::uint64_t> sinks_;
  std::vector<std::uint64_t> window_;
};

// The batch and block rule (header). Shares are indexed l * B + b.
class BatchStreaming final : public Policy {
 public:
  explicit BatchStreaming(const PolicyContext& ctx) : shape_(ctx.shape), k_(ctx.shape.block_tokens) {
    const std::uint32_t batch = shape_.batch_size(), pairs = batch * shape_.layers;
    for (std::uint32_t b = 0; b < batch; ++b) bases_.push_back(shape_.base(b));
    const std::uint64_t sink_blocks = (std::uint64_t{ctx.params.streaming_sinks} + k_ - 1) / k_;
    for (std::uint32_t i = 0; i < pairs; ++i) {
      const std::uint64_t blocks = layer_budget(ctx.memory.capacity_entries, pairs, i) / k_;
      const std::uint64_t sinks = std::min(sink_blocks, blocks);
      shares_.push_back({sinks, blocks - sinks});
    }
  }
  std::string_view name() const override { return "streaming"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const Share& s = share(l, b);
        const std::uint64_t p = shape_.prompt(b), blocks = (p + k_ - 1) / k_;
        const std::uint64_t window_begin = (blocks - std::min(s.window, blocks)) * k_;  // p or more: none
        r.layer(l).set_range(bases_[b], bases_[b] + std::min(s.sinks * k_, p));
        r.layer(l).set_range(bases_[b] + std::min(window_begin, p), bases_[b] + p);
      }
    }
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    const std::uint32_t steps = w.n() - shape_.prompt_tokens;  // decode tokens each sequence had before
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      core::TokenBitset& h = r.layer(l);
      for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
        const std::uint64_t t = std::uint64_t{shape_.prompt(b)} + steps;  // the new token
        const std::size_t at = bases_[b] + t;
        if (t % k_ != 0) {
          if (h.test(at - 1)) h.set(at);  // its block is resident (window or sinks)
          continue;
        }
        const Share& s = share(l, b);
        if (s.window == 0) continue;
        h.set(at);
        // Block t / k enters the window; the one `window` blocks back leaves unless it is a sink block.
        const std::uint64_t j = t / k_;
        if (j >= s.window && j - s.window >= s.sinks) {
          const std::size_t leaving = bases_[b] + (j - s.window) * k_;
          h.reset_range(leaving, leaving + k_);
        }
      }
    }
  }

 private:
  struct Share {
    std::uint64_t sinks = 0, window = 0;  // blocks
  };
  const Share& share(std::uint32_t l, std::uint32_t b) const {
    return shares_[static_cast<std::size_t>(l) * shape_.batch_size() + b];
  }

  trace::TraceShape shape_;
  std::uint32_t k_;
  std::vector<std::size_t> bases_;
  std::vector<Share> shares_;
};

}  // namespace

std::unique_ptr<Policy> make_streaming(const PolicyContext& ctx) {
  if (!ctx.shape.batched() && ctx.shape.block_tokens == 1) return std::make_unique<Streaming>(ctx);
  return std::make_unique<BatchStreaming>(ctx);
}

}  // namespace kvsweep::policy
