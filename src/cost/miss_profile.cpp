#include "kvsweep/cost/miss_profile.hpp"

#include <algorithm>
#include <bit>

#include "kvsweep/core/masked_lanes.hpp"

namespace kvsweep::cost {

std::size_t MissProfile::class_of(std::uint32_t d) {
  if (d == 0) return 0;
  if (d == 1) return 1;
  // 2-4, 5-16, 17-64, 65-256: powers of four; beyond, the last class.
  const auto width = static_cast<std::size_t>(std::bit_width(d - 1));
  return std::min<std::size_t>(2 + (width - 1) / 2, kClasses - 1);
}

MissProfiler::MissProfiler(std::uint32_t layers, std::size_t tokens, std::uint32_t prompt_tokens)
    : prompt_tokens_(prompt_tokens), previous_(layers, tokens),
      last_(layers, std::vector<std::uint32_t>(core::words_for(tokens) * core::kWordBits, 0)) {}

void MissProfiler::observe(std::uint32_t n, const Residency& r, std::span<const core::TokenBitset> reads) {
  if (!reads.empty()) {
    const std::uint32_t now = n - prompt_tokens_ + 1;
    for (std::uint32_t l = 0; l < r.layers(); ++l) {
      const core::Word* s = reads[l].data();
      const core::Word* p = previous_.layer(l).data();
      std::uint32_t* last = last_[l].data();
      for (std::size_t w = 0, words = reads[l].word_count(); w < words; ++w) {
        for (core::Word x = s[w]; x != 0; x &= x - 1) {
          const std::size_t t = w * core::kWordBits + static_cast<std::size_t>(std::countr_zero(x));
          const std::size_t c = MissProfile::class_of(last[t] == 0 ? 0 : now - last[t]);
          ++profile_.reads[c];
          if (((p[w] >> (t % core::kWordBits)) & 1U) == 0) ++profile_.misses[c];
        }
      }
      core::assign_where(last, s, reads[l].word_count(), now);
    }
  }
  previous_ = r;
}

}  // namespace kvsweep::cost
