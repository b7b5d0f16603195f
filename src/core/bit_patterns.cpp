#include "kvsweep/core/bit_patterns.hpp"

#include <atomic>
#include <bit>
#include "gfni.hpp"

namespace kvsweep::core {

namespace {

// The 8x8 bit matrix with row r in byte r, transposed (Hacker's Delight, 7-3).
Word transpose8x8(Word x) {
  x = (x & 0xAA55AA55AA55AA55ULL) | ((x & 0x00AA00AA00AA00AAULL) << 7) | ((x >> 7) & 0x00AA00AA00AA00AAULL);
  x = (x & 0xCCCC3333CCCC3333ULL) | ((x & 0x0000CCCC0000CCCCULL) << 14) | ((x >> 14) & 0x0000CCCC0000CCCCULL);
  x = (x & 0xF0F0F0F00F0F0F0FULL) | ((x & 0x00000000F0F0F0F0ULL) << 28) | ((x >> 28) & 0x00000000F0F0F0F0ULL);
  return x;
}

// In blocks of kBlockWords words: the rows' words of a block are laid side by side (word-major) in a
// buffer that stays in L1, reading each row sequentially; then eight tokens at a time rows 8g..8g+7
// of the byte are gathered into one word and transposed, so that byte b holds bits 8g..8g+7 of token
// 8j + b's pattern.
std::size_t classify_scalar(const Word* const* rows, std::uint32_t row_count, const Word* cand, std::size_t words,
                            const std::uint32_t* class_of, std::uint32_t* dense) {
  constexpr std::size_t kBlockWords = 32;
  Word block[kBlockWords * kMaxPatternRows];
  const std::uint32_t groups = (row_count + 7) / 8;
  std::size_t out = 0;
  for (std::size_t i0 = 0; i0 < words; i0 += kBlockWords) {
    const std::size_t n = words - i0 < kBlockWords ? words - i0 : kBlockWords;
    for (std::uint32_t k = 0; k < row_count; ++k) {
      for (std::size_t i = 0; i < n; ++i) block[i * kMaxPatternRows + k] = rows[k][i0 + i];
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Word c = cand[i0 + i];
      const Word* r = block + i * kMaxPatternRows;
      for (std::uint32_t j = 0; j < kWordBits / 8; ++j) {
        const Word tokens = (c >> (8 * j)) & 0xFF;
        if (tokens == 0) continue;
        Word columns[(kMaxPatternRows + 7) / 8];
        for (std::uint32_t g = 0; g < groups; ++g) {
          Word bytes = 0;
          for (std::uint32_t k = 0; k < 8 && 8 * g + k < row_count; ++k) bytes |= ((r[8 * g + k] >> (8 * j)) & 0xFF) << (8 * k);
          columns[g] = transpose8x8(bytes);
        }
        for (Word x = tokens; x != 0; x &= x - 1) {
          const auto b = static_cast<std::uint32_t>(std::countr_zero(x));
          std::uint32_t pattern = 0;
          for (std::uint32_t g = 0; g < groups; ++g) pattern |= static_cast<std::uint32_t>((columns[g] >> (8 * b)) & 0xFF) << (8 * g);
          dense[out++] = class_of[pattern];
        }
      }
    }
  }
  return out;
}

void split_scalar(const std::uint32_t* dense, const Word* cand, std::size_t words, std::uint32_t shift,
                  std::uint32_t cut, Word* below, Word* at) {
  std::size_t j = 0;
  for (std::size_t i = 0; i < words; ++i) {
    Word lt = 0, eq = 0;
    for (Word x = cand[i]; x != 0; x &= x - 1) {
      const std::uint32_t c = dense[j++] >> shift;
      if (c < cut) lt |= x & -x;
      if (c == cut) eq |= x & -x;
    }
    below[i] = lt;
    at[i] = eq;
  }
}

#if defined(__x86_64__)
// Per word with candidates and group of eight rows: one gather fetches word i of the eight rows (as
// offsets from row 0), gfni::transpose_blocks turns them so that byte b of qword j holds the bits of
// token 8j + b over the eight rows; then 16 tokens at a time the groups are widened into 32-bit
// patterns, their classes gathered from the table under the candidate mask and compressed into
// `dense`. Words without candidates are not read. (The zero-masked forms of the intrinsics keep GCC 12
// from warning about _mm512_undefined, GCC bug 105593.)
__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) std::size_t classify_gfni(
    const Word* const* rows, std::uint32_t row_count, const Word* cand, std::size_t words,
    const std::uint32_t* class_of, std::uint32_t* dense) {
  constexpr std::uint32_t kGroups = (kMaxPatternRows + 7) / 8;
  const std::uint32_t groups = (row_count + 7) / 8;
  const auto* base = reinterpret_cast<const char*>(rows[0]);
  __m512i offsets[kGroups];  // byte offsets of the group's rows from row 0
  __mmask8 present[kGroups];
  for (std::uint32_t g = 0; g < groups; ++g) {
    alignas(64) std::int64_t o[8] = {};
    for (std::uint32_t r = 0; r < 8 && 8 * g + r < row_count; ++r) {
      o[r] = reinterpret_cast<const char*>(rows[8 * g + r]) - base;
    }
    offsets[g] = _mm512_load_si512(o);
    const std::uint32_t n = row_count - 8 * g < 8 ? row_count - 8 * g : 8;
    present[g] = static_cast<__mmask8>((1U << n) - 1);
  }
  alignas(64) std::uint8_t columns[kGroups][64];
  std::uint32_t* out = dense;
  for (std::size_t i = 0; i < words; ++i) {
    const Word c = cand[i];
    if (c == 0) continue;
    const __m512i at = _mm512_set1_epi64(static_cast<long long>(i * sizeof(Word)));
    for (std::uint32_t g = 0; g < groups; ++g) {
      const __m512i x = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), present[g],
                                                    _mm512_add_epi64(offsets[g], at), base, 1);
      _mm512_store_si512(columns[g], gfni::transpose_blocks(x));
    }
    for (std::uint32_t q = 0; q < 4; ++q) {
      const auto m = static_cast<__mmask16>(c >> (16 * q));
      if (m == 0) continue;
      __m512i pattern = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_load_si128(reinterpret_cast<const __m128i*>(columns[0] + 16 * q)));
      for (std::uint32_t g = 1; g < groups; ++g) {
        const __m512i part = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_load_si128(reinterpret_cast<const __m128i*>(columns[g] + 16 * q)));
        pattern = _mm512_or_si512(pattern, _mm512_maskz_slli_epi32(0xFFFF, part, 8 * g));
      }
      const __m512i classes = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, pattern, class_of, 4);
      // Compressed in a register and stored whole: Zen 4 microcodes the compressing store to memory.
      _mm512_storeu_si512(out, _mm512_maskz_compress_epi32(m, classes));
      out += std::popcount(static_cast<unsigned>(m));
    }
  }
  return static_cast<std::size_t>(out - dense);
}

// Per word: its candidates' classes (consecutive in dense) compared with the cut 16 at a time; the
// comparison masks, over candidates, are deposited back onto the candidates' bit positions (PDEP).
__attribute__((target("avx512f,bmi2"))) void split_avx512(const std::uint32_t* dense, const Word* cand,
                                                          std::size_t words, std::uint32_t shift, std::uint32_t cut,
                                                          Word* below, Word* at) {
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(shift));
  const __m512i cut_v = _mm512_set1_epi32(static_cast<int>(cut));
  const std::uint32_t* in = dense;
  for (std::size_t i = 0; i < words; ++i) {
    const Word c = cand[i];
    const auto n = static_cast<std::uint32_t>(std::popcount(c));
    Word lt = 0, eq = 0;
    for (std::uint32_t q = 0; 16 * q < n; ++q) {
      const std::uint32_t left = n - 16 * q;
      const auto m = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1U << left) - 1);
      const __m512i x = _mm512_maskz_srl_epi32(0xFFFF, _mm512_maskz_loadu_epi32(m, in + 16 * q), count);
      lt |= Word{_mm512_mask_cmplt_epu32_mask(m, x, cut_v)} << (16 * q);
      eq |= Word{_mm512_mask_cmpeq_epu32_mask(m, x, cut_v)} << (16 * q);
    }
    in += n;
    below[i] = _pdep_u64(lt, c);
    at[i] = _pdep_u64(eq, c);
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

std::size_t classify_patterns(const Word* const* rows, std::uint32_t row_count, const Word* cand,
                              std::size_t words, const std::uint32_t* class_of, std::uint32_t* dense) {
#if defined(__x86_64__)
  if (use_gfni()) return classify_gfni(rows, row_count, cand, words, class_of, dense);
#endif
  return classify_scalar(rows, row_count, cand, words, class_of, dense);
}

void split_at_class(const std::uint32_t* dense, const Word* cand, std::size_t words, std::uint32_t shift,
                    std::uint32_t cut, Word* below, Word* at) {
#if defined(__x86_64__)
  if (use_gfni()) return split_avx512(dense, cand, words, shift, cut, below, at);
#endif
  split_scalar(dense, cand, words, shift, cut, below, at);
}

const char* bit_patterns_kernel() { return use_gfni() ? "avx512-gfni" : "scalar"; }

void force_scalar_bit_patterns(bool scalar) { forced_scalar.store(scalar, std::memory_order_relaxed); }

}  // namespace kvsweep::core
