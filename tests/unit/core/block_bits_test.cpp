// core::BlockWords finds a word's touched blocks with a carry instead of fold_blocks' shifts: the same
// start bits for every block length up to a word, on random, empty, full and one-bit words.
#include "kvsweep/core/block_bits.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {
namespace {

TEST(BlockWords, TouchedIsTheFoldOfEveryBlock) {
  Rng rng(7);
  std::vector<Word> words = {0, ~Word{0}, Word{1} << 63};
  for (int b = 0; b < 64; ++b) words.push_back(Word{1} << b);
  for (int i = 0; i < 2000; ++i) words.push_back(rng() & (i % 2 == 0 ? rng() & rng() : ~Word{0}));
  for (std::uint32_t k = 1; k <= kWordBits; k *= 2) {
    const BlockWords blocks(k);
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      const Word want = fold_blocks(words[i], k) & block_starts(k);
      ASSERT_EQ(blocks.touched(&words[i], 0, 1), want) << "k " << k << " word " << words[i];
      ASSERT_EQ(blocks.touched_and_not(&words[i], &words[i + 1], 0, 1), fold_blocks(words[i] & ~words[i + 1], k) & block_starts(k))
          << "k " << k;
    }
  }
}

}  // namespace
}  // namespace kvsweep::core
