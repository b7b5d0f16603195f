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

std::vector<Segment> segments_of(const trace::TraceShape& shape) {
  std::vector<Segment> segs(shape.batch_size());
  for (std::uint32_t b = 0; b < shape.batch_size(); ++b) segs[b] = {shape.base(b) / kWordBits, shape.prompt(b)};
  return segs;
}

template <class V>
void cheapest_paths(const StepMajorReads& reads, std::uint32_t l, const LayerPrices<V>& prices, const std::vector<V>& hold,
                    PathCounts& counts, std::vector<std::uint64_t>& occupancy, PathKernel kernel,
                    PathScratch<V>& s, core::Word* held_bits) {
  if (!kernel_supported(kernel)) throw std::invalid_argument("lagrangian: this machine lacks the kernel asked for");
  kernel = resolve(kernel);
  const auto& sh = reads.shape();
  const std::uint32_t D = sh.decode_tokens, L = sh.layers;
  const std::size_t W = reads.words();
  if (D == 0) return;
  // Each sequence's segment is swept on its own (word offset o): its positions past its newest token,
  // and the padding after them, never exist, so no path may enter them.
  const std::vector<Segment> segs = segments_of(sh);
  constexpr V kInf = std::numeric_limits<V>::infinity();
  s.in.assign(W * kWordBits, kInf);
  s.out.assign(W * kWordBits, V{0});
  s.from_out.resize(static_cast<std::size_t>(D) * W);
  s.from_in.resize(static_cast<std::size_t>(D) * W);
  s.cur.assign(W, 0);

  // State 0, the free initial placement of the prompts' entries.
  {
    const Word* r0 = reads.row(l, 0);
    for (const Segment& seg : segs) {
      for (std::size_t t = seg.word * kWordBits; t < seg.word * kWordBits + seg.prompt; ++t) {
        s.in[t] = hold[0] + (((r0[t / kWordBits] >> (t % kWordBits)) & 1U) != 0 ? prices.hit[0] : V{0});
      }
    }
  }
  for (std::uint32_t i = 1; i < D; ++i) {
    const Word* before = reads.row(l, i - 1);
    const Word* now = reads.row(l, i);
    Word* fo = s.from_out.data() + static_cast<std::size_t>(i) * W;
    Word* fi = s.from_in.data() + static_cast<std::size_t>(i) * W;
    for (const Segment& seg : segs) {
      const std::size_t o = seg.word;
      const std::uint32_t exist = seg.prompt + i;  // the segment's tokens 0 .. exist - 1 exist in state i
      const std::uint32_t created = exist - 1;
      const std::size_t nw = core::words_for(exist);
      advance(Transition<V>{s.in.data() + o * kWordBits, s.out.data() + o * kWordBits, before + o, now + o, nw, created,
                            prices.piggyback[i - 1], prices.prefetch[i - 1], hold[i], prices.hit[i], fo + o, fi + o},
              kernel);
      // Tokens beyond the newest do not exist yet: no path may enter them.
      if (exist % kWordBits != 0) {
        const std::size_t w = o + nw - 1;
        const Word keep = (Word{1} << (exist % kWordBits)) - 1;
        fo[w] &= keep;
        fi[w] &= keep;
        for (std::size_t t = o * kWordBits + exist; t < (w + 1) * kWordBits; ++t) {
          s.in[t] = kInf;
          s.out[t] = V{0};
        }
      }
    }
  }

  // Traceback from the last state: in where that is strictly cheaper.
  for (const Segment& seg : segs) {
    const std::size_t nw = core::words_for(seg.prompt + D - 1);
    for (std::size_t w = seg.word; w < seg.word + nw; ++w) {
      Word bits = 0;
      for (std::uint32_t k = 0; k < kWordBits; ++k) {
        bits |= static_cast<Word>(s.in[w * kWordBits + k] < s.out[w * kWordBits + k]) << k;
      }
      s.cur[w] = bits;
    }
  }
  for (std::uint32_t i = D; i-- > 0;) {
    const Word* now = reads.row(l, i);
    std::uint64_t held = 0, hits = 0;
    for (const Segment& seg : segs) {
      const std::size_t w0 = seg.word, w1 = seg.word + core::words_for(seg.prompt + i);
      for (std::size_t w = w0; w < w1; ++w) {
        held += static_cast<std::uint64_t>(std::popcount(s.cur[w]));
        hits += static_cast<std::uint64_t>(std::popcount(s.cur[w] & now[w]));
      }
      if (held_bits != nullptr) {
        std::copy(s.cur.begin() + static_cast<std::ptrdiff_t>(w0), s.cur.begin() + static_cast<std::ptrdiff_t>(w1),
                  held_bits + static_cast<std::size_t>(i) * W + w0);
      }
    }
    occupancy[i] += held;
    counts.hits[static_cast<std::size_t>(i) * L + l] = static_cast<std::uint32_t>(hits);
    if (i == 0) break;
    const Word* before = reads.row(l, i - 1);
    const Word* fo = s.from_out.data() + static_cast<std::size_t>(i) * W;
    const Word* fi = s.from_in.data() + static_cast<std::size_t>(i) * W;
    std::uint64_t piggyback = 0, prefetch = 0;
    std::uint32_t kept = 0;
    for (const Segment& seg : segs) {
      const std::uint32_t exist = seg.prompt + i;
      const std::size_t created = seg.word * kWordBits + exist - 1;
      for (std::size_t w = seg.word; w < seg.word + core::words_for(exist); ++w) {
        const Word c = s.cur[w];
        Word promoted = c & fo[w];
        if (w == created / kWordBits) {
          const Word bit = Word{1} << (created % kWordBits);
          kept += (promoted & bit) != 0 ? 1 : 0;
          promoted &= ~bit;
        }
        piggyback += static_cast<std::uint64_t>(std::popcount(promoted & before[w]));
        prefetch += static_cast<std::uint64_t>(std::popcount(promoted & ~before[w]));
        s.cur[w] = (c & ~fo[w]) | (~c & fi[w]);
      }
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

namespace {

// The tokens of block g (positions g k .. g k + k - 1) set in a row of `words` words (a block of k > 64
// tokens may run past the last word of the layout: those positions never exist).
inline std::uint32_t block_count(const Word* row, std::size_t g, std::uint32_t k, std::size_t words) {
  if (k < kWordBits) {
    const std::size_t pos = g * k;
    return static_cast<std::uint32_t>(std::popcount((row[pos / kWordBits] >> (pos % kWordBits)) & ((Word{1} << k) - 1)));
  }
  const std::size_t per = k / kWordBits;
  std::uint32_t c = 0;
  for (std::size_t w = g * per; w < std::min(words, g * per + per); ++w) c += static_cast<std::uint32_t>(std::popcount(row[w]));
  return c;
}

inline void set_bit(Word* row, std::size_t t) { row[t / kWordBits] |= Word{1} << (t % kWordBits); }

std::uint32_t blocks_for(std::uint32_t tokens, std::uint32_t k) { return (tokens + k - 1) / k; }

constexpr std::uint8_t kFromOut = 1, kFromIn = 2;

// One segment's blocks in state i, whose tokens 0 .. exist - 1 exist: blocks q < full were whole before
// step i - 1 created token exist - 1; block `full` holds that new token and `before` older ones.
struct SegmentBlocks {
  std::uint32_t full, before;
  SegmentBlocks(std::uint32_t exist, std::uint32_t k) : full((exist - 1) / k), before((exist - 1) % k) {}
  std::uint32_t count() const { return full + 1; }
};

// The prices of one transition into state i (step j = i - 1), per block.
template <class V>
struct BlockStep {
  V piggyback, prefetch, transfer_j, transfer_i, hold, hit, k;
};

// Blocks that were whole before step j, none of which takes a new token: a loop the compiler vectorises.
template <class V>
void advance_whole_blocks(V* in, V* out, const std::uint16_t* read_j, const std::uint16_t* read_i, std::uint8_t* step,
                          std::size_t n, const BlockStep<V>& p) {
  for (std::size_t g = 0; g < n; ++g) {
    const V rj = static_cast<V>(read_j[g]), ri = static_cast<V>(read_i[g]);
    const V was_in = in[g], was_out = out[g];
    const V via = was_out + rj * p.piggyback + (p.k - rj) * p.prefetch + (read_j[g] == 0 ? p.transfer_j : V{0});
    const bool fo = via < was_in, fi = was_in < was_out;
    out[g] = (fi ? was_in : was_out) + (read_i[g] != 0 ? p.transfer_i : V{0});
    in[g] = (fo ? via : was_in) + p.hold + ri * p.hit;
    step[g] = static_cast<std::uint8_t>((fo ? kFromOut : 0) | (fi ? kFromIn : 0));
  }
}

// The block that takes the segment's new token: `before` older tokens exist (0: the new token starts it,
// and it was no block in state j).
template <class V>
void advance_new_token_block(V& in, V& out, std::uint32_t before, std::uint32_t read_j, std::uint32_t read_i,
                             std::uint8_t& step, const BlockStep<V>& p) {
  const V was_in = in, was_out = out;
  const V stay = was_in + p.piggyback;
  const V via = was_out + static_cast<V>(read_j) * p.piggyback + static_cast<V>(before - read_j) * p.prefetch +
                p.piggyback + (read_j == 0 && before > 0 ? p.transfer_j : V{0});
  const bool fo = via < stay, fi = was_in < was_out;
  out = (fi ? was_in : was_out) + (read_i != 0 ? p.transfer_i : V{0});
  in = (fo ? via : stay) + p.hold + static_cast<V>(read_i) * p.hit;
  step = static_cast<std::uint8_t>((fo ? kFromOut : 0) | (fi ? kFromIn : 0));
}

}  // namespace

void block_read_histogram(const StepMajorReads& reads, std::uint32_t l, std::uint32_t j, std::vector<std::uint32_t>& hist) {
  const auto& sh = reads.shape();
  const std::uint32_t k = sh.block_tokens;
  hist.assign(k + 1, 0);
  const Word* row = reads.row(l, j);
  for (const Segment& seg : segments_of(sh)) {
    const std::size_t g0 = seg.word * kWordBits / k;
    for (std::size_t g = g0; g < g0 + blocks_for(seg.prompt + j, k); ++g) ++hist[block_count(row, g, k, reads.words())];
  }
}

template <class V>
void cheapest_block_paths(const StepMajorReads& reads, std::uint32_t l, const LayerPrices<V>& p, const std::vector<V>& hold,
                          PathCounts& counts, std::vector<std::uint64_t>& occupancy, PathScratch<V>& s,
                          core::Word* held_bits) {
  const auto& sh = reads.shape();
  const std::uint32_t D = sh.decode_tokens, L = sh.layers, k = sh.block_tokens;
  const std::size_t W = reads.words();
  if (D == 0) return;
  const std::vector<Segment> segs = segments_of(sh);
  const std::size_t blocks = (W * kWordBits + k - 1) / k;
  const auto first_block = [&](const Segment& seg) { return seg.word * kWordBits / k; };
  constexpr V kInf = std::numeric_limits<V>::infinity();
  s.in.assign(blocks, kInf);
  s.out.assign(blocks, V{0});
  s.block_reads.resize(static_cast<std::size_t>(D) * blocks);
  s.block_step.resize(static_cast<std::size_t>(D) * blocks);
  s.held.assign(blocks, 0);
  // Each existing block's reads at step i, kept for the traceback. A block that does not exist in state
  // i is never read from its row.
  const auto reads_at = [&](std::uint32_t i) { return s.block_reads.data() + static_cast<std::size_t>(i) * blocks; };
  const auto count_reads = [&](std::uint32_t i) {
    const Word* row = reads.row(l, i);
    std::uint16_t* r = reads_at(i);
    for (const Segment& seg : segs) {
      const std::size_t g0 = first_block(seg);
      for (std::size_t g = g0; g < g0 + blocks_for(seg.prompt + i, k); ++g) r[g] = static_cast<std::uint16_t>(block_count(row, g, k, W));
    }
  };

  // State 0, the free initial placement; a block out of HBM that is read pays its transfer.
  count_reads(0);
  for (const Segment& seg : segs) {
    const std::size_t g0 = first_block(seg);
    for (std::size_t g = g0; g < g0 + blocks_for(seg.prompt, k); ++g) {
      s.in[g] = hold[0] * static_cast<V>(k) + static_cast<V>(reads_at(0)[g]) * p.hit[0];
      s.out[g] = reads_at(0)[g] > 0 ? p.transfer[0] : V{0};
    }
  }
  // State i - 1 -> i (step j = i - 1): staying in takes the new token if it joins the block; coming in
  // brings every existing token (read ones piggy-back, the others are prefetched) and the new one, and
  // is a transfer unless the block, being out and read at step j, already crossed for those reads.
  for (std::uint32_t i = 1; i < D; ++i) {
    count_reads(i);
    const BlockStep<V> step{p.piggyback[i - 1], p.prefetch[i - 1], p.transfer[i - 1], p.transfer[i],
                            hold[i] * static_cast<V>(k), p.hit[i], static_cast<V>(k)};
    const std::uint16_t* rj = reads_at(i - 1);
    const std::uint16_t* ri = reads_at(i);
    std::uint8_t* st = s.block_step.data() + static_cast<std::size_t>(i) * blocks;
    for (const Segment& seg : segs) {
      const SegmentBlocks sb(seg.prompt + i, k);
      const std::size_t g0 = first_block(seg), g = g0 + sb.full;
      advance_whole_blocks(s.in.data() + g0, s.out.data() + g0, rj + g0, ri + g0, st + g0, sb.full, step);
      advance_new_token_block(s.in[g], s.out[g], sb.before, sb.before > 0 ? rj[g] : 0U, ri[g], st[g], step);
    }
  }

  // Traceback from the last state: in where that is strictly cheaper.
  for (const Segment& seg : segs) {
    const std::size_t g0 = first_block(seg);
    for (std::size_t g = g0; g < g0 + blocks_for(seg.prompt + D - 1, k); ++g) s.held[g] = s.in[g] < s.out[g] ? 1 : 0;
  }
  for (std::uint32_t i = D; i-- > 0;) {
    const std::uint16_t* ri = reads_at(i);
    std::uint64_t held = 0, hits = 0, missed = 0;  // missed: blocks out of HBM and read (transfers)
    for (const Segment& seg : segs) {
      const std::uint32_t exist = seg.prompt + i;
      const std::size_t g0 = first_block(seg);
      for (std::size_t g = g0; g < g0 + blocks_for(exist, k); ++g) {
        if (s.held[g] == 0) {
          missed += ri[g] != 0 ? 1 : 0;
          continue;
        }
        held += k;
        hits += ri[g];
        if (held_bits != nullptr) {  // the block's existing tokens
          Word* row = held_bits + static_cast<std::size_t>(i) * W;
          const std::size_t end = std::min<std::size_t>(g * k + k, g0 * k + exist);
          for (std::size_t t = g * k; t < end; ++t) set_bit(row, t);
        }
      }
    }
    occupancy[i] += held;
    const std::size_t ki = static_cast<std::size_t>(i) * L + l;
    counts.hits[ki] = static_cast<std::uint32_t>(hits);
    counts.transfers[ki] += static_cast<std::uint32_t>(missed);
    if (i == 0) break;
    const std::uint16_t* rj = reads_at(i - 1);
    const std::uint8_t* st = s.block_step.data() + static_cast<std::size_t>(i) * blocks;
    std::uint64_t piggyback = 0, prefetch = 0, promoted_unread = 0;
    std::uint32_t kept = 0;
    for (const Segment& seg : segs) {
      const SegmentBlocks sb(seg.prompt + i, k);
      const std::size_t g0 = first_block(seg);
      for (std::size_t g = g0; g < g0 + sb.count(); ++g) {
        if (s.held[g] == 0) {
          s.held[g] = (st[g] & kFromIn) != 0 ? 1 : 0;
          continue;
        }
        const bool takes_new = g == g0 + sb.full;
        kept += takes_new ? 1 : 0;
        if ((st[g] & kFromOut) == 0) continue;
        const std::uint32_t before = takes_new ? sb.before : k;
        const std::uint32_t r = before > 0 ? rj[g] : 0;
        piggyback += r;
        prefetch += before - r;
        promoted_unread += r == 0 && before > 0 ? 1 : 0;
        s.held[g] = 0;
      }
    }
    const std::size_t kj = static_cast<std::size_t>(i - 1) * L + l;
    counts.piggyback[kj] = static_cast<std::uint32_t>(piggyback);
    counts.prefetch[kj] = static_cast<std::uint32_t>(prefetch);
    counts.kept_new[kj] = kept;
    counts.transfers[kj] += static_cast<std::uint32_t>(promoted_unread);
  }
}

template void cheapest_paths<float>(const StepMajorReads&, std::uint32_t, const LayerPrices<float>&,
                                    const std::vector<float>&, PathCounts&, std::vector<std::uint64_t>&, PathKernel, PathScratch<float>&, core::Word*);
template void cheapest_paths<double>(const StepMajorReads&, std::uint32_t, const LayerPrices<double>&,
                                     const std::vector<double>&, PathCounts&, std::vector<std::uint64_t>&, PathKernel, PathScratch<double>&, core::Word*);

template void cheapest_block_paths<float>(const StepMajorReads&, std::uint32_t, const LayerPrices<float>&,
                                          const std::vector<float>&, PathCounts&, std::vector<std::uint64_t>&,
                                          PathScratch<float>&, core::Word*);
template void cheapest_block_paths<double>(const StepMajorReads&, std::uint32_t, const LayerPrices<double>&,
                                           const std::vector<double>&, PathCounts&, std::vector<std::uint64_t>&,
                                           PathScratch<double>&, core::Word*);

}  // namespace kvsweep::bound::detail
