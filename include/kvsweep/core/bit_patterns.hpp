#pragma once
// The look-ahead patterns of candidate tokens, classified through a table: for K bitset rows over the
// same tokens, token t's pattern has bit k set when row k holds t. sa_guided ranks its candidates by
// the class of their future-read pattern; building the patterns is a bit-matrix transpose (64 tokens
// x K rows per word), done with GFNI byte-matrix transposes, gathers and compressing stores on CPUs
// that have AVX-512 VBMI and GFNI (chosen at run time), with 8x8 transposes in general-purpose
// registers elsewhere. Every kernel gives the same results.

#include <cstddef>
#include <cstdint>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

// The largest K the kernels accept.
inline constexpr std::uint32_t kMaxPatternRows = 24;
inline constexpr std::size_t kDenseSlack = 16;

// The classes of the candidates (set bits of cand[i], i < words) in token order:
//   dense[j] = class_of[p] for the j-th candidate t, p = sum over k < row_count of (bit t of rows[k]) << k.
// Returns the number of candidates. class_of has 2^row_count entries; dense has room for 64 * words
// + kDenseSlack entries (the vector kernel stores 16 lanes at a time past the last candidate).
// 1 <= row_count <= kMaxPatternRows.
std::size_t classify_patterns(const Word* const* rows, std::uint32_t row_count, const Word* cand,
                              std::size_t words, const std::uint32_t* class_of, std::uint32_t* dense);

// With dense as classify_patterns left it: per word i < words, the candidates whose class >> shift is
// below `cut` (below[i]) and equal to it (at[i]).
void split_at_class(const std::uint32_t* dense, const Word* cand, std::size_t words, std::uint32_t shift,
                    std::uint32_t cut, Word* below, Word* at);

// The kernel in use: "avx512-gfni" or "scalar" (for the benchmarks' labels).
const char* bit_patterns_kernel();

// For tests: force the scalar kernel (true) or restore the automatic choice (false).
void force_scalar_bit_patterns(bool scalar);

}  // namespace kvsweep::core
