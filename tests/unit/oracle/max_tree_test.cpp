// MaxTree against a plain array: random runs of +1/-1, refreshed in the order the annealer uses
// (several edits, then refresh of each), and maxima over random intervals, short and long.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/oracle/max_tree.hpp"

namespace {

using kvsweep::oracle::MaxTree;

TEST(MaxTree, MaximaMatchAPlainArrayUnderRandomRuns) {
  for (std::uint32_t size : {1U, 2U, 17U, 64U, 100U, 1000U, 4097U}) {
    kvsweep::core::Rng rng(size);
    MaxTree tree(size);
    std::vector<std::uint32_t> plain(size);
    for (std::uint32_t i = 0; i < size; ++i) {
      plain[i] = static_cast<std::uint32_t>(rng.below(50)) + 10;
      tree.set_leaf(i, plain[i]);
    }
    tree.build();
    for (int round = 0; round < 300; ++round) {
      // Up to three edits before the refresh, like a move of two entries.
      std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;
      for (int k = 0, n = 1 + static_cast<int>(rng.below(3)); k < n; ++k) {
        const auto a = static_cast<std::uint32_t>(rng.below(size));
        const auto b = a + 1 + static_cast<std::uint32_t>(rng.below(std::min<std::uint32_t>(size - a, 200)));
        const int delta = rng.bernoulli(0.5) ? 1 : -1;
        tree.add_leaves(a, b, delta);
        for (std::uint32_t i = a; i < b; ++i) plain[i] = static_cast<std::uint32_t>(static_cast<int>(plain[i]) + delta);
        runs.emplace_back(a, b);
      }
      for (const auto& [a, b] : runs) tree.refresh(a, b);
      for (int q = 0; q < 20; ++q) {
        const auto a = static_cast<std::uint32_t>(rng.below(size));
        const auto b = a + 1 + static_cast<std::uint32_t>(rng.below(size - a));
        ASSERT_EQ(tree.max(a, b), *std::max_element(plain.begin() + a, plain.begin() + b))
            << "size " << size << " [" << a << ", " << b << ")";
      }
      for (std::uint32_t i = 0; i < size; ++i) ASSERT_EQ(tree.at(i), plain[i]);
    }
  }
}

}  // namespace
