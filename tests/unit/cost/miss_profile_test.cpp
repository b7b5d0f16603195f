// The miss profile: reuse-distance classes, and a hand-worked schedule counted read by read.
#include "kvsweep/cost/miss_profile.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace kvsweep::cost {
namespace {

TEST(MissProfile, ReuseDistanceClassesArePowersOfFour) {
  const std::vector<std::pair<std::uint32_t, std::size_t>> cases = {
      {0, 0}, {1, 1}, {2, 2}, {4, 2}, {5, 3}, {16, 3}, {17, 4}, {64, 4}, {65, 5}, {256, 5}, {257, 6}, {1U << 30, 6}};
  for (const auto& [d, c] : cases) EXPECT_EQ(MissProfile::class_of(d), c) << "d = " << d;
}

// One layer, P = 4. R(3) = {0, 1}; S(4) = {0, 2}, R(4) = {0, 2}; S(5) = {2, 3}, R(5) = {2, 3};
// S(6) = {0}, R(6) = {0}. A hit is a read held in R(n - 1): 0 at n = 4 and 2 at n = 5.
TEST(MissProfile, CountsReadsAndMissesByTheStepsSinceTheLastRead) {
  MissProfiler p(1, 8, 4);
  const auto bits = [](std::initializer_list<std::size_t> t) {
    core::TokenBitset b(8);
    for (const std::size_t x : t) b.set(x);
    return b;
  };
  const auto state = [&](std::initializer_list<std::size_t> t) {
    Residency r(1, 8);
    r.layer(0) = bits(t);
    return r;
  };
  p.observe(3, state({0, 1}), {});
  std::vector<core::TokenBitset> s{bits({0, 2})};
  p.observe(4, state({0, 2}), s);
  s[0] = bits({2, 3});
  p.observe(5, state({2, 3}), s);
  s[0] = bits({0});
  p.observe(6, state({0}), s);
  const MissProfile& m = p.profile();
  // reads: 0@4, 2@4, 3@5 first reads; 2@5 one step after its last; 0@6 two steps after.
  EXPECT_EQ(m.reads[0], 3U);
  EXPECT_EQ(m.reads[1], 1U);
  EXPECT_EQ(m.reads[2], 1U);
  // misses: 2@4 and 3@5 (first reads not held), 0@6 (held at 4, evicted at 5).
  EXPECT_EQ(m.misses[0], 2U);
  EXPECT_EQ(m.misses[1], 0U);
  EXPECT_EQ(m.misses[2], 1U);
  for (std::size_t c = 3; c < MissProfile::kClasses; ++c) EXPECT_EQ(m.reads[c] + m.misses[c], 0U);
}

}  // namespace
}  // namespace kvsweep::cost
