#pragma once
// Blocks of k tokens (k a power of two) over a bitset of token positions, as the batch layout aligns
// them (trace::TraceShape: segments start on multiples of max(64, k)), so a block never straddles two
// sequences and, for k <= 64, never two words. A block is named by its start bit: for k <= 64, bits
// j * k of a word; for k > 64, bit 0 of its first word (k / 64 words per block). The judge, which
// checks that blocks are held whole, and the policies that place blocks share these.

#include <cstddef>
#include <cstdint>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

// Bit g * k of the result is set iff any of bits g * k .. g * k + k - 1 of x is (k <= 64; the other
// bits are garbage: mask with block_starts(k)).
inline Word fold_blocks(Word x, std::uint32_t k) {
  for (std::uint32_t s = 1; s < k; s <<= 1) x |= x >> s;
  return x;
}

// The start bits of a word's blocks (k <= 64; bit 0 for k > 64).
inline Word block_starts(std::uint32_t k) {
  if (k >= kWordBits) return 1;
  Word m = 0;
  for (std::uint32_t i = 0; i < kWordBits; i += k) m |= Word{1} << i;
  return m;
}

// Per-word view of blocks of k tokens: a "group" is one word for k <= 64 (64 / k blocks) or the k / 64
// words of one block.
class BlockWords {
 public:
  static constexpr bool kBlocks = true;
  explicit BlockWords(std::uint32_t k)
      : k_(k), per_(k > kWordBits ? k / kWordBits : 1), starts_(block_starts(k)),
        ones_(k >= kWordBits ? ~Word{0} : (Word{1} << k) - 1), tops_(k >= kWordBits ? Word{1} << 63 : starts_ << (k - 1)) {}

  std::uint32_t k() const { return k_; }
  // Words per group, and the groups of a bitset of `words` words.
  std::size_t per() const { return per_; }
  std::size_t groups(std::size_t words) const { return (words + per_ - 1) / per_; }
  std::size_t first_word(std::size_t g) const { return g * per_; }
  std::size_t last_word(std::size_t g, std::size_t words) const { return g * per_ + per_ < words ? g * per_ + per_ : words; }

  // The start bits of group g's blocks that hold any bit of x.
  Word touched(const Word* x, std::size_t g, std::size_t words) const {
    if (per_ == 1) return any_in_blocks(x[g]);
    Word any = 0;
    for (std::size_t w = first_word(g); w < last_word(g, words); ++w) any |= x[w];
    return any != 0 ? 1 : 0;
  }
  // The start bits of group g's blocks that hold any bit of a & ~b.
  Word touched_and_not(const Word* a, const Word* b, std::size_t g, std::size_t words) const {
    if (per_ == 1) return any_in_blocks(a[g] & ~b[g]);
    Word any = 0;
    for (std::size_t w = first_word(g); w < last_word(g, words); ++w) any |= a[w] & ~b[w];
    return any != 0 ? 1 : 0;
  }
  // Word w of group g with every bit of the blocks named by `starts` set (group g's words, k > 64: all).
  Word spread(Word starts) const { return per_ == 1 ? starts * ones_ : (starts != 0 ? ~Word{0} : 0); }
  // Position of the block start bit `bit` of group g.
  std::size_t position(std::size_t g, std::uint32_t bit) const { return g * per_ * kWordBits + bit; }

 private:
  // fold_blocks(x, k) & starts_ (k <= 64) in five operations whatever k: a block's bits below its top
  // bit, plus all ones there, carry into the top bit iff any is set (never beyond the block).
  Word any_in_blocks(Word x) const { return ((((x & ~tops_) + ~tops_) | x) & tops_) >> (k_ - 1); }

  std::uint32_t k_;
  std::size_t per_;
  Word starts_;
  Word ones_;
  Word tops_;  // the top bit of each block of a word (k <= 64)
};

// The same interface for single tokens (k = 1, a group is a word, bits are their own blocks): a policy
// templated on it compiles its lone-sequence path to plain word operations.
struct TokenWords {
  static constexpr bool kBlocks = false;
  std::uint32_t k() const { return 1; }
  std::size_t per() const { return 1; }
  std::size_t groups(std::size_t words) const { return words; }
  std::size_t first_word(std::size_t g) const { return g; }
  std::size_t last_word(std::size_t g, std::size_t) const { return g + 1; }
  Word touched(const Word* x, std::size_t g, std::size_t) const { return x[g]; }
  Word touched_and_not(const Word* a, const Word* b, std::size_t g, std::size_t) const { return a[g] & ~b[g]; }
  Word spread(Word starts) const { return starts; }
  std::size_t position(std::size_t g, std::uint32_t bit) const { return g * kWordBits + bit; }
};

}  // namespace kvsweep::core
