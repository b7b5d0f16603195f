// The authors' random-swap generator (trace/random_swap.hpp): one read set per layer, topped up and
// partly replaced, oldest first, at every step.
#include "kvsweep/trace/random_swap.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/trace/synthetic.hpp"

namespace kvsweep::trace {

namespace {

constexpr std::uint64_t kStreamSwap = 0x726e642d73776170ULL;  // "rnd-swap"

class SwapLayer {
 public:
  SwapLayer(std::uint32_t tokens, std::uint64_t seed) : set_(tokens), rng_(seed) {}

  // Advances to step n: the first call fills the window, later ones top up and swap.
  void step(std::uint32_t n, std::uint32_t k, std::uint32_t lo, double swap_share, bool first) {
    if (first) {
      add_random(k, lo, n);
      return;
    }
    if (k > size_) {
      add_random(k - size_, lo, n);
    } else if (k < size_) {
      drop_oldest(size_ - k);
    }
    const auto m = static_cast<std::uint32_t>(
        std::min<double>(size_, std::floor(swap_share * size_ + rng_.uniform())));
    if (m == 0) return;
    // The m oldest members leave; their replacements are drawn while they still count as members, so
    // a token that leaves cannot come back in the same step.
    oldest_.clear();
    for (std::size_t t = set_.find_next(0); oldest_.size() < m; t = set_.find_next(t + 1)) {
      oldest_.push_back(static_cast<std::uint32_t>(t));
    }
    const std::uint32_t added = add_random(m, lo, n);
    // With fewer free window tokens than m (a window nearly full), only as many leave as came in.
    for (std::uint32_t i = 0; i < added; ++i) set_.reset(oldest_[i]);
    size_ -= added;
  }

  void copy_to(core::TokenBitset& out) const {
    const auto src = set_.words();
    auto dst = out.words();
    std::copy(src.begin(), src.end(), dst.begin());
    std::fill(dst.begin() + static_cast<std::ptrdiff_t>(src.size()), dst.end(), core::Word{0});
  }

 private:
  // Adds up to `count` tokens of [lo, n) not in the set, uniformly without replacement; returns how many.
  std::uint32_t add_random(std::uint32_t count, std::uint32_t lo, std::uint32_t n) {
    if (lo >= n || count == 0) return 0;
    const std::uint32_t width = n - lo;
    const auto free = static_cast<std::uint32_t>(width - set_.count_range(lo, n));
    count = std::min(count, free);
    if (count == 0) return 0;
    if (static_cast<std::uint64_t>(count) * 4 < free) {
      // Sparse: rejection sampling, expected < 4/3 draws per token.
      for (std::uint32_t added = 0; added < count;) {
        const auto t = lo + static_cast<std::uint32_t>(rng_.below(width));
        if (!set_.test(t)) {
          set_.set(t);
          ++added;
        }
      }
    } else {
      // Dense: list the free tokens and take a uniform subset (partial Fisher-Yates).
      candidates_.clear();
      for (std::size_t t = set_.find_next_clear(lo, n); t < n; t = set_.find_next_clear(t + 1, n)) {
        candidates_.push_back(static_cast<std::uint32_t>(t));
      }
      for (std::uint32_t i = 0; i < count; ++i) {
        const auto j = i + static_cast<std::uint32_t>(rng_.below(candidates_.size() - i));
        std::swap(candidates_[i], candidates_[j]);
        set_.set(candidates_[i]);
      }
    }
    size_ += count;
    return count;
  }

  void drop_oldest(std::uint32_t count) {
    for (std::size_t t = set_.find_next(0); count > 0; t = set_.find_next(t + 1), --count, --size_) {
      set_.reset(t);
    }
  }

  core::TokenBitset set_;
  std::uint32_t size_ = 0;
  core::Rng rng_;
  std::vector<std::uint32_t> oldest_;
  std::vector<std::uint32_t> candidates_;
};

class RandomSwapSource final : public TraceSource {
 public:
  RandomSwapSource(const config::SyntheticParams& p, TraceShape shape, std::uint64_t seed, bool parallel)
      : params_(p), shape_(shape), parallel_(parallel), swap_share_(config::random_swap_share(p)),
        next_step_(shape.prompt_tokens) {
    require_valid(p);
    layers_.reserve(shape.layers);
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      layers_.emplace_back(shape.total_tokens(), core::derive_seed({seed, kStreamSwap, l}));
    }
  }

  TraceShape shape() const override { return shape_; }

  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    if (n != next_step_ || n >= shape_.total_tokens()) {
      throw std::logic_error("random_swap trace: step " + std::to_string(n) + " requested, expected " +
                             std::to_string(next_step_) + " (steps run in order up to " +
                             std::to_string(shape_.total_tokens()) + ")");
    }
    if (reads.size() < shape_.layers) throw std::logic_error("random_swap trace: fewer bitsets than layers");
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      if (reads[l].capacity() < shape_.total_tokens()) {
        throw std::logic_error("random_swap trace: bitset smaller than P + D");
      }
    }
    const std::uint32_t k = read_layout(params_, n).budget;
    const std::uint32_t lo = random_swap_window_start(params_, n);
    const bool first = n == shape_.prompt_tokens;
    auto run = [&](std::uint32_t l) {
      layers_[l].step(n, k, lo, swap_share_, first);
      layers_[l].copy_to(reads[l]);
    };
    if (parallel_ && shape_.layers > 1) {
      tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, shape_.layers),
                        [&](const tbb::blocked_range<std::uint32_t>& r) {
                          for (std::uint32_t l = r.begin(); l < r.end(); ++l) run(l);
                        });
    } else {
      for (std::uint32_t l = 0; l < shape_.layers; ++l) run(l);
    }
    ++next_step_;
  }

 private:
  config::SyntheticParams params_;
  TraceShape shape_;
  bool parallel_;
  double swap_share_;
  std::uint32_t next_step_;
  std::vector<SwapLayer> layers_;
};

}  // namespace

std::uint32_t random_swap_window_start(const config::SyntheticParams& p, std::uint32_t n) {
  const double r = 1 - p.sparsity;
  const double threshold = std::min(1.0, r + p.window_share * (1 - r));
  return std::min(n, static_cast<std::uint32_t>(std::floor((1 - threshold) * n)));
}

std::unique_ptr<TraceSource> make_random_swap_source(const config::SyntheticParams& p, TraceShape shape,
                                                     std::uint64_t seed, bool parallel_layers) {
  return std::make_unique<RandomSwapSource>(p, shape, seed, parallel_layers);
}

}  // namespace kvsweep::trace
