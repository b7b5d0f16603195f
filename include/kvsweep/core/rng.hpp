#pragma once
// Counter-based seeding: every random stream is derived from (sweep/point seed, purpose, indices),
// never from a rank or thread id, so results do not depend on how work is scheduled.

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace kvsweep::core {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A seed for the stream named by `parts` (for example {seed, kStreamLayer, layer}).
constexpr std::uint64_t derive_seed(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = 0x6a09e667f3bcc909ULL;
  for (std::uint64_t p : parts) h = splitmix64(h ^ splitmix64(p));
  return h;
}

// xoshiro256** (Blackman & Vigna): fast, 256-bit state, good statistical quality.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed) {
    for (auto& s : s_) s = seed = splitmix64(seed);
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform double in [0, 1).
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, bound), bound > 0 (Lemire's multiply-shift, bias < 2^-32 for our sizes).
  std::uint64_t below(std::uint64_t bound) {
    __extension__ using U128 = unsigned __int128;  // GCC/Clang extension, silenced for -Wpedantic
    return static_cast<std::uint64_t>((static_cast<U128>((*this)()) * bound) >> 64);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Geometric number of trials until the first success, >= 1, with mean `mean` >= 1.
  std::uint64_t geometric(double mean);

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace kvsweep::core
