// unlimited_hbm — the ideal reference: HBM holds every KV entry, capacity ignored. All prompt KV is
// resident at prefill and every new entry (n, l) is kept. Every read hits; nothing is ever promoted.
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class UnlimitedHbm final : public Policy {
 public:
  explicit UnlimitedHbm(const PolicyContext& ctx) : shape_(ctx.shape) {}
  std::string_view name() const override { return "unlimited_hbm"; }
  Information information() const override { return Information::kOnline; }
  bool respects_capacity() const override { return false; }
  void place_prefill(const StepWindow&, cost::Residency& r) override {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l).set_range(shape_.base(b), shape_.base(b) + shape_.prompt(b));
    }
  }
  void step(const StepWindow& w, cost::Residency& r) override {
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) r.layer(l).set(shape_.new_entry(b, w.n()));
    }
  }

 private:
  trace::TraceShape shape_;
};

}  // namespace

std::unique_ptr<Policy> make_unlimited_hbm(const PolicyContext& ctx) {
  return std::make_unique<UnlimitedHbm>(ctx);
}

}  // namespace kvsweep::policy
