#pragma once
// Which reads a schedule misses, by reuse distance: for every read of S(n) that is not a hit (not in
// R(n - 1), the judge's definition), the number of decode steps since the same entry was last read,
// in classes "first" (not read before in the decode: a prompt token's first decode read, or a token
// generated since), 1, 2-4, 5-16, 17-64, 65-256, >256. Reads of every class are counted too (the
// trace's own reuse profile), so a class's miss rate is misses / reads there.
// Fed by the simulator's observer (kvsweep eval --misses); costs a stamp per read (vectorised) and a
// lookup per miss.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/cost/residency.hpp"

namespace kvsweep::cost {

struct MissProfile {
  static constexpr std::size_t kClasses = 7;
  static constexpr std::array<std::string_view, kClasses> kNames = {"first", "1", "2-4", "5-16", "17-64", "65-256", ">256"};
  std::array<std::uint64_t, kClasses> reads{};
  std::array<std::uint64_t, kClasses> misses{};
  // The class of a reuse distance d >= 1 (0: "first").
  static std::size_t class_of(std::uint32_t d);
};

class MissProfiler {
 public:
  MissProfiler(std::uint32_t layers, std::size_t tokens, std::uint32_t prompt_tokens);
  // The schedule after place_prefill (n = P - 1, no reads) or after step n with its reads S(n, ·).
  void observe(std::uint32_t n, const Residency& r, std::span<const core::TokenBitset> reads);
  const MissProfile& profile() const { return profile_; }

 private:
  std::uint32_t prompt_tokens_;
  Residency previous_;
  std::vector<std::vector<std::uint32_t>> last_;  // [layer][token]: n - P + 1 of its last read (0: none)
  MissProfile profile_;
};

}  // namespace kvsweep::cost
