#include "kvsweep/core/masked_lanes.hpp"

#include <bit>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kvsweep::core {

namespace {

template <class Lane>
void assign_scalar(Lane* dst, const Word* mask, std::size_t words, Lane value) {
  for (std::size_t i = 0; i < words; ++i) {
    for (Word x = mask[i]; x != 0; x &= x - 1) dst[i * kWordBits + static_cast<std::size_t>(std::countr_zero(x))] = value;
  }
}

void increment_scalar(std::uint32_t* dst, const Word* a, const Word* b, std::size_t words) {
  for (std::size_t i = 0; i < words; ++i) {
    for (Word x = a[i] & b[i]; x != 0; x &= x - 1) ++dst[i * kWordBits + static_cast<std::size_t>(std::countr_zero(x))];
  }
}

#if defined(__x86_64__)
// Masked stores touch only the selected lanes (masked-off lanes neither load nor fault), so arrays
// whose length is not a multiple of 64 are safe.
__attribute__((target("avx512f,avx512bw"))) void assign_avx512(std::uint16_t* dst, const Word* mask, std::size_t words,
                                                               std::uint16_t value) {
  const __m512i v = _mm512_set1_epi16(static_cast<short>(value));
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    _mm512_mask_storeu_epi16(dst + i * kWordBits, static_cast<__mmask32>(m), v);
    _mm512_mask_storeu_epi16(dst + i * kWordBits + 32, static_cast<__mmask32>(m >> 32), v);
  }
}

__attribute__((target("avx512f"))) void assign_avx512(std::uint32_t* dst, const Word* mask, std::size_t words,
                                                      std::uint32_t value) {
  const __m512i v = _mm512_set1_epi32(static_cast<int>(value));
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    for (int q = 0; q < 4; ++q) {
      _mm512_mask_storeu_epi32(dst + i * kWordBits + 16 * q, static_cast<__mmask16>(m >> (16 * q)), v);
    }
  }
}

__attribute__((target("avx512f"))) void increment_avx512(std::uint32_t* dst, const Word* a, const Word* b,
                                                         std::size_t words) {
  const __m512i one = _mm512_set1_epi32(1);
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = a[i] & b[i];
    if (m == 0) continue;
    for (int q = 0; q < 4; ++q) {
      const auto k = static_cast<__mmask16>(m >> (16 * q));
      if (k == 0) continue;
      std::uint32_t* p = dst + i * kWordBits + 16 * q;
      const __m512i x = _mm512_maskz_loadu_epi32(k, p);
      _mm512_mask_storeu_epi32(p, k, _mm512_add_epi32(x, one));
    }
  }
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0;
  return yes;
}
#else
bool has_avx512() { return false; }
#endif

}  // namespace

void assign_where(std::uint16_t* dst, const Word* mask, std::size_t words, std::uint16_t value) {
#if defined(__x86_64__)
  if (has_avx512()) return assign_avx512(dst, mask, words, value);
#endif
  assign_scalar(dst, mask, words, value);
}

void assign_where(std::uint32_t* dst, const Word* mask, std::size_t words, std::uint32_t value) {
#if defined(__x86_64__)
  if (has_avx512()) return assign_avx512(dst, mask, words, value);
#endif
  assign_scalar(dst, mask, words, value);
}

void increment_where(std::uint32_t* dst, const Word* a, const Word* b, std::size_t words) {
#if defined(__x86_64__)
  if (has_avx512()) return increment_avx512(dst, a, b, words);
#endif
  increment_scalar(dst, a, b, words);
}

const char* masked_lanes_kernel() { return has_avx512() ? "avx512" : "scalar"; }

}  // namespace kvsweep::core
