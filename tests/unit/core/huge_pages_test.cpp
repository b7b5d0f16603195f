#include "kvsweep/core/huge_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace kvsweep::core {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A freed block is kept for the next array of the same size, whose storage is then the same memory;
// an array of another size returns the kept blocks first; release_huge_blocks() returns them all.
TEST(HugePages, KeepsFreedBlocksForTheSameSizeOnly) {
  release_huge_blocks();
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
  EXPECT_EQ(kept_huge_bytes(), 4 * kMiB);
  {
    HugeVector<std::uint64_t> c(5 * kMiB / 8);
    EXPECT_EQ(kept_huge_bytes(), 0U) << "a different size returns the kept block";
  }
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
