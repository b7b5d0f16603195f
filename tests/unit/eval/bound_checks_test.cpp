// A point's bounds are checked before its result is kept (issue 27): a bound that is negative, not a
// number, or above a schedule it bounds, or a schedule whose time is not finite, fails the point with a
// message instead of being stored. The certified gap is exactly 0 within 1e-9 of the bound.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::eval {
namespace {

PolicyResult policy(const std::string& name, double time_s) {
  PolicyResult p;
  p.name = name;
  p.metrics.total_time_s = time_s;
  p.respects_capacity = name != "unlimited_hbm";
  return p;
}

// unlimited_hbm 1.0 s, static 2.0 s, fm_tracking 1.5 s; bandwidth_split 1.0 s, free_migration 1.4 s.
PointResult sane() {
  PointResult r;
  r.point_id = "0123456789abcdef";
  r.policies = {policy("unlimited_hbm", 1.0), policy("static", 2.0), policy("fm_tracking", 1.5)};
  r.bounds.bandwidth_split_s = 1.0;
  r.bounds.free_migration_s = 1.4;
  return r;
}

std::string refusal(const PointResult& r) {
  try {
    check_bounds(r);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckBounds, AcceptsSaneBoundsAndRoundOff) {
  EXPECT_EQ(refusal(sane()), "");
  PointResult r = sane();
  r.bounds.free_migration_s = 1.5 * (1 + 1e-13);  // a schedule that meets its bound, up to round-off
  EXPECT_EQ(refusal(r), "");
  r.bounds.free_migration_s = 3.0;  // free_migration does not bound unlimited_hbm, but does static
  EXPECT_NE(refusal(r).find("free_migration = 3 s is above static's 2 s"), std::string::npos) << refusal(r);
}

TEST(CheckBounds, RefusesNegativeNanAndTooHighBounds) {
  PointResult r = sane();
  r.bounds.free_migration_s = -8192;
  EXPECT_NE(refusal(r).find("point 0123456789abcdef: lower bound free_migration = -8192 s is not a finite number >= 0"),
            std::string::npos)
      << refusal(r);
  r = sane();
  r.lagrangian.emplace();
  r.lagrangian->computed = true;
  r.lagrangian->bound_s = std::nan("");
  EXPECT_NE(refusal(r).find("lagrangian = nan s"), std::string::npos) << refusal(r);
  r.lagrangian->bound_s = -177733.59;
  EXPECT_NE(refusal(r).find("lagrangian = -177733.59 s"), std::string::npos) << refusal(r);
  r.lagrangian->computed = false;  // not computed: not a bound
  EXPECT_EQ(refusal(r), "");
  r = sane();
  r.bounds.bandwidth_split_s = 1.0 * (1 + 1e-6);  // above unlimited_hbm, which it bounds too
  EXPECT_NE(refusal(r).find("bandwidth_split"), std::string::npos) << refusal(r);
  r = sane();
  r.policies[1].metrics.total_time_s = INFINITY;
  EXPECT_NE(refusal(r).find("policy static: total time inf s is not a finite positive number"), std::string::npos)
      << refusal(r);
}

TEST(CertifiedGap, RoundOffIsExactlyZero) {
  EXPECT_EQ(certified_gap(2.0649235652662252 * (1 - 4.13e-14), 2.0649235652662252), 0.0);
  EXPECT_FALSE(std::signbit(certified_gap(1 - 1e-14, 1.0)));
  EXPECT_EQ(certified_gap(1 + 5e-10, 1.0), 0.0);
  EXPECT_NEAR(certified_gap(1.01, 1.0), 0.01, 1e-15);
  EXPECT_NEAR(certified_gap(1 - 1e-6, 1.0), -1e-6, 1e-15);  // beyond round-off: check_bounds refuses it
  EXPECT_TRUE(std::isnan(certified_gap(1.0, 0.0)));
}

// A point evaluated past the range validate allows (a link of 1e-308 GB/s: every miss costs 1.6e302 s,
// B_hbm / B_lr overflows): it fails with the reason instead of storing what is not a number.
TEST(CheckBounds, EvaluatePointFailsInsteadOfStoringInfinity) {
  const auto points = sweep::load_sweep_text(R"(
model: llama-2-7b
hardware: gh200-measured
prompt_tokens: 512
decode_tokens: 16
hbm_capacity_ratio: 0.5
policies: [static, fm_tracking]
)",
                                             "absurd.yaml")
                          .points;
  ASSERT_EQ(points.size(), 1U);
  config::PointSpec spec = points.front().spec;
  EXPECT_NO_THROW(evaluate_point(spec));
  spec.hardware.link_read_gbps = 1e-308;
  try {
    const PointResult r = evaluate_point(spec);
    FAIL() << "accepted: static " << r.find("static")->metrics.total_time_s << " s";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(" is not a finite "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvsweep::eval
