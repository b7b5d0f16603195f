#pragma once
// What the GFNI bit-matrix kernels (bit_patterns.cpp, bit_transpose.cpp) share: whether this CPU has
// them, and their common step.
#if defined(__x86_64__)
#include <immintrin.h>

namespace kvsweep::core::gfni {

// AVX-512 F, BW and VBMI, GFNI and BMI2 (checked once).
bool available();

// Eight 64-bit rows (qword r = row r) in, and out: qword J, byte b holds bit 8J + b of the eight rows
// (bit r: row r). One VPERMB puts byte J of row r into byte 7 - r of qword J, one GF2P8AFFINEQB with
// the unit bytes transposes each qword's 8x8 bit matrix.
__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) inline __m512i transpose_blocks(__m512i rows) {
  alignas(64) static constexpr unsigned char kRowsToQwords[64] = {
      56, 48, 40, 32, 24, 16, 8, 0, 57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2,
      59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 28, 20, 12, 4, 61, 53, 45, 37, 29, 21, 13, 5,
      62, 54, 46, 38, 30, 22, 14, 6, 63, 55, 47, 39, 31, 23, 15, 7};
  alignas(64) static constexpr unsigned char kUnits[64] = {
      1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
      1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
      1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  // The zero-masked forms keep GCC 12 from warning about _mm512_undefined (GCC bug 105593).
  const __m512i y = _mm512_maskz_permutexvar_epi8(~__mmask64{0}, _mm512_load_si512(kRowsToQwords), rows);
  return _mm512_gf2p8affine_epi64_epi8(_mm512_load_si512(kUnits), y, 0);
}

}  // namespace kvsweep::core::gfni
#endif
