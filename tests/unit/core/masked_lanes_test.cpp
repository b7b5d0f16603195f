#include "kvsweep/core/masked_lanes.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {
namespace {

// Masks from empty to full at several densities, so that whole words, partial words and empty words
// all occur.
std::vector<Word> random_masks(Rng& rng, std::size_t words) {
  std::vector<Word> m(words);
  for (std::size_t i = 0; i < words; ++i) {
    switch (i % 4) {
      case 0: m[i] = 0; break;
      case 1: m[i] = ~Word{0}; break;
      case 2: m[i] = rng(); break;
      default: m[i] = rng() & rng() & rng(); break;
    }
  }
  return m;
}

template <class Lane>
void check_assign(std::size_t words) {
  Rng rng(11 + words);
  const std::vector<Word> mask = random_masks(rng, words);
  std::vector<Lane> got(words * kWordBits), want(words * kWordBits);
  for (std::size_t t = 0; t < got.size(); ++t) got[t] = want[t] = static_cast<Lane>(rng());
  const auto value = static_cast<Lane>(0xBEEF);
  assign_where(got.data(), mask.data(), words, value);
  for (std::size_t t = 0; t < want.size(); ++t) {
    if ((mask[t / kWordBits] >> (t % kWordBits)) & 1U) want[t] = value;
  }
  EXPECT_EQ(got, want) << masked_lanes_kernel() << ", " << sizeof(Lane) << "-byte lanes, " << words << " words";
}

TEST(MaskedLanes, AssignWhereSetsExactlyTheSelectedLanes) {
  for (const std::size_t words : {0, 1, 3, 17}) {
    check_assign<std::uint16_t>(words);
    check_assign<std::uint32_t>(words);
    check_assign<std::uint64_t>(words);
  }
}

// h2o's scores hold one lane per token, not a multiple of 64: lanes past the end are never touched
// (the vector is sized exactly, so a stray access would be caught by the sanitizer builds).
TEST(MaskedLanes, IncrementWhereCountsTheIntersectionAndStaysInBounds) {
  Rng rng(5);
  for (const std::size_t tokens : {1, 63, 64, 65, 1000}) {
    const std::size_t words = words_for(tokens);
    std::vector<Word> a = random_masks(rng, words), b = random_masks(rng, words);
    if (tokens % kWordBits != 0) {  // no bits beyond the last token, as in a TokenBitset
      a.back() &= (Word{1} << (tokens % kWordBits)) - 1;
    }
    std::vector<std::uint32_t> got(tokens, 7), want(tokens, 7);
    for (int round = 0; round < 3; ++round) {
      increment_where(got.data(), a.data(), b.data(), words);
      for (std::size_t t = 0; t < tokens; ++t) want[t] += static_cast<std::uint32_t>(((a[t / kWordBits] & b[t / kWordBits]) >> (t % kWordBits)) & 1U);
    }
    EXPECT_EQ(got, want) << masked_lanes_kernel() << ", " << tokens << " tokens";
  }
}

// ema's scores: doubles, sized exactly (one per block); the sums equal the scalar loop's to the bit.
TEST(MaskedLanes, AddWhereAddsToExactlyTheSelectedLanesAndStaysInBounds) {
  Rng rng(9);
  for (const std::size_t lanes : {1, 63, 64, 65, 1000}) {
    const std::size_t words = words_for(lanes);
    std::vector<Word> mask = random_masks(rng, words);
    if (lanes % kWordBits != 0) mask.back() &= (Word{1} << (lanes % kWordBits)) - 1;
    std::vector<double> got(lanes), want(lanes);
    for (std::size_t t = 0; t < lanes; ++t) got[t] = want[t] = static_cast<double>(rng() % 1000) / 7.0;
    for (const double value : {1.0, 0.1, 1e300}) {
      add_where(got.data(), mask.data(), words, value);
      for (std::size_t t = 0; t < lanes; ++t) {
        if ((mask[t / kWordBits] >> (t % kWordBits)) & 1U) want[t] += value;
      }
    }
    EXPECT_EQ(got, want) << masked_lanes_kernel() << ", " << lanes << " lanes";
  }
}

// The eviction's candidate masks: every lane compared, ties included, across the unsigned range.
TEST(MaskedLanes, AtMostMarksExactlyTheLanesAtOrBelowTheThreshold) {
  Rng rng(13);
  const std::size_t words = 5;
  std::vector<double> d(words * kWordBits);
  std::vector<std::uint64_t> u(words * kWordBits);
  std::vector<std::uint32_t> v(words * kWordBits);
  for (std::size_t t = 0; t < d.size(); ++t) {
    d[t] = static_cast<double>(rng() % 64) / 4.0;
    u[t] = t % 3 == 0 ? rng() : rng() % 64;  // large values too: the top bit set
    v[t] = static_cast<std::uint32_t>(u[t] >> (t % 3 == 0 ? 32 : 0));
  }
  for (const double t : {-1.0, 0.0, 3.25, 7.5, 100.0}) {
    std::vector<Word> got(words);
    at_most(d.data(), words, t, got.data());
    for (std::size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ((got[i / kWordBits] >> (i % kWordBits)) & 1U, d[i] <= t ? 1U : 0U) << masked_lanes_kernel() << " lane " << i << " t " << t;
    }
  }
  for (const std::uint64_t t : {std::uint64_t{0}, std::uint64_t{31}, Word{1} << 63, ~Word{0}}) {
    std::vector<Word> got(words);
    at_most(u.data(), words, t, got.data());
    for (std::size_t i = 0; i < u.size(); ++i) {
      EXPECT_EQ((got[i / kWordBits] >> (i % kWordBits)) & 1U, u[i] <= t ? 1U : 0U) << masked_lanes_kernel() << " lane " << i << " t " << t;
    }
  }
  for (const std::uint32_t t : {0U, 31U, 1U << 31, ~0U}) {
    std::vector<Word> got(words);
    at_most(v.data(), words, t, got.data());
    for (std::size_t i = 0; i < v.size(); ++i) {
      EXPECT_EQ((got[i / kWordBits] >> (i % kWordBits)) & 1U, v[i] <= t ? 1U : 0U) << masked_lanes_kernel() << " lane " << i << " t " << t;
    }
  }
  // at_most_in: only the lanes the mask selects, and words of an empty mask (one of them) give 0.
  const std::vector<Word> mask = {rng(), 0, rng() & rng(), ~Word{0}, Word{1} << 63};
  for (const double t : {-1.0, 3.25, 100.0}) {
    std::vector<Word> got(words, ~Word{0});
    at_most_in(d.data(), mask.data(), words, t, got.data());
    for (std::size_t i = 0; i < d.size(); ++i) {
      const bool in = (mask[i / kWordBits] >> (i % kWordBits)) & 1U;
      EXPECT_EQ((got[i / kWordBits] >> (i % kWordBits)) & 1U, in && d[i] <= t ? 1U : 0U) << masked_lanes_kernel() << " lane " << i << " t " << t;
    }
  }
  for (const std::uint32_t t : {0U, 31U, ~0U}) {
    std::vector<Word> got(words, ~Word{0});
    at_most_in(v.data(), mask.data(), words, t, got.data());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const bool in = (mask[i / kWordBits] >> (i % kWordBits)) & 1U;
      EXPECT_EQ((got[i / kWordBits] >> (i % kWordBits)) & 1U, in && v[i] <= t ? 1U : 0U) << masked_lanes_kernel() << " lane " << i << " t " << t;
    }
  }
}

}  // namespace
}  // namespace kvsweep::core
