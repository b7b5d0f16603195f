#include "kvsweep/core/bit_transpose.hpp"

#include <atomic>
#include <cstring>
#include "gfni.hpp"

namespace kvsweep::core {

namespace {

// Swaps the off-diagonal blocks of every 2j x 2j block on the diagonal, for j = 32, 16, ..., 1: row k's
// upper j columns of a block trade places with row k + j's lower ones.
void transpose_scalar(const Word* in, Word* out) {
  std::memcpy(out, in, 64 * sizeof(Word));
  Word m = 0x00000000FFFFFFFFULL;
  for (unsigned j = 32; j != 0; j >>= 1, m ^= m << j) {
    for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const Word t = ((out[k] >> j) ^ out[k | j]) & m;
      out[k] ^= t << j;
      out[k | j] ^= t;
    }
  }
}

#if defined(__x86_64__)
// Eight rows at a time (register I holds rows 8I..8I+7): gfni::transpose_blocks turns them so that
// qword J of register I holds byte I of output rows 8J..8J+7 (byte b: row 8J + b). Qword J of
// the eight registers gathered side by side then holds output rows 8J..8J+7 byte-transposed; one more
// VPERMB puts them in order.
__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) void transpose_gfni(const Word* in, Word* out) {
  alignas(64) static constexpr std::uint8_t kBytes8x8[64] = {
      0, 8,  16, 24, 32, 40, 48, 56, 1, 9,  17, 25, 33, 41, 49, 57, 2, 10, 18, 26, 34, 42,
      50, 58, 3, 11, 19, 27, 35, 43, 51, 59, 4, 12, 20, 28, 36, 44, 52, 60, 5, 13, 21, 29,
      37, 45, 53, 61, 6, 14, 22, 30, 38, 46, 54, 62, 7, 15, 23, 31, 39, 47, 55, 63};
  const __m512i bytes8x8 = _mm512_load_si512(kBytes8x8);
  alignas(64) Word z[8][8];  // z[I][J]: qword J of register I
  for (int i = 0; i < 8; ++i) {
    _mm512_store_si512(z[i], gfni::transpose_blocks(_mm512_loadu_si512(in + 8 * i)));
  }
  alignas(64) Word w[8][8];  // w[J][I] = z[I][J]
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) w[j][i] = z[i][j];
  }
  for (int j = 0; j < 8; ++j) {
    const __m512i v = _mm512_load_si512(w[j]);
    _mm512_storeu_si512(out + 8 * j, _mm512_maskz_permutexvar_epi8(~__mmask64{0}, bytes8x8, v));
  }
}

#endif

std::atomic<bool> forced_scalar{false};

bool use_gfni() {
#if defined(__x86_64__)
  return gfni::available() && !forced_scalar.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

}  // namespace

void transpose64(const Word* in, Word* out) {
#if defined(__x86_64__)
  if (use_gfni()) return transpose_gfni(in, out);
#endif
  transpose_scalar(in, out);
}

const char* bit_transpose_kernel() { return use_gfni() ? "avx512-gfni" : "scalar"; }

void force_scalar_bit_transpose(bool scalar) { forced_scalar.store(scalar, std::memory_order_relaxed); }

}  // namespace kvsweep::core
