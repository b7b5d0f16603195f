// static — the paper's baseline. Prefill: entries (t, l) in order t = 0..P-1, l = 0..L-1 while fewer
// than C are resident. Step n, layer by layer: keep the new entry (n, l) iff fewer than C are
// resident. Never migrates, never evicts.
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class StaticPlacement final : public Policy {
 public:
  explicit StaticPlacement(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries) {}
  std::string_view name() const override { return "static"; }
  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_.prompt_tokens, capacity_);
  }
  void step(const StepWindow& w, cost::Residency& r) override {
    for (std::uint32_t l = 0; l < shape_.layers && resident_ < capacity_; ++l, ++resident_) {
      r.layer(l).set(w.n());
    }
  }

 private:
  trace::TraceShape shape_;
  std::uint64_t capacity_;
  std::uint64_t resident_ = 0;
};

}  // namespace

std::unique_ptr<Policy> make_static(const PolicyContext& ctx) { return std::make_unique<StaticPlacement>(ctx); }

}  // namespace kvsweep::policy
