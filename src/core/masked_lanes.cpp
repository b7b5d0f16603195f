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

void add_scalar(double* dst, const Word* mask, std::size_t words, double value) {
  for (std::size_t i = 0; i < words; ++i) {
    for (Word x = mask[i]; x != 0; x &= x - 1) dst[i * kWordBits + static_cast<std::size_t>(std::countr_zero(x))] += value;
  }
}

template <class Lane>
void at_most_scalar(const Lane* lanes, std::size_t words, Lane t, Word* out) {
  for (std::size_t i = 0; i < words; ++i) {
    Word m = 0;
    for (std::size_t j = 0; j < kWordBits; ++j) m |= Word{lanes[i * kWordBits + j] <= t} << j;
    out[i] = m;
  }
}

template <class Lane>
void at_most_in_scalar(const Lane* lanes, const Word* mask, std::size_t words, Lane t, Word* out) {
  for (std::size_t i = 0; i < words; ++i) {
    Word m = 0;
    for (Word x = mask[i]; x != 0; x &= x - 1) {
      const auto j = static_cast<std::size_t>(std::countr_zero(x));
      m |= Word{lanes[i * kWordBits + j] <= t} << j;
    }
    out[i] = m;
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

// AVX2 has no 16-bit masked store: the 16-bit kernel blends whole vectors (it reads and writes all 64
// lanes of a word whose mask is not zero: dst holds 64 lanes per word, as every stamp array does). The
// 32- and 64-bit kernels use VPMASKMOV/VMASKMOVPD, which neither load nor fault on masked-off lanes.
// A lane's mask: bit i of the broadcast selector equals the lane's own bit.
__attribute__((target("avx2"))) void assign_avx2(std::uint16_t* dst, const Word* mask, std::size_t words,
                                                 std::uint16_t value) {
  const __m256i v = _mm256_set1_epi16(static_cast<short>(value));
  const __m256i bits = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
                                         static_cast<short>(0x8000));
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    for (int q = 0; q < 4; ++q) {
      const auto sel16 = static_cast<std::uint16_t>(m >> (16 * q));
      if (sel16 == 0) continue;
      auto* p = reinterpret_cast<__m256i*>(dst + i * kWordBits + 16 * q);
      const __m256i sel = _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16(static_cast<short>(sel16)), bits), bits);
      _mm256_storeu_si256(p, _mm256_blendv_epi8(_mm256_loadu_si256(p), v, sel));
    }
  }
}

__attribute__((target("avx2"))) __m256i lanes32(std::uint32_t byte) {
  const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(byte)), bits), bits);
}

__attribute__((target("avx2"))) void assign_avx2(std::uint32_t* dst, const Word* mask, std::size_t words,
                                                 std::uint32_t value) {
  const __m256i v = _mm256_set1_epi32(static_cast<int>(value));
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    for (int q = 0; q < 8; ++q) {
      const auto byte = static_cast<std::uint32_t>((m >> (8 * q)) & 0xFF);
      if (byte != 0) _mm256_maskstore_epi32(reinterpret_cast<int*>(dst + i * kWordBits + 8 * q), lanes32(byte), v);
    }
  }
}

__attribute__((target("avx2"))) void increment_avx2(std::uint32_t* dst, const Word* a, const Word* b,
                                                    std::size_t words) {
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = a[i] & b[i];
    if (m == 0) continue;
    for (int q = 0; q < 8; ++q) {
      const auto byte = static_cast<std::uint32_t>((m >> (8 * q)) & 0xFF);
      if (byte == 0) continue;
      auto* p = reinterpret_cast<int*>(dst + i * kWordBits + 8 * q);
      const __m256i sel = lanes32(byte);
      _mm256_maskstore_epi32(p, sel, _mm256_sub_epi32(_mm256_maskload_epi32(p, sel), sel));  // - (-1)
    }
  }
}

__attribute__((target("avx2"))) void add_avx2(double* dst, const Word* mask, std::size_t words, double value) {
  const __m256d v = _mm256_set1_pd(value);
  const __m256i bits = _mm256_setr_epi64x(1, 2, 4, 8);
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    for (int q = 0; q < 16; ++q) {
      const auto nibble = static_cast<long long>((m >> (4 * q)) & 0xF);
      if (nibble == 0) continue;
      double* p = dst + i * kWordBits + 4 * q;
      const __m256i sel = _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(nibble), bits), bits);
      _mm256_maskstore_pd(p, sel, _mm256_add_pd(_mm256_maskload_pd(p, sel), v));
    }
  }
}

__attribute__((target("avx2"))) void assign_avx2(std::uint64_t* dst, const Word* mask, std::size_t words,
                                                 std::uint64_t value) {
  const __m256i v = _mm256_set1_epi64x(static_cast<long long>(value));
  const __m256i bits = _mm256_setr_epi64x(1, 2, 4, 8);
  for (std::size_t i = 0; i < words; ++i) {
    const Word m = mask[i];
    if (m == 0) continue;
    for (int q = 0; q < 16; ++q) {
      const auto nibble = static_cast<long long>((m >> (4 * q)) & 0xF);
      if (nibble == 0) continue;
      const __m256i sel = _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x(nibble), bits), bits);
      _mm256_maskstore_epi64(reinterpret_cast<long long*>(dst + i * kWordBits + 4 * q), sel, v);
    }
  }
}

__attribute__((target("avx2"))) void at_most_avx2(const double* lanes, std::size_t words, double t, Word* out) {
  const __m256d v = _mm256_set1_pd(t);
  for (std::size_t i = 0; i < words; ++i) {
    Word m = 0;
    for (int q = 0; q < 16; ++q) {
      const __m256d x = _mm256_loadu_pd(lanes + i * kWordBits + 4 * q);
      m |= Word{static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(x, v, _CMP_LE_OQ)))} << (4 * q);
    }
    out[i] = m;
  }
}

// Unsigned x <= t as signed compares with the top bit flipped.
__attribute__((target("avx2"))) void at_most_avx2(const std::uint64_t* lanes, std::size_t words, std::uint64_t t, Word* out) {
  const __m256i flip = _mm256_set1_epi64x(static_cast<long long>(Word{1} << 63));
  const __m256i v = _mm256_xor_si256(_mm256_set1_epi64x(static_cast<long long>(t)), flip);
  for (std::size_t i = 0; i < words; ++i) {
    Word m = 0;
    for (int q = 0; q < 16; ++q) {
      const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes + i * kWordBits + 4 * q)), flip);
      const __m256i above = _mm256_cmpgt_epi64(x, v);
      m |= Word{static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(above))) ^ 0xFU} << (4 * q);
    }
    out[i] = m;
  }
}

__attribute__((target("avx2"))) void at_most_avx2(const std::uint32_t* lanes, std::size_t words, std::uint32_t t, Word* out) {
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000U));
  const __m256i v = _mm256_xor_si256(_mm256_set1_epi32(static_cast<int>(t)), flip);
  for (std::size_t i = 0; i < words; ++i) {
    Word m = 0;
    for (int q = 0; q < 8; ++q) {
      const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lanes + i * kWordBits + 8 * q)), flip);
      const __m256i above = _mm256_cmpgt_epi32(x, v);
      m |= Word{static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(above))) ^ 0xFFU} << (8 * q);
    }
    out[i] = m;
  }
}

// at_most over the words whose mask is not zero, ANDed with it (sparse masks: most words not read).
template <class Lane>
__attribute__((target("avx2"))) void at_most_in_avx2(const Lane* lanes, const Word* mask, std::size_t words, Lane t, Word* out) {
  for (std::size_t i = 0; i < words; ++i) {
    if (mask[i] == 0) {
      out[i] = 0;
      continue;
    }
    at_most_avx2(lanes + i * kWordBits, 1, t, out + i);
    out[i] &= mask[i];
  }
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") != 0;
  return yes;
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0;
  return yes;
}
#else
bool has_avx512() { return false; }
bool has_avx2() { return false; }
#endif

}  // namespace

void assign_where(std::uint16_t* dst, const Word* mask, std::size_t words, std::uint16_t value) {
#if defined(__x86_64__)
  if (has_avx512()) return assign_avx512(dst, mask, words, value);
  if (has_avx2()) return assign_avx2(dst, mask, words, value);
#endif
  assign_scalar(dst, mask, words, value);
}

void assign_where(std::uint32_t* dst, const Word* mask, std::size_t words, std::uint32_t value) {
#if defined(__x86_64__)
  if (has_avx512()) return assign_avx512(dst, mask, words, value);
  if (has_avx2()) return assign_avx2(dst, mask, words, value);
#endif
  assign_scalar(dst, mask, words, value);
}

void assign_where(std::uint64_t* dst, const Word* mask, std::size_t words, std::uint64_t value) {
#if defined(__x86_64__)
  if (has_avx2()) return assign_avx2(dst, mask, words, value);
#endif
  assign_scalar(dst, mask, words, value);
}

void increment_where(std::uint32_t* dst, const Word* a, const Word* b, std::size_t words) {
#if defined(__x86_64__)
  if (has_avx512()) return increment_avx512(dst, a, b, words);
  if (has_avx2()) return increment_avx2(dst, a, b, words);
#endif
  increment_scalar(dst, a, b, words);
}

void add_where(double* dst, const Word* mask, std::size_t words, double value) {
#if defined(__x86_64__)
  if (has_avx2()) return add_avx2(dst, mask, words, value);
#endif
  add_scalar(dst, mask, words, value);
}

void at_most(const double* lanes, std::size_t words, double t, Word* out) {
#if defined(__x86_64__)
  if (has_avx2()) return at_most_avx2(lanes, words, t, out);
#endif
  at_most_scalar(lanes, words, t, out);
}

void at_most(const std::uint64_t* lanes, std::size_t words, std::uint64_t t, Word* out) {
#if defined(__x86_64__)
  if (has_avx2()) return at_most_avx2(lanes, words, t, out);
#endif
  at_most_scalar(lanes, words, t, out);
}

void at_most(const std::uint32_t* lanes, std::size_t words, std::uint32_t t, Word* out) {
#if defined(__x86_64__)
  if (has_avx2()) return at_most_avx2(lanes, words, t, out);
#endif
  at_most_scalar(lanes, words, t, out);
}

void at_most_in(const double* lanes, const Word* mask, std::size_t words, double t, Word* out) {
#if defined(__x86_64__)
  if (has_avx2()) return at_most_in_avx2(lanes, mask, words, t, out);
#endif
  at_most_in_scalar(lanes, mask, words, t, out);
}

void at_most_in(const std::uint32_t* lanes, const Word* mask, std::size_t words, std::uint32_t t, Word* out) {
#if defined(__x86_64__)
  if (has_avx2()) return at_most_in_avx2(lanes, mask, words, t, out);
#endif
  at_most_in_scalar(lanes, mask, words, t, out);
}

const char* masked_lanes_kernel() { return has_avx512() ? "avx512" : has_avx2() ? "avx2" : "scalar"; }

}  // namespace kvsweep::core
