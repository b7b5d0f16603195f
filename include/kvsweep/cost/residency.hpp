#pragma once
// R(n, ·): which (token, layer) KV entries sit in HBM, one bitset per layer.

#include <cstdint>
#include <vector>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::cost {

class Residency {
 public:
  Residency() = default;
  Residency(std::uint32_t layers, std::size_t tokens) : layers_(layers, core::TokenBitset(tokens)) {}

  std::uint32_t layers() const { return static_cast<std::uint32_t>(layers_.size()); }
  std::size_t tokens() const { return layers_.empty() ? 0 : layers_[0].capacity(); }
  core::TokenBitset& layer(std::uint32_t l) { return layers_[l]; }
  const core::TokenBitset& layer(std::uint32_t l) const { return layers_[l]; }
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (const auto& b : layers_) t += b.count();
    return t;
  }
  bool operator==(const Residency&) const = default;

 private:
  std::vector<core::TokenBitset> layers_;
};

}  // namespace kvsweep::cost
