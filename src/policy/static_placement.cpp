// static — the paper's baseline. Prefill: entries (t, l) in order t = 0..P-1, l = 0..L-1 while fewer
// than C are resident. Step n, layer by layer: keep the new entry (n, l) iff fewer than C are
// resident. Never migrates, never evicts.
// A batch (docs/policies-and-oracle.md): prefill entries in token-major order (t, then sequence b, then
// l) while fewer than C; at a step the new entries in order b, l while fewer than C. With blocks of k
// tokens the same over blocks: prefill blocks in order (block j, then b, then l), each taken while its k
// entries fit; at a step a sequence whose new token starts a block keeps that block (order b, l) while
// it fits, and a new token whose block is resident is in HBM with it.
#include "kvsweep/policy/policies.hpp"

#include <algorithm>

namespace kvsweep::policy {
namespace {

class StaticPlacement final : public Policy {
 public:
  explicit StaticPlacement(const PolicyContext& ctx)
      : shape_(ctx.shape), capacity_(ctx.memory.capacity_entries) {}
  std::string_view name() const override { return "static"; }
  Information information() const override { return Information::kOnline; }
  void place_prefill(const StepWindow&, cost::Residency& r) override {
    resident_ = place_in_token_order(r, shape_, capacity_);
  }
  void step(const StepWindow& w, cost::Residency& r) override {
    if (!shape_.batched() && shape_.block_tokens == 1) {
      for (std::uint32_t l = 0; l < shape_.layers && resident_ < capacity_; ++l, ++resident_) {
        r.layer(l).set(w.n());
      }
      return;
    }
    const std::uint32_t k = shape_.block_tokens;
    for (std::uint32_t b = 0; b < shape_.batch_size(); ++b) {
      const std::size_t at = shape_.new_entry(b, w.n());
      const bool starts_block = (at - shape_.base(b)) % k == 0;
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        if (starts_block) {
          if (resident_ + k > capacity_) continue;
          r.layer(l).set(at);
          resident_ += k;
        } else if (r.layer(l).test(at - 1)) {
          r.layer(l).set(at);  // its block is resident
        }
      }
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
