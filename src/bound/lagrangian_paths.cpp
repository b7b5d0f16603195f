#include "lagrangian_paths.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kvsweep::bound::detail {

namespace {

using core::kWordBits;
using core::Word;

// One transition, state i - 1 -> state i, of the first `words` words of tokens. A token's promotion
// into state i is a piggy-back when it was read at step i - 1 (or is the entry created by it), a
// prefetch otherwise. Ties keep an entry where it was (in stays in, out stays out).
template <class V>
struct Transition {
  V* in;
  V* out;
  const Word* before;  // S(P + i - 1, l)
  const Word* now;     // S(P + i, l)
  std::size_t words;
  std::uint32_t created;  // the token created at step i - 1
  V piggyback, prefetch, hold, hit;
  Word* from_out;  // out: in at state i via a promotion
  Word* from_in;   // out: out at state i, in at state i - 1
  Word promoted_read(std::size_t w) const {
    return w == created / kWordBits ? before[w] | Word{1} << (created % kWordBits) : before[w];
  }
};

template <class V>
void advance_scalar(const Transition<V>& t) {
  for (std::size_t w = 0; w < t.words; ++w) {
    const Word promoted_read = t.promoted_read(w), read_now = t.now[w];
    V* in = t.in + w * kWordBits;
    V* out = t.out + w * kWordBits;
    Word fo_bits = 0, fi_bits = 0;
    for (std::uint32_t k = 0; k < kWordBits; ++k) {
      const V prom = ((promoted_read >> k) & 1U) != 0 ? t.piggyback : t.prefetch;
      const V was_in = in[k], was_out = out[k];
      const V via_promotion = was_out + prom;
      const bool fo = via_promotion < was_in;
      const bool fi = was_in < was_out;
      out[k] = fi ? was_in : was_out;
      in[k] = (fo ? via_promotion : was_in) + t.hold + (((read_now >> k) & 1U) != 0 ? t.hit : V{0});
      fo_bits |= static_cast<Word>(fo) << k;
      fi_bits |= static_cast<Word>(fi) << k;
    }
    t.from_out[w] = fo_bits;
    t.from_in[w] = fi_bits;
  }
}

#if defined(__x86_64__)
// The same with AVX2 (8 floats or 4 doubles at a time) and AVX-512 (16 or 8, the word's bits being the
// lane masks themselves): the same operations in the same order per token, so the same paths.
__attribute__((target("avx2"))) inline __m256 lanes8(Word bits, std::uint32_t c, __m256i select) {
  const __m256i b = _mm256_and_si256(_mm256_set1_epi32(static_cast<int>((bits >> (8 * c)) & 0xFFU)), select);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, select));
}
__attribute__((target("avx2"))) inline __m256d lanes4(Word bits, std::uint32_t c, __m256i select) {
  const __m256i b = _mm256_and_si256(_mm256_set1_epi64x(static_cast<long long>((bits >> (4 * c)) & 0xFU)), select);
  return _mm256_castsi256_pd(_mm256_cmpeq_epi64(b, select));
}

__attribute__((target("avx2"))) void advance_avx2(const Transition<float>& t) {
  const __m256 pb = _mm256_set1_ps(t.piggyback), pf = _mm256_set1_ps(t.prefetch), hd = _mm256_set1_ps(t.hold),
               ht = _mm256_set1_ps(t.hit);
  const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (std::size_t w = 0; w < t.words; ++w) {
    const Word promoted_read = t.promoted_read(w), read_now = t.now[w];
    float* in = t.in + w * kWordBits;
    float* out = t.out + w * kWordBits;
    Word fo_bits = 0, fi_bits = 0;
    for (std::uint32_t c = 0; c < 8; ++c) {
      const __m256 prom = _mm256_blendv_ps(pf, pb, lanes8(promoted_read, c, select));
      const __m256 was_in = _mm256_loadu_ps(in + 8 * c), was_out = _mm256_loadu_ps(out + 8 * c);
      const __m256 via = _mm256_add_ps(was_out, prom);
      const __m256 fo = _mm256_cmp_ps(via, was_in, _CMP_LT_OQ);
      const __m256 fi = _mm256_cmp_ps(was_in, was_out, _CMP_LT_OQ);
      _mm256_storeu_ps(out + 8 * c, _mm256_blendv_ps(was_out, was_in, fi));
      const __m256 best = _mm256_add_ps(_mm256_blendv_ps(was_in, via, fo), hd);
      _mm256_storeu_ps(in + 8 * c, _mm256_add_ps(best, _mm256_and_ps(lanes8(read_now, c, select), ht)));
      fo_bits |= static_cast<Word>(static_cast<unsigned>(_mm256_movemask_ps(fo))) << (8 * c);
      fi_bits |= static_cast<Word>(static_cast<unsigned>(_mm256_movemask_ps(fi))) << (8 * c);
    }
    t.from_out[w] = fo_bits;
    t.from_in[w] = fi_bits;
  }
}

__attribute__((target("avx2"))) void advance_avx2(const Transition<double>& t) {
  const __m256d pb = _mm256_set1_pd(t.piggyback), pf = _mm256_set1_pd(t.prefetch), hd = _mm256_set1_pd(t.hold),
                ht = _mm256_set1_pd(t.hit);
  const __m256i select = _mm256_setr_epi64x(1, 2, 4, 8);
  for (std::size_t w = 0; w < t.words; ++w) {
    const Word promoted_read = t.promoted_read(w), read_now = t.now[w];
    double* in = t.in + w * kWordBits;
    double* out = t.out + w * kWordBits;
    Word fo_bits = 0, fi_bits = 0;
    for (std::uint32_t c = 0; c < 16; ++c) {
      const __m256d prom = _mm256_blendv_pd(pf, pb, lanes4(promoted_read, c, select));
      const __m256d was_in = _mm256_loadu_pd(in + 4 * c), was_out = _mm256_loadu_pd(out + 4 * c);
      const __m256d via = _mm256_add_pd(was_out, prom);
      const __m256d fo = _mm256_cmp_pd(via, was_in, _CMP_LT_OQ);
      const __m256d fi = _mm256_cmp_pd(was_in, was_out, _CMP_LT_OQ);
      _mm256_storeu_pd(out + 4 * c, _mm256_blendv_pd(was_out, was_in, fi));
      const __m256d best = _mm256_add_pd(_mm256_blendv_pd(was_in, via, fo), hd);
      _mm256_storeu_pd(in + 4 * c, _mm256_add_pd(best, _mm256_and_pd(lanes4(read_now, c, select), ht)));
      fo_bits |= static_cast<Word>(static_cast<unsigned>(_mm256_movemask_pd(fo))) << (4 * c);
      fi_bits |= static_cast<Word>(static_cast<unsigned>(_mm256_movemask_pd(fi))) << (4 * c);
    }
    t.from_out[w] = fo_bits;
    t.from_in[w] = fi_bits;
  }
}

__attribute__((target("avx512f"))) void advance_avx512(const Transition<float>& t) {
  const __m512 pb = _mm512_set1_ps(t.piggyback), pf = _mm512_set1_ps(t.prefetch), hd = _mm512_set1_ps(t.hold),
               ht = _mm512_set1_ps(t.hit);
  for (std::size_t w = 0; w < t.words; ++w) {
    const Word promoted_read = t.promoted_read(w), read_now = t.now[w];
    float* in = t.in + w * kWordBits;
    float* out = t.out + w * kWordBits;
    Word fo_bits = 0, fi_bits = 0;
    for (std::uint32_t c = 0; c < 4; ++c) {
      const auto pr = static_cast<__mmask16>((promoted_read >> (16 * c)) & 0xFFFFU);
      const auto rn = static_cast<__mmask16>((read_now >> (16 * c)) & 0xFFFFU);
      const __m512 was_in = _mm512_loadu_ps(in + 16 * c), was_out = _mm512_loadu_ps(out + 16 * c);
      const __m512 via = _mm512_add_ps(was_out, _mm512_mask_blend_ps(pr, pf, pb));
      const __mmask16 fo = _mm512_cmp_ps_mask(via, was_in, _CMP_LT_OQ);
      const __mmask16 fi = _mm512_cmp_ps_mask(was_in, was_out, _CMP_LT_OQ);
      _mm512_storeu_ps(out + 16 * c, _mm512_mask_blend_ps(fi, was_out, was_in));
      const __m512 best = _mm512_add_ps(_mm512_mask_blend_ps(fo, was_in, via), hd);
      _mm512_storeu_ps(in + 16 * c, _mm512_add_ps(best, _mm512_maskz_mov_ps(rn, ht)));
      fo_bits |= static_cast<Word>(fo) << (16 * c);
      fi_bits |= static_cast<Word>(fi) << (16 * c);
    }
    t.from_out[w] = fo_bits;
    t.from_in[w] = fi_bits;
  }
}

__attribute__((target("avx512f"))) void advance_avx512(const Transition<double>& t) {
  const __m512d pb = _mm512_set1_pd(t.piggyback), pf = _mm512_set1_pd(t.prefetch), hd = _mm512_set1_pd(t.hold),
                ht = _mm512_set1_pd(t.hit);
  for (std::size_t w = 0; w < t.words; ++w) {
    const Word promoted_read = t.promoted_read(w), read_now = t.now[w];
    double* in = t.in + w * kWordBits;
    double* out = t.out + w * kWordBits;
    Word fo_bits = 0, fi_bits = 0;
    for (std::uint32_t c = 0; c < 8; ++c) {
      const auto pr = static_cast<__mmask8>((promoted_read >> (8 * c)) & 0xFFU);
      const auto rn = static_cast<__mmask8>((read_now >> (8 * c)) & 0xFFU);
      const __m512d was_in = _mm512_loadu_pd(in + 8 * c), was_out = _mm512_loadu_pd(out + 8 * c);
      const __m512d via = _mm512_add_pd(was_out, _mm512_mask_blend_pd(pr, pf, pb));
      const __mmask8 fo = _mm512_cmp_pd_mask(via, was_in, _CMP_LT_OQ);
      const __mmask8 fi = _mm512_cmp_pd_mask(was_in, was_out, _CMP_LT_OQ);
      _mm512_storeu_pd(out + 8 * c, _mm512_mask_blend_pd(fi, was_out, was_in));
      const __m512d best = _mm512_add_pd(_mm512_mask_blend_pd(fo, was_in, via), hd);
      _mm512_storeu_pd(in + 8 * c, _mm512_add_pd(best, _mm512_maskz_mov_pd(rn, ht)));
      fo_bits |= static_cast<Word>(fo) << (8 * c);
      fi_bits |= static_cast<Word>(fi) << (8 * c);
    }
    t.from_out[w] = fo_bits;
    t.from_in[w] = fi_bits;
  }
}

bool cpu_has(PathKernel k) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") != 0;
  static const bool avx2 = __builtin_cpu_supports("avx2") != 0;
  return k == PathKernel::kAvx512 ? avx512 : k == PathKernel::kAvx2 ? avx2 : true;
}
#endif

PathKernel resolve(PathKernel k) {
  if (k != PathKernel::kAuto) return k;
#if defined(__x86_64__)
  if (cpu_has(PathKernel::kAvx512)) return PathKernel::kAvx512;
  if (cpu_has(PathKernel::kAvx2)) return PathKernel::kAvx2;
#endif
  return PathKernel::kScalar;
}

template <class V>
void advance(const Transition<V>& t, PathKernel k) {
#if defined(__x86_64__)
  if (k == PathKernel::kAvx512) return advance_avx512(t);
  if (k == PathKernel::kAvx2) return advance_avx2(t);
#endif
  advance_scalar(t);
}

}  // namespace

bool kernel_supported(PathKernel k) {
#if defined(__x86_64__)
  return cpu_has(k);
#else
  return k == PathKernel::kAuto || k == PathKernel::kScalar;
#endif
}

template <class V>
void cheapest_paths(const StepMajorReads& reads, std::uint32_t l, const LayerPrices<V>& prices, const std::vector<V>& hold,
                    PathCounts& counts, std::vector<std::uint64_t>& occupancy, PathKernel kernel,
                    PathScratch<V>& s, core::Word* held_bits) {
  if (!kernel_supported(kernel)) throw std::invalid_argument("lagrangian: this machine lacks the kernel asked for");
  kernel = resolve(kernel);
  const auto& sh = reads.shape();
  const std::uint32_t P = sh.prompt_tokens, D = sh.decode_tokens, L = sh.layers;
  const std::size_t W = reads.words();
  if (D == 0) return;
  constexpr V kInf = std::numeric_limits<V>::infinity();
  s.in.assign(W * kWordBits, kInf);
  s.out.assign(W * kWordBits, V{0});
  s.from_out.resize(static_cast<std::size_t>(D) * W);
  s.from_in.resize(static_cast<std::size_t>(D) * W);
  s.cur.assign(W, 0);

  // State 0, the free initial placement of the prompt's entries.
  {
    const Word* r0 = reads.row(l, 0);
    for (std::uint32_t t = 0; t < P; ++t) {
      s.in[t] = hold[0] + (((r0[t / kWordBits] >> (t % kWordBits)) & 1U) != 0 ? prices.hit[0] : V{0});
    }
  }
  for (std::uint32_t i = 1; i < D; ++i) {
    const Word* before = reads.row(l, i - 1);
    const Word* now = reads.row(l, i);
    const std::uint32_t exist = P + i;  // tokens 0 .. P + i - 1 exist in state i
    const std::uint32_t created = exist - 1;
    const std::size_t nw = core::words_for(exist);
    Word* fo = s.from_out.data() + static_cast<std::size_t>(i) * W;
    Word* fi = s.from_in.data() + static_cast<std::size_t>(i) * W;
    advance(Transition<V>{s.in.data(), s.out.data(), before, now, nw, created, prices.piggyback[i - 1],
                          prices.prefetch[i - 1], hold[i], prices.hit[i], fo, fi},
            kernel);
    // Tokens beyond the newest do not exist yet: no path may enter them.
    if (exist % kWordBits != 0) {
      const std::size_t w = nw - 1;
      const Word keep = (Word{1} << (exist % kWordBits)) - 1;
      fo[w] &= keep;
      fi[w] &= keep;
      for (std::uint32_t t = exist; t < (w + 1) * kWordBits; ++t) {
        s.in[t] = kInf;
        s.out[t] = V{0};
      }
    }
  }

  // Traceback from the last state: in where that is strictly cheaper.
  {
    const std::size_t nw = core::words_for(P + D - 1);
    for (std::size_t w = 0; w < nw; ++w) {
      Word bits = 0;
      for (std::uint32_t k = 0; k < kWordBits; ++k) {
        bits |= static_cast<Word>(s.in[w * kWordBits + k] < s.out[w * kWordBits + k]) << k;
      }
      s.cur[w] = bits;
    }
  }
  for (std::uint32_t i = D; i-- > 0;) {
    const std::size_t nw = core::words_for(P + i);
    const Word* now = reads.row(l, i);
    std::uint64_t held = 0, hits = 0;
    for (std::size_t w = 0; w < nw; ++w) {
      held += static_cast<std::uint64_t>(std::popcount(s.cur[w]));
      hits += static_cast<std::uint64_t>(std::popcount(s.cur[w] & now[w]));
    }
    occupancy[i] += held;
    if (held_bits != nullptr) std::copy(s.cur.begin(), s.cur.begin() + static_cast<std::ptrdiff_t>(nw), held_bits + static_cast<std::size_t>(i) * W);
    counts.hits[static_cast<std::size_t>(i) * L + l] = static_cast<std::uint32_t>(hits);
    if (i == 0) break;
    const Word* before = reads.row(l, i - 1);
    const Word* fo = s.from_out.data() + static_cast<std::size_t>(i) * W;
    const Word* fi = s.from_in.data() + static_cast<std::size_t>(i) * W;
    const std::uint32_t created = P + i - 1;
    std::uint64_t piggyback = 0, prefetch = 0;
    std::uint32_t kept = 0;
    for (std::size_t w = 0; w < nw; ++w) {
      const Word c = s.cur[w];
      Word promoted = c & fo[w];
      if (w == created / kWordBits) {
        const Word bit = Word{1} << (created % kWordBits);
        kept = (promoted & bit) != 0 ? 1 : 0;
        promoted &= ~bit;
      }
      piggyback += static_cast<std::uint64_t>(std::popcount(promoted & before[w]));
      prefetch += static_cast<std::uint64_t>(std::popcount(promoted & ~before[w]));
      s.cur[w] = (c & ~fo[w]) | (~c & fi[w]);
    }
    const std::size_t k = static_cast<std::size_t>(i - 1) * L + l;
    counts.piggyback[k] = static_cast<std::uint32_t>(piggyback);
    counts.prefetch[k] = static_cast<std::uint32_t>(prefetch);
    counts.kept_new[k] = kept;
  }
  // The last step's promotions land in state D, which serves no read: none.
  const std::size_t last = static_cast<std::size_t>(D - 1) * L + l;
  counts.piggyback[last] = counts.prefetch[last] = counts.kept_new[last] = 0;
}

template void cheapest_paths<float>(const StepMajorReads&, std::uint32_t, const LayerPrices<float>&,
                                    const std::vector<float>&, PathCounts&, std::vector<std::uint64_t>&, PathKernel, PathScratch<float>&, core::Word*);
template void cheapest_paths<double>(const StepMajorReads&, std::uint32_t, const LayerPrices<double>&,
                                     const std::vector<double>&, PathCounts&, std::vector<std::uint64_t>&, PathKernel, PathScratch<double>&, core::Word*);

}  // namespace kvsweep::bound::detail
