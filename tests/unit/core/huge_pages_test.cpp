#include "kvsweep/core/huge_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace kvsweep::core {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A freed block's memory is kept and taken by the next block that fits, of the same size or smaller;
// freed neighbours join, so two freed blocks serve one that needs both; release_huge_blocks() returns
// every region no block uses.
TEST(HugePages, FreedMemoryServesTheNextBlockThatFits) {
  release_huge_blocks();
  ASSERT_EQ(kept_huge_bytes(), 0U);
  const void* first = nullptr;
  {
    HugeVector<std::uint64_t> a(3 * kMiB / 8, 7);
    first = a.data();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % (2 * kMiB), 0U) << "2 MiB-aligned";
  }
  EXPECT_EQ(kept_huge_bytes(), 4 * kMiB) << "3 MiB rounded up to whole huge pages";
  {
    HugeVector<std::uint64_t> b(3 * kMiB / 8, 0);
    EXPECT_EQ(b.data(), first);
    EXPECT_EQ(b.front(), 0U) << "the vector still initialises what it is given";
    EXPECT_EQ(kept_huge_bytes(), 0U);
  }
  {
    HugeVector<std::uint64_t> smaller(2 * kMiB / 8);
    EXPECT_EQ(smaller.data(), first) << "a smaller block takes the front of the kept range";
    EXPECT_EQ(kept_huge_bytes(), 2 * kMiB);
    HugeVector<std::uint64_t> rest(2 * kMiB / 8);
    EXPECT_EQ(static_cast<const void*>(rest.data()), static_cast<const char*>(first) + 2 * kMiB);
    EXPECT_EQ(kept_huge_bytes(), 0U);
  }
  EXPECT_EQ(kept_huge_bytes(), 4 * kMiB) << "the two halves joined again";
  {
    HugeVector<std::uint64_t> whole(4 * kMiB / 8);
    EXPECT_EQ(whole.data(), first);
    HugeVector<std::uint64_t> larger(6 * kMiB / 8);  // nothing kept fits: fresh memory
    EXPECT_NE(larger.data(), first);
  }
  EXPECT_EQ(kept_huge_bytes(), 10 * kMiB);
  release_huge_blocks();
  EXPECT_EQ(kept_huge_bytes(), 0U);
}

TEST(HugePages, SmallArraysUseTheOrdinaryHeap) {
  release_huge_blocks();
  { HugeVector<std::uint64_t> small(1000, 1); }
  EXPECT_EQ(kept_huge_bytes(), 0U);
}

}  // namespace
}  // namespace kvsweep::core
