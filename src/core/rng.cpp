#include "kvsweep/core/rng.hpp"

#include <cmath>

namespace kvsweep::core {

std::uint64_t Rng::geometric(double mean) {
  if (mean <= 1.0) return 1;
  const double p = 1.0 / mean;
  const double u = 1.0 - uniform();  // (0, 1]
  const double k = std::floor(std::log(u) / std::log1p(-p)) + 1.0;
  return k > 1e18 ? static_cast<std::uint64_t>(1e18) : static_cast<std::uint64_t>(k);
}

}  // namespace kvsweep::core
