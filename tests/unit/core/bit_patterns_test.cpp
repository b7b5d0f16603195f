// The pattern kernels against the definition, bit by bit, on random rows of every length.
#include "kvsweep/core/bit_patterns.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {
namespace {

struct ScalarKernel {
  explicit ScalarKernel(bool on) { force_scalar_bit_patterns(on); }
  ~ScalarKernel() { force_scalar_bit_patterns(false); }
};

TEST(BitPatterns, ClassifyAndSplitFollowTheirDefinitions) {
  for (const bool scalar : {false, true}) {
    const ScalarKernel kernel(scalar);
    for (std::uint32_t row_count = 1; row_count <= kMaxPatternRows; ++row_count) {
      Rng rng(row_count);
      const std::size_t words = 1 + rng.below(70);
      std::vector<std::vector<Word>> rows(row_count, std::vector<Word>(words));
      std::vector<const Word*> ptrs;
      for (auto& r : rows) {
        for (Word& x : r) x = rng() & rng();  // ~25 % density
        ptrs.push_back(r.data());
      }
      std::vector<Word> cand(words);
      for (Word& x : cand) x = rng.below(4) == 0 ? 0 : rng() & rng() & rng();
      // A table of distinct values so that every pattern bit shows.
      std::vector<std::uint32_t> class_of(std::size_t{1} << row_count);
      for (std::size_t p = 0; p < class_of.size(); ++p) class_of[p] = static_cast<std::uint32_t>(p * 2654435761U);
      std::vector<std::uint32_t> dense(words * kWordBits + kDenseSlack, 0xdeadbeef);
      const std::size_t count = classify_patterns(ptrs.data(), row_count, cand.data(), words, class_of.data(), dense.data());
      std::vector<std::uint32_t> want;
      for (std::size_t i = 0; i < words; ++i) {
        for (std::uint32_t b = 0; b < kWordBits; ++b) {
          if (((cand[i] >> b) & 1) == 0) continue;
          std::uint32_t p = 0;
          for (std::uint32_t k = 0; k < row_count; ++k) p |= static_cast<std::uint32_t>((rows[k][i] >> b) & 1) << k;
          want.push_back(class_of[p]);
        }
      }
      ASSERT_EQ(count, want.size()) << bit_patterns_kernel() << ", " << row_count << " rows";
      ASSERT_EQ(std::vector<std::uint32_t>(dense.begin(), dense.begin() + static_cast<std::ptrdiff_t>(count)), want)
          << bit_patterns_kernel() << ", " << row_count << " rows";
      const std::uint32_t shift = row_count % 5;
      const std::uint32_t cut = want.empty() ? 0 : want[want.size() / 2] >> shift;
      std::vector<Word> below(words), at(words);
      split_at_class(dense.data(), cand.data(), words, shift, cut, below.data(), at.data());
      std::size_t j = 0;
      for (std::size_t i = 0; i < words; ++i) {
        Word lt = 0, eq = 0;
        for (std::uint32_t b = 0; b < kWordBits; ++b) {
          if (((cand[i] >> b) & 1) == 0) continue;
          const std::uint32_t c = want[j++] >> shift;
          lt |= static_cast<Word>(c < cut) << b;
          eq |= static_cast<Word>(c == cut) << b;
        }
        ASSERT_EQ(below[i], lt) << bit_patterns_kernel() << ", word " << i;
        ASSERT_EQ(at[i], eq) << bit_patterns_kernel() << ", word " << i;
      }
    }
  }
}

}  // namespace
}  // namespace kvsweep::core
