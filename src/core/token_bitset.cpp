#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

void TokenBitset::set_range(std::size_t begin, std::size_t end) {
  assert(begin <= end && end <= capacity_);
  if (begin >= end) return;
  std::size_t wb = begin / kWordBits, we = (end - 1) / kWordBits;
  const auto lo = static_cast<std::uint32_t>(begin % kWordBits);
  const auto hi = static_cast<std::uint32_t>((end - 1) % kWordBits + 1);
  if (wb == we) {
    words_[wb] |= bit_mask(lo, hi);
    return;
  }
  words_[wb] |= bit_mask(lo, kWordBits);
  for (std::size_t w = wb + 1; w < we; ++w) words_[w] = ~Word{0};
  words_[we] |= bit_mask(0, hi);
}

void TokenBitset::reset_range(std::size_t begin, std::size_t end) {
  assert(begin <= end && end <= capacity_);
  if (begin >= end) return;
  std::size_t wb = begin / kWordBits, we = (end - 1) / kWordBits;
  const auto lo = static_cast<std::uint32_t>(begin % kWordBits);
  const auto hi = static_cast<std::uint32_t>((end - 1) % kWordBits + 1);
  if (wb == we) {
    words_[wb] &= ~bit_mask(lo, hi);
    return;
  }
  words_[wb] &= ~bit_mask(lo, kWordBits);
  for (std::size_t w = wb + 1; w < we; ++w) words_[w] = 0;
  words_[we] &= ~bit_mask(0, hi);
}

std::size_t TokenBitset::count_below(std::size_t end_bit) const {
  if (end_bit > capacity_) end_bit = capacity_;
  std::size_t total = 0;
  const std::size_t full = end_bit / kWordBits;
  for (std::size_t w = 0; w < full; ++w) total += static_cast<std::size_t>(std::popcount(words_[w]));
  if (end_bit % kWordBits != 0) {
    total += static_cast<std::size_t>(
        std::popcount(words_[full] & bit_mask(0, static_cast<std::uint32_t>(end_bit % kWordBits))));
  }
  return total;
}

std::size_t TokenBitset::count_range(std::size_t begin, std::size_t end) const {
  if (end > capacity_) end = capacity_;
  if (begin >= end) return 0;
  const std::size_t wb = begin / kWordBits, we = (end - 1) / kWordBits;
  const auto lo = static_cast<std::uint32_t>(begin % kWordBits);
  const auto hi = static_cast<std::uint32_t>((end - 1) % kWordBits + 1);
  if (wb == we) return static_cast<std::size_t>(std::popcount(words_[wb] & bit_mask(lo, hi)));
  std::size_t total = static_cast<std::size_t>(std::popcount(words_[wb] & bit_mask(lo, kWordBits)));
  for (std::size_t w = wb + 1; w < we; ++w) total += static_cast<std::size_t>(std::popcount(words_[w]));
  return total + static_cast<std::size_t>(std::popcount(words_[we] & bit_mask(0, hi)));
}

std::size_t TokenBitset::find_next(std::size_t from) const {
  if (from >= capacity_) return capacity_;
  std::size_t w = from / kWordBits;
  Word x = words_[w] & ~bit_mask(0, static_cast<std::uint32_t>(from % kWordBits));
  while (true) {
    if (x != 0) {
      const std::size_t i = w * kWordBits + std::countr_zero(x);
      return i < capacity_ ? i : capacity_;
    }
    if (++w >= words_.size()) return capacity_;
    x = words_[w];
  }
}

std::size_t TokenBitset::find_next_clear(std::size_t from, std::size_t end) const {
  if (from >= end) return end;
  std::size_t w = from / kWordBits;
  Word x = ~words_[w] & ~bit_mask(0, static_cast<std::uint32_t>(from % kWordBits));
  while (true) {
    if (x != 0) {
      const std::size_t i = w * kWordBits + std::countr_zero(x);
      return i < end ? i : end;
    }
    if (++w >= words_.size() || w * kWordBits >= end) return end;
    x = ~words_[w];
  }
}

}  // namespace kvsweep::core
