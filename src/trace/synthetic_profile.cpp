// The position profile of fresh spans: a probit read probability in relative position, mixed with a
// uniform share, tabulated once per source.
#include "synthetic_profile.hpp"

#include <algorithm>
#include <cmath>

namespace kvsweep::trace::detail {

namespace {

double phi_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double phi_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }
// An antiderivative of Phi: d/dz (z Phi(z) + phi(z)) = Phi(z).
double phi_integral(double z) { return z * phi_cdf(z) + phi_pdf(z); }

// Mean of Phi(a x - theta) over x in [0, 1): the read share a threshold theta keeps.
double kept_share(double a, double theta) { return (phi_integral(a - theta) - phi_integral(-theta)) / a; }

}  // namespace

PositionProfile::PositionProfile(double recency_slope, double uniform_share, double sparsity) {
  const double keep = 1.0 - sparsity;
  if (!(recency_slope > 0) || !(keep < 1) || !(uniform_share < 1)) return;  // uniform
  const double a = recency_slope;
  // kept_share falls with theta; bracket it wide enough for any keep in (0, 1).
  double lo = -a - 40, hi = a + 40;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (kept_share(a, mid) > keep ? lo : hi) = mid;
  }
  const double theta = 0.5 * (lo + hi);
  const double u = uniform_share;
  // The CDF of the mixture in closed form, normalised to F(1) = 1.
  auto raw = [&](double x) {
    return u * x + (1 - u) * (phi_integral(a * x - theta) - phi_integral(-theta)) / (a * keep);
  };
  const double total = raw(1.0);
  cdf_.resize(kCells + 1);
  for (std::uint32_t i = 0; i <= kCells; ++i) cdf_[i] = raw(static_cast<double>(i) / kCells) / total;
  cdf_[kCells] = 1.0;
  // Invert on the same grid: F is increasing (its density is > 0 everywhere), so a merge suffices.
  quantile_.resize(kCells + 1);
  std::uint32_t i = 0;
  for (std::uint32_t j = 0; j <= kCells; ++j) {
    const double q = static_cast<double>(j) / kCells;
    while (i + 1 < kCells && cdf_[i + 1] < q) ++i;
    const double span = cdf_[i + 1] - cdf_[i];
    const double frac = span > 0 ? std::clamp((q - cdf_[i]) / span, 0.0, 1.0) : 0.0;
    quantile_[j] = (i + frac) / kCells;
  }
}

double PositionProfile::cdf(std::uint32_t t, std::uint32_t n) const {
  const double cell = std::min(1.0, static_cast<double>(t) / n) * kCells;
  const auto i = static_cast<std::uint32_t>(cell);
  if (i >= kCells) return 1.0;
  return cdf_[i] + (cell - i) * (cdf_[i + 1] - cdf_[i]);
}

}  // namespace kvsweep::trace::detail
