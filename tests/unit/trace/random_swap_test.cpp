// The random-swap generator (the authors' Fig. 4 family): exact budgets inside the window, oldest
// members replaced first, the Jaccard its swap share promises, determinism under any thread count.
#include "kvsweep/trace/random_swap.hpp"

#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "kvsweep/trace/synthetic.hpp"

namespace kvsweep::trace {
namespace {

using config::SyntheticModel;
using config::SyntheticParams;
using core::TokenBitset;

SyntheticParams swap_params(double sparsity, double target_jaccard) {
  SyntheticParams p;
  p.model = SyntheticModel::kRandomSwap;
  p.sparsity = sparsity;
  p.target_jaccard = target_jaccard;
  return p;
}

std::vector<std::uint32_t> members(const TokenBitset& b) {
  std::vector<std::uint32_t> out;
  b.for_each([&](std::size_t t) { out.push_back(static_cast<std::uint32_t>(t)); });
  return out;
}

TEST(RandomSwap, SwapShareFollowsTheJaccardTargetUnlessGiven) {
  SyntheticParams p = swap_params(0.6, 0.8);
  EXPECT_NEAR(config::random_swap_share(p), 0.2 / 1.8, 1e-15);
  p.swap_share = 0.1;  // the authors' diff_ratio
  EXPECT_DOUBLE_EQ(config::random_swap_share(p), 0.1);
  // The window: lo = floor((1 - min(1, r + f (1 - r))) n).
  p.sparsity = 0.5;
  p.window_share = 0.5;
  EXPECT_EQ(random_swap_window_start(p, 1000), 250u);  // 1 - (0.5 + 0.25), exact in binary
  p.window_share = 1;
  EXPECT_EQ(random_swap_window_start(p, 1000), 0u);
}

// Every (n, l): |S| = k(n) = round(r n), all tokens < n; new tokens come from the window; the tokens
// that leave are older than every token that stays; the mean Jaccard is the target.
TEST(RandomSwap, BudgetsWindowOldestFirstAndJaccard) {
  for (const auto& [sparsity, target] : {std::pair{0.6, 0.8}, std::pair{0.9, 0.95}, std::pair{0.4, 0.6}}) {
    SCOPED_TRACE(::testing::Message() << "sparsity " << sparsity << " target " << target);
    const SyntheticParams p = swap_params(sparsity, target);
    const TraceShape s{3000, 400, 3};
    auto src = make_synthetic_source(p, s, 7);
    std::vector<TokenBitset> prev(s.layers, TokenBitset(s.total_tokens())), cur = prev;
    double jaccard_sum = 0;
    for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
      src->read_step(n, cur);
      const std::uint32_t k = read_layout(p, n).budget;
      const std::uint32_t lo = random_swap_window_start(p, n);
      for (std::uint32_t l = 0; l < s.layers; ++l) {
        const auto now = members(cur[l]);
        ASSERT_EQ(now.size(), k) << "n " << n;
        ASSERT_LT(now.back(), n);
        if (n == s.prompt_tokens) {
          ASSERT_GE(now.front(), lo);
          continue;
        }
        const auto before = members(prev[l]);
        std::vector<std::uint32_t> left, stayed, came;
        std::set_difference(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(left));
        std::set_intersection(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(stayed));
        std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(came));
        for (std::uint32_t t : came) ASSERT_GE(t, lo) << "n " << n << ": new token outside the window";
        if (!left.empty() && !stayed.empty()) {
          ASSERT_LT(left.back(), stayed.front()) << "n " << n << ": a younger token left before an older one";
        }
        jaccard_sum += static_cast<double>(stayed.size()) /
                       static_cast<double>(before.size() + now.size() - stayed.size());
      }
      std::swap(prev, cur);
    }
    const double mean = jaccard_sum / ((s.decode_tokens - 1.0) * s.layers);
    EXPECT_NEAR(mean, target, 0.005);
  }
}

TEST(RandomSwap, DeterministicUnderAnyThreadCountAndSeedSensitive) {
  const SyntheticParams p = swap_params(0.6, 0.8);
  const TraceShape s{500, 60, 4};
  const ExplicitTrace a = materialise(*make_synthetic_source(p, s, 3));
  ExplicitTrace one;
  tbb::task_arena(1).execute([&] { one = materialise(*make_random_swap_source(p, s, 3, false)); });
  EXPECT_EQ(a.tokens, one.tokens);
  EXPECT_NE(a.tokens, materialise(*make_synthetic_source(p, s, 4)).tokens);
}

TEST(RandomSwap, OutOfOrderStepsAndBadParametersThrow) {
  SyntheticParams p = swap_params(0.6, 0.8);
  const TraceShape s{100, 10, 2};
  auto src = make_synthetic_source(p, s, 1);
  std::vector<TokenBitset> step(s.layers, TokenBitset(s.total_tokens()));
  EXPECT_THROW(src->read_step(101, step), std::logic_error);
  p.window_share = 1.5;
  EXPECT_THROW(make_synthetic_source(p, s, 1), std::invalid_argument);
}

}  // namespace
}  // namespace kvsweep::trace
