#pragma once
// Stable 64-bit hashes of text, for identifiers that must not change between runs, machines or
// versions (point ids, sweep hashes): FNV-1a over the bytes, then splitmix64 so that texts differing in
// one byte differ in every hex digit.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {

constexpr std::uint64_t hash_text(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return splitmix64(h);
}

// 16 lower-case hex digits.
inline std::string hex16(std::uint64_t h) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace kvsweep::core
