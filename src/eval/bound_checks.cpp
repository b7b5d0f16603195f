// The sanity of a point's bounds and its certified gap (eval/evaluate.hpp).
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvsweep/eval/evaluate.hpp"

namespace kvsweep::eval {

double certified_gap(double time_s, double bound_s) {
  if (!(bound_s > 0)) return std::nan("");
  const double gap = time_s / bound_s - 1;
  return std::abs(gap) < kGapTolerance ? 0.0 : gap;
}

void check_bounds(const PointResult& r) {
  auto text = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  auto refuse = [&](const std::string& what) {
    throw std::runtime_error("point " + r.point_id + ": " + what + " (a numerical failure: no bound is stored)");
  };
  struct Named {
    const char* name;
    double value_s;
    bool any_schedule;  // bounds unlimited_hbm too
    double tolerance;   // relative
  };
  std::vector<Named> bounds{{"bandwidth_split", r.bounds.bandwidth_split_s, true, kGapTolerance},
                            {"free_migration", r.bounds.free_migration_s, false, kGapTolerance}};
  if (r.lagrangian && r.lagrangian->computed) {
    bounds.push_back({"lagrangian", r.lagrangian->bound_s, false, kGapTolerance});
  }
  // Cbc proves its bound to its LP's tolerances, not to the last bits (test_oracle allows 1e-7).
  if (r.exact) bounds.push_back({"exact", r.exact->bound_s, false, 1e-6});
  for (const auto& p : r.policies) {
    const double t = p.metrics.total_time_s;
    if (!(std::isfinite(t) && t > 0)) refuse("policy " + p.name + ": total time " + text(t) + " s is not a finite positive number");
  }
  for (const auto& b : bounds) {
    if (!(std::isfinite(b.value_s) && b.value_s >= 0)) {
      refuse(std::string("lower bound ") + b.name + " = " + text(b.value_s) + " s is not a finite number >= 0");
    }
    for (const auto& p : r.policies) {
      if (!p.respects_capacity && !b.any_schedule) continue;
      if (p.metrics.total_time_s / b.value_s - 1 <= -b.tolerance) {
        refuse(std::string("lower bound ") + b.name + " = " + text(b.value_s) + " s is above " + p.name + "'s " +
               text(p.metrics.total_time_s) + " s");
      }
    }
  }
}

}  // namespace kvsweep::eval
