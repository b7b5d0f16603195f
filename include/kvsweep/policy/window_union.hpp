#pragma once
// U = S(n+1, l) ∪ ... ∪ S(n+K, l) for every step n of a policy with a K-step look-ahead, at an
// amortised cost of about three word passes per layer and step whatever K is (instead of K passes).
// Steps are cut into aligned blocks of K (van Herk / Gil-Werman): a window [a, b] is the suffix of a's
// block from a, plus the prefix of b's block up to b. Suffixes are built once per block; the prefix
// grows by one step per step.
#include <cstdint>
#include <vector>

#include "kvsweep/policy/policy.hpp"

namespace kvsweep::policy {

class WindowUnion {
 public:
  WindowUnion(std::uint32_t layers, std::size_t words, std::uint32_t block)
      : block_(block), words_(words), layers_(layers) {}

  // The union for layer l at window w's step (j = w.n() - P) over k = 1..k_max.
  const std::vector<core::Word>& get(const StepWindow& w, std::uint32_t l, std::uint32_t k_max) {
    Layer& s = layers_[l];
    s.result.assign(words_, 0);
    if (k_max == 0) return s.result;
    const std::uint32_t j = w.n() - w.shape().prompt_tokens;
    const std::uint32_t a = j + 1, b = j + k_max;  // absolute steps of the window
    const std::uint32_t block_a = a / block_, block_b = b / block_;
    auto row = [&](std::uint32_t step) { return w.reads(step - j, l).data(); };
    if (s.suffix_block != block_a || s.suffix_end < std::min(b, (block_a + 1) * block_ - 1)) {
      // Suffixes of a's block from its last available step down to a.
      const std::uint32_t start = block_a * block_;
      const std::uint32_t last = std::min(b, start + block_ - 1);
      s.suffix.resize(block_);
      for (std::uint32_t x = last + 1; x-- > a;) {
        auto& cur = s.suffix[x - start];
        cur.resize(words_);
        const core::Word* r = row(x);
        if (x == last) {
          for (std::size_t i = 0; i < words_; ++i) cur[i] = r[i];
        } else {
          const auto& next = s.suffix[x + 1 - start];
          for (std::size_t i = 0; i < words_; ++i) cur[i] = r[i] | next[i];
        }
      }
      s.suffix_block = block_a;
      s.suffix_end = last;
      s.suffix_from = a;
    }
    const auto& suf = s.suffix[a - block_a * block_];
    if (block_b == block_a) {
      for (std::size_t i = 0; i < words_; ++i) s.result[i] = suf[i];
      return s.result;
    }
    if (s.prefix_block != block_b) {
      s.prefix.assign(words_, 0);
      s.prefix_block = block_b;
      s.prefix_end = block_b * block_ - 1;  // nothing of the block yet
    }
    for (std::uint32_t x = s.prefix_end + 1; x <= b; ++x) {
      const core::Word* r = row(x);
      for (std::size_t i = 0; i < words_; ++i) s.prefix[i] |= r[i];
    }
    s.prefix_end = std::max(s.prefix_end, b);
    for (std::size_t i = 0; i < words_; ++i) s.result[i] = suf[i] | s.prefix[i];
    return s.result;
  }

 private:
  struct Layer {
    std::vector<std::vector<core::Word>> suffix;  // [x - block start]: S(x) ∪ ... ∪ S(block end)
    std::uint32_t suffix_block = ~std::uint32_t{0};
    std::uint32_t suffix_end = 0;
    std::uint32_t suffix_from = 0;
    std::vector<core::Word> prefix;  // S(block start) ∪ ... ∪ S(prefix_end)
    std::uint32_t prefix_block = ~std::uint32_t{0};
    std::uint32_t prefix_end = 0;
    std::vector<core::Word> result;
  };
  std::uint32_t block_;
  std::size_t words_;
  std::vector<Layer> layers_;
};

}  // namespace kvsweep::policy
