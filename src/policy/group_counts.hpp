#pragma once
// Set bits counted per group of g consecutive positions (a block, a page), one popcount per group's slice
// of a word: h2o scores blocks and page scores pages this way in a batch, never one bit at a time.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::policy {

// counts[j] += the set bits of group j, j < groups, where group j is bits [j * g, (j + 1) * g) counted
// from bit 0 of word w_begin and the bits are word_at(w) for w in [w_begin, w_end). g divides 64 or is a
// multiple of it (callers count other groups with TokenBitset::count_range).
template <class WordAt>
void add_group_counts(std::uint32_t* counts, std::size_t groups, std::uint32_t g, std::size_t w_begin,
                      std::size_t w_end, WordAt word_at) {
  if (g >= core::kWordBits) {
    const std::size_t per = g / core::kWordBits;  // words per group
    w_end = std::min(w_end, w_begin + groups * per);
    for (std::size_t w = w_begin; w < w_end; ++w) {
      const core::Word x = word_at(w);
      if (x != 0) counts[(w - w_begin) / per] += static_cast<std::uint32_t>(std::popcount(x));
    }
    return;
  }
  const std::size_t per = core::kWordBits / g;  // groups per word
  const core::Word slice = (core::Word{1} << g) - 1;
  for (std::size_t w = w_begin; w < w_end; ++w) {
    core::Word x = word_at(w);
    for (std::size_t j = (w - w_begin) * per; x != 0 && j < groups; ++j, x >>= g) {
      counts[j] += static_cast<std::uint32_t>(std::popcount(x & slice));
    }
  }
}

}  // namespace kvsweep::policy
