#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

namespace {
class ExplicitSource final : public TraceSource {
 public:
  explicit ExplicitSource(const ExplicitTrace& t) : t_(t) {}
  TraceShape shape() const override { return t_.shape; }
  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    for (std::uint32_t l = 0; l < t_.shape.layers; ++l) {
      reads[l].clear();
      for (std::uint32_t tok : t_.reads(n, l)) reads[l].set(tok);
    }
  }

 private:
  const ExplicitTrace& t_;
};
}  // namespace

std::unique_ptr<TraceSource> make_explicit_source(const ExplicitTrace& trace) {
  return std::make_unique<ExplicitSource>(trace);
}

ExplicitTrace materialise(TraceSource& source) {
  ExplicitTrace t;
  t.shape = source.shape();
  const auto& s = t.shape;
  t.tokens.resize(static_cast<std::size_t>(s.decode_tokens) * s.layers);
  std::vector<core::TokenBitset> step(s.layers, core::TokenBitset(s.space()));
  for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
    source.read_step(n, step);
    for (std::uint32_t l = 0; l < s.layers; ++l) {
      auto& out = t.reads(n, l);
      step[l].for_each([&](std::size_t i) { out.push_back(static_cast<std::uint32_t>(i)); });
    }
  }
  return t;
}

}  // namespace kvsweep::trace
