#pragma once
// Internal to the synthetic generator: where a fresh span starts (trace/synthetic.hpp, "Position
// profile"). One immutable table per source, shared read-only by every layer.

#include <cstdint>
#include <vector>

namespace kvsweep::trace::detail {

// The start density over the relative position x = t / n of the whole context:
//   f(x) = u + (1 - u) Phi(a x - theta) / (1 - s),   theta: the mean of Phi(a x - theta) over [0, 1) is 1 - s,
// drawn restricted to the span region [lo, hi) of the step by inverting its CDF (two tables of
// kCells + 1 points, linear in between). Uniform (a = 0, or nothing left out) draws lo + below(hi - lo).
class PositionProfile {
 public:
  PositionProfile() = default;
  PositionProfile(double recency_slope, double uniform_share, double sparsity);

  bool uniform() const { return quantile_.empty(); }
  // The CDF at t / n, for the region bounds of one step.
  double cdf(std::uint32_t t, std::uint32_t n) const;
  // A start in [lo, hi) from one uniform 64-bit draw r, given qlo = cdf(lo, n) < qhi = cdf(hi, n).
  std::uint32_t draw(std::uint64_t r, std::uint32_t n, std::uint32_t lo, std::uint32_t hi, double qlo,
                     double qhi) const {
    const double q = qlo + (qhi - qlo) * (static_cast<double>(r >> 11) * 0x1.0p-53);
    const double cell = q * kCells;
    const auto j = static_cast<std::uint32_t>(cell);
    const double x = j >= kCells ? quantile_[kCells]
                                 : quantile_[j] + (cell - j) * (quantile_[j + 1] - quantile_[j]);
    const auto t = static_cast<std::uint32_t>(x * n);
    return t < lo ? lo : (t >= hi ? hi - 1 : t);
  }

 private:
  static constexpr std::uint32_t kCells = 4096;
  std::vector<double> cdf_;       // F(i / kCells), i = 0..kCells
  std::vector<double> quantile_;  // F^-1(j / kCells), j = 0..kCells
};

}  // namespace kvsweep::trace::detail
