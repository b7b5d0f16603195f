// The information contract (policy.hpp, docs/design/online.md): an online policy decides R(n) from the
// reads of steps <= n only, by construction — the simulator hands it no future rows and StepWindow
// throws if it asks. Altering a trace from step m on leaves every online policy's per-(step, layer)
// records before m bit-identical, while belady's (which sees the future) change, so the test can fail.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "support/tiny_points.hpp"

namespace kvsweep::policy {
namespace {

// Every simulated policy but fm_dual (which needs the bound's plan).
const std::vector<std::string> kSimulated = [] {
  std::vector<std::string> names = config::simulated_policy_names();
  std::erase(names, std::string("fm_dual"));
  return names;
}();

// Every past position of each (step, layer) read with probability 0.3; from step `alter_from` on, a
// second generator decides instead.
trace::ExplicitTrace random_trace(const trace::TraceShape& shape, std::uint32_t alter_from) {
  return testing_support::random_reads(shape, 7, alter_from, 8);
}

cost::MemorySystem memory(std::uint64_t capacity, const trace::TraceShape& shape = {}) {
  return testing_support::gh200_like(capacity, shape);
}

std::vector<std::vector<cost::StepRecord>> records_of(const trace::ExplicitTrace& t, const cost::MemorySystem& m,
                                                      const std::vector<std::string>& names) {
  std::vector<std::unique_ptr<Policy>> policies;
  for (const auto& name : names) policies.push_back(make_policy(name, PolicyContext{t.shape, m, {}, nullptr}));
  auto source = trace::make_explicit_source(t);
  sim::SimulationOptions options;
  options.record_steps = true;
  std::vector<std::vector<cost::StepRecord>> records;
  sim::simulate(*source, m, policies, options, &records);
  return records;
}

bool same_before(const std::vector<cost::StepRecord>& a, const std::vector<cost::StepRecord>& b, std::uint32_t m) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].n >= m) continue;
    if (a[i].n != b[i].n || a[i].layer != b[i].layer || a[i].time_s != b[i].time_s ||
        a[i].counts.hits != b[i].counts.hits || a[i].counts.piggyback != b[i].counts.piggyback ||
        a[i].counts.prefetch != b[i].counts.prefetch) {
      return false;
    }
  }
  return true;
}

TEST(InformationContract, WhichPoliciesAreOnline) {
  const trace::TraceShape shape{8, 4, 2};
  std::set<std::string> online;
  for (const auto& name : kSimulated) {
    if (make_policy(name, PolicyContext{shape, memory(8), {}, nullptr})->information() == Information::kOnline) online.insert(name);
  }
  EXPECT_EQ(online, (std::set<std::string>{"unlimited_hbm", "static", "reactive_lru", "streaming", "h2o", "lru_hot",
                                           "ema", "arc", "history", "bandit"}));
}

TEST(InformationContract, OnlinePoliciesDoNotSeeAlteredFutureReads) {
  struct Case {
    trace::TraceShape shape;
    const char* label;
  };
  const Case cases[] = {{{40, 30, 2}, "lone"}, {{40, 30, 2, {40, 25}, 2}, "batch of 2, blocks of 2"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    const std::uint32_t m = c.shape.prompt_tokens + 15;
    const trace::ExplicitTrace original = random_trace(c.shape, c.shape.total_tokens());
    const trace::ExplicitTrace altered = random_trace(c.shape, m);
    ASSERT_NE(original.tokens.back(), altered.tokens.back());
    const cost::MemorySystem mem = memory(c.shape.footprint_tokens() * c.shape.layers * 3 / 10, c.shape);
    const auto a = records_of(original, mem, kSimulated);
    const auto b = records_of(altered, mem, kSimulated);
    for (std::size_t i = 0; i < kSimulated.size(); ++i) {
      const auto& name = kSimulated[i];
      const bool online = make_policy(name, PolicyContext{c.shape, mem, {}, nullptr})->information() == Information::kOnline;
      if (online) {
        EXPECT_TRUE(same_before(a[i], b[i], m)) << name << " is online but its steps before " << m << " changed";
      } else if (name == "belady") {
        EXPECT_FALSE(same_before(a[i], b[i], m)) << "belady sees the future: its steps before " << m << " should change";
      }
    }
  }
}

// A policy that breaks the contract is stopped by construction, not trusted.
class Peeking final : public Policy {
 public:
  explicit Peeking(std::uint32_t lookahead) : lookahead_(lookahead) {}
  std::string_view name() const override { return "peeking"; }
  Information information() const override { return Information::kOnline; }
  std::uint32_t lookahead() const override { return lookahead_; }
  void place_prefill(const StepWindow& w, cost::Residency&) override {
    if (peek_at_prefill) (void)w.reads(0, 0);
  }
  void step(const StepWindow& w, cost::Residency&) override { (void)w.reads(1, 0); }
  bool peek_at_prefill = false;

 private:
  std::uint32_t lookahead_;
};

TEST(InformationContract, AnOnlinePolicyAskingForTheFutureIsStopped) {
  const trace::TraceShape shape{10, 6, 1};
  const trace::ExplicitTrace t = random_trace(shape, shape.total_tokens());
  const cost::MemorySystem mem = memory(5);
  auto run = [&](std::unique_ptr<Policy> p, bool with_belady) {
    std::vector<std::unique_ptr<Policy>> policies;
    policies.push_back(std::move(p));
    // Another policy's look-ahead must not widen the online policy's window.
    if (with_belady) policies.push_back(make_policy("belady", PolicyContext{shape, mem, {}, nullptr}));
    auto source = trace::make_explicit_source(t);
    sim::SimulationOptions options;
    options.parallel = false;
    sim::simulate(*source, mem, policies, options);
  };
  EXPECT_THROW(run(std::make_unique<Peeking>(0), true), std::logic_error);   // reads S(n + 1)
  EXPECT_THROW(run(std::make_unique<Peeking>(1), false), std::logic_error);  // online with look-ahead
  auto prefill = std::make_unique<Peeking>(0);
  prefill->peek_at_prefill = true;
  try {
    run(std::move(prefill), false);
    ADD_FAILURE() << "an online policy read S(P) while placing R(P - 1)";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("prefill"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvsweep::policy
