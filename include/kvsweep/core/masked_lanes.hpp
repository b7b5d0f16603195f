#pragma once
// Per-token counters driven by bitsets: bit j of mask word i selects lane i * 64 + j of a counter array.
// The policies keep one counter per token (reactive_lru's last-use stamps, h2o's accumulated scores)
// and update the ones a step reads; one masked vector store per 8-32 lanes (AVX-512 or AVX2, chosen at
// run time) instead of one scalar store per set bit, which at 40 % read density was most of their time.
// Every kernel gives the same array as the scalar loop.

#include <cstddef>
#include <cstdint>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

// dst[i * 64 + j] = value for every set bit j of mask[i], i < words. The 16-bit form needs 64 lanes
// per word in dst (AVX2 rewrites unselected lanes of a 16-lane slice with their own value).
void assign_where(std::uint16_t* dst, const Word* mask, std::size_t words, std::uint16_t value);
void assign_where(std::uint32_t* dst, const Word* mask, std::size_t words, std::uint32_t value);
void assign_where(std::uint64_t* dst, const Word* mask, std::size_t words, std::uint64_t value);

// ++dst[i * 64 + j] for every set bit j of (a[i] & b[i]), i < words.
void increment_where(std::uint32_t* dst, const Word* a, const Word* b, std::size_t words);

// dst[i * 64 + j] += value for every set bit j of mask[i], i < words (lanes past the last set bit untouched).
void add_where(double* dst, const Word* mask, std::size_t words, double value);

// out[i] bit j = (lanes[i * 64 + j] <= t), i < words (64 lanes per word are read: pad the array). The
// online policies' eviction finds its candidates with these (a NaN lane is never at most t).
void at_most(const double* lanes, std::size_t words, double t, Word* out);
void at_most(const std::uint64_t* lanes, std::size_t words, std::uint64_t t, Word* out);
void at_most(const std::uint32_t* lanes, std::size_t words, std::uint32_t t, Word* out);
// The same restricted to the lanes `mask` selects (out[i] = at_most's word & mask[i]); the lanes of words
// whose mask is 0 are not read (sparse masks: a small HBM's held units among a batch's).
void at_most_in(const double* lanes, const Word* mask, std::size_t words, double t, Word* out);
void at_most_in(const std::uint32_t* lanes, const Word* mask, std::size_t words, std::uint32_t t, Word* out);

// The widest kernel in use: "avx512", "avx2" or "scalar" (for the benchmarks' labels). add_where and
// at_most have AVX2 kernels only: on an AVX-512 machine they run those.
const char* masked_lanes_kernel();

}  // namespace kvsweep::core
