// WindowUnion against the plain union of the K next steps, at every step of random traces.
#include <gtest/gtest.h>

#include "kvsweep/policy/window_union.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

// A policy that only checks WindowUnion at every step against the naive union.
class UnionProbe final : public policy::Policy {
 public:
  UnionProbe(const trace::TraceShape& shape, std::uint32_t k)
      : k_(k), shape_(shape), windows_(shape.layers, core::words_for(shape.total_tokens()), k) {}
  std::string_view name() const override { return "probe"; }
  std::uint32_t lookahead() const override { return k_; }
  bool respects_capacity() const override { return false; }
  void place_prefill(const policy::StepWindow&, cost::Residency&) override {}
  void step(const policy::StepWindow& w, cost::Residency&) override {
    const std::uint32_t k_max = std::min(k_, w.available());
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      std::vector<core::Word> naive(core::words_for(shape_.total_tokens()), 0);
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        for (std::size_t i = 0; i < naive.size(); ++i) naive[i] |= w.reads(k, l).data()[i];
      }
      const auto& fast = windows_.get(w, l, k_max);
      for (std::size_t i = 0; i < naive.size(); ++i) {
        if (fast[i] != naive[i]) ++mismatches;
      }
      ++checked;
    }
  }
  int mismatches = 0;
  int checked = 0;

 private:
  std::uint32_t k_;
  trace::TraceShape shape_;
  policy::WindowUnion windows_;
};

TEST(WindowUnion, EqualsThePlainUnionAtEveryStep) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const Instance in = random_instance(seed * 13, 3, 70);
    for (std::uint32_t k : {1u, 2u, 3u, 5u, 8u, 64u}) {
      std::vector<std::unique_ptr<policy::Policy>> one;
      auto probe = std::make_unique<UnionProbe>(in.trace.shape, k);
      UnionProbe* p = probe.get();
      one.push_back(std::move(probe));
      auto source = trace::make_explicit_source(in.trace);
      sim::SimulationOptions opt;
      opt.parallel = false;
      opt.chunk_steps = 1 + static_cast<std::uint32_t>(seed % 7);
      sim::simulate(*source, in.memory, one, opt);
      EXPECT_EQ(p->mismatches, 0) << "seed " << seed << " K " << k;
      checked += p->checked;
    }
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace kvsweep::testing
