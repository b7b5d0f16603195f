#pragma once
// A fixed-capacity bitset over token positions. The hot loops of kvsweep (trace generation, the cost
// judge, every policy) work on 64-token words of these, never on single tokens where it can be helped.

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kvsweep::core {

using Word = std::uint64_t;
inline constexpr std::uint32_t kWordBits = 64;

constexpr std::size_t words_for(std::size_t bits) { return (bits + kWordBits - 1) / kWordBits; }

class TokenBitset {
 public:
  TokenBitset() = default;
  explicit TokenBitset(std::size_t capacity_bits)
      : capacity_(capacity_bits), words_(words_for(capacity_bits), 0) {}

  std::size_t capacity() const { return capacity_; }
  std::size_t word_count() const { return words_.size(); }
  Word* data() { return words_.data(); }
  const Word* data() const { return words_.data(); }
  std::span<Word> words() { return words_; }
  std::span<const Word> words() const { return words_; }

  bool test(std::size_t i) const {
    assert(i < capacity_);
    return (words_[i / kWordBits] >> (i % kWordBits)) & 1U;
  }
  void set(std::size_t i) {
    assert(i < capacity_);
    words_[i / kWordBits] |= Word{1} << (i % kWordBits);
  }
  void reset(std::size_t i) {
    assert(i < capacity_);
    words_[i / kWordBits] &= ~(Word{1} << (i % kWordBits));
  }
  void clear() { std::fill(words_.begin(), words_.end(), Word{0}); }

  // Sets / clears bits [begin, end).
  void set_range(std::size_t begin, std::size_t end);
  void reset_range(std::size_t begin, std::size_t end);
  // Number of set bits in [0, end_bit).
  std::size_t count_below(std::size_t end_bit) const;
  std::size_t count() const { return count_below(capacity_); }
  // Number of set bits in [begin, end).
  std::size_t count_range(std::size_t begin, std::size_t end) const;
  // Lowest set bit >= from, or capacity() when there is none.
  std::size_t find_next(std::size_t from) const;
  // Lowest clear bit >= from and < end, or end when there is none.
  std::size_t find_next_clear(std::size_t from, std::size_t end) const;

  // Calls f(i) for every set bit, ascending.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (Word x = words_[w]; x != 0; x &= x - 1) f(w * kWordBits + std::countr_zero(x));
    }
  }

  bool operator==(const TokenBitset& o) const = default;

 private:
  std::size_t capacity_ = 0;
  std::vector<Word> words_;
};

// Mask of the bits [lo, hi) within one word, 0 <= lo <= hi <= 64.
constexpr Word bit_mask(std::uint32_t lo, std::uint32_t hi) {
  const Word upper = hi >= kWordBits ? ~Word{0} : (Word{1} << hi) - 1;
  const Word lower = (Word{1} << lo) - 1;
  return upper & ~lower;
}

// Mask of the first `bits` bits of word `w` of a bitset whose bits >= `end_bit` must be ignored.
constexpr Word valid_mask(std::size_t w, std::size_t end_bit) {
  const std::size_t first = w * kWordBits;
  if (end_bit >= first + kWordBits) return ~Word{0};
  if (end_bit <= first) return 0;
  return bit_mask(0, static_cast<std::uint32_t>(end_bit - first));
}

}  // namespace kvsweep::core
