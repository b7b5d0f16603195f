#pragma once
// Step stamps of LRU policies (reactive_lru, lru_hot): finding the blocks of a group that carry a stamp,
// 64 stamps at a time, for the monotone-frontier eviction (reactive_lru.cpp explains it).
#include <bit>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kvsweep/core/block_bits.hpp"

namespace kvsweep::policy {

using core::Word;
using core::kWordBits;

// Bit j set iff stamps[j] == tau, for the 64 stamps of one word (SSE2 compares where available).
template <class Stamp>
Word match_word(const Stamp* stamps, Stamp tau) {
#if defined(__SSE2__)
  Word m = 0;
  if constexpr (sizeof(Stamp) == 2) {
    const __m128i key = _mm_set1_epi16(static_cast<short>(tau));
    for (int q = 0; q < 4; ++q) {
      const auto* p = reinterpret_cast<const __m128i*>(stamps + 16 * q);
      const __m128i a = _mm_cmpeq_epi16(_mm_loadu_si128(p), key);
      const __m128i b = _mm_cmpeq_epi16(_mm_loadu_si128(p + 1), key);
      m |= Word{static_cast<unsigned>(_mm_movemask_epi8(_mm_packs_epi16(a, b)))} << (16 * q);
    }
  } else {
    const __m128i key = _mm_set1_epi32(static_cast<int>(tau));
    for (int q = 0; q < 4; ++q) {
      const auto* p = reinterpret_cast<const __m128i*>(stamps + 16 * q);
      const __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128(p), key);
      const __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), key);
      const __m128i c = _mm_cmpeq_epi32(_mm_loadu_si128(p + 2), key);
      const __m128i d = _mm_cmpeq_epi32(_mm_loadu_si128(p + 3), key);
      const __m128i packed = _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
      m |= Word{static_cast<unsigned>(_mm_movemask_epi8(packed))} << (16 * q);
    }
  }
  return m;
#else
  Word m = 0;
  for (std::uint32_t j = 0; j < kWordBits; ++j) m |= Word{stamps[j] == tau} << j;
  return m;
#endif
}

// Start bits of group g's blocks whose stamp (ts[position / k]) is tau.
template <class Stamp>
Word stamped(const core::BlockWords& blocks, const Stamp* ts, std::size_t g, Stamp tau) {
  const std::uint32_t k = blocks.k();
  if (k == 1) return match_word(ts + g * kWordBits, tau);
  const Stamp* at = ts + blocks.position(g, 0) / k;
  if (blocks.per() > 1) return Word{at[0] == tau};
  Word m = 0;
  for (std::uint32_t i = 0; i < kWordBits / k; ++i) m |= Word{at[i] == tau} << (i * k);
  return m;
}

// ts[block] = stamp for every block of group g whose start bit is set in `starts` (k >= 2).
template <class Stamp>
void stamp_blocks(const core::BlockWords& blocks, Stamp* ts, std::size_t g, Word starts, Stamp stamp) {
  const std::uint32_t k = blocks.k();
  Stamp* at = ts + blocks.position(g, 0) / k;
  for (; starts != 0; starts &= starts - 1) at[static_cast<std::uint32_t>(std::countr_zero(starts)) / k] = stamp;
}

// The lowest `count` set bits of `victims` (all of them when it has no more).
inline Word lowest_bits(Word victims, std::uint64_t count) {
  if (static_cast<std::uint64_t>(std::popcount(victims)) <= count) return victims;
  Word lowest = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    lowest |= victims & (~victims + 1);
    victims &= victims - 1;
  }
  return lowest;
}

}  // namespace kvsweep::policy
