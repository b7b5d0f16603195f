#include "kvsweep/core/fast_div.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {
namespace {

// Exact against the divide instruction on the edges (0, d - 1, d, multiples, 2^32 - 1) and on random
// numerators, for small, odd, power-of-two, oracle-shaped and huge divisors.
TEST(FastDivider, MatchesDivisionForEveryKindOfDivisor) {
  const std::vector<std::uint32_t> divisors = {1, 2, 3, 7, 64, 1000, 1024, 41538, 1u << 31, 0xFFFFFFFFu, 0x80000001u};
  Rng rng(3);
  for (const std::uint32_t d : divisors) {
    const FastDivider div(d);
    std::vector<std::uint32_t> numerators = {0, d - 1, d, 0xFFFFFFFFu, 0xFFFFFFFEu};
    if (d < 0x7FFFFFFFu) numerators.push_back(2 * d + 1);
    for (int k = 0; k < 100000; ++k) numerators.push_back(static_cast<std::uint32_t>(rng()));
    for (const std::uint32_t n : numerators) {
      ASSERT_EQ(div.quotient(n), n / d) << n << " / " << d;
      ASSERT_EQ(div.remainder(n), n % d) << n << " % " << d;
    }
  }
}

TEST(FastDivider, RefusesZero) { EXPECT_THROW(FastDivider(0), std::invalid_argument); }

}  // namespace
}  // namespace kvsweep::core
