// streaming — StreamingLLM placement. Each layer gets an equal share B_l of C (layer_budget). HBM holds
// the first `streaming_sinks` tokens (attention sinks) and the most recent B_l - sinks tokens of the
// layer; the new entry is always kept and the token leaving the window is evicted. Nothing is ever
// promoted: a read outside sinks and window goes over the link.
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

}  // namespace

std::unique_ptr<Policy> make_streaming(const PolicyContext& ctx) { return std::make_unique<Streaming>(ctx); }

}  // namespace kvsweep::policy
