#pragma once
// Per-token counters driven by bitsets: bit j of mask word i selects lane i * 64 + j of a counter array.
// The policies keep one counter per token (reactive_lru's last-use stamps, h2o's accumulated scores)
// and update the ones a step reads; one masked vector store per 16-32 lanes (AVX-512, chosen at run
// time) instead of one scalar store per set bit, which at 40 % read density was most of their time.
// Every kernel gives the same array as the scalar loop.

#include <cstddef>
#include <cstdint>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

// dst[i * 64 + j] = value for every set bit j of mask[i], i < words.
void assign_where(std::uint16_t* dst, const Word* mask, std::size_t words, std::uint16_t value);
void assign_where(std::uint32_t* dst, const Word* mask, std::size_t words, std::uint32_t value);

// ++dst[i * 64 + j] for every set bit j of (a[i] & b[i]), i < words.
void increment_where(std::uint32_t* dst, const Word* a, const Word* b, std::size_t words);

// The kernel in use: "avx512" or "scalar" (for the benchmarks' labels).
const char* masked_lanes_kernel();

}  // namespace kvsweep::core
