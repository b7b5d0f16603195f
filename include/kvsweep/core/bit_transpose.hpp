#pragma once
// 64 x 64 bit-matrix transposes, the turn between the step-major bitsets the trace and the policies
// use and the entry-major words of the token-level oracle (bit k of an entry's word: step or state k).
// GFNI byte-matrix transposes where the CPU has AVX-512 VBMI and GFNI (chosen at run time), the
// recursive block swap (Hacker's Delight 7-3) in general-purpose registers elsewhere; the same result.

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::core {

// out[j] bit i = in[i] bit j, for i, j < 64. in and out may not overlap.
void transpose64(const Word* in, Word* out);

// The kernel in use: "avx512-gfni" or "scalar".
const char* bit_transpose_kernel();

// For tests: force the scalar kernel (true) or restore the automatic choice (false).
void force_scalar_bit_transpose(bool scalar);

}  // namespace kvsweep::core
