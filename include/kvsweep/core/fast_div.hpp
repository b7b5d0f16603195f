#pragma once
// Division by a run-time constant without a divide instruction, for hot loops that split a flat index
// (the oracle's entry e = l * tokens + t into l and t: a 64-bit div costs ~40 cycles, a tenth of a move).
// Exact for every 32-bit numerator: Lemire, Kaser, Kurz, "Faster remainder by direct computation" (2019),
// with M = ceil(2^64 / d).

#include <cstdint>
#include <stdexcept>

namespace kvsweep::core {

class FastDivider {
 public:
  FastDivider() = default;
  explicit FastDivider(std::uint32_t d) : d_(d), m_(d == 0 ? 0 : ~std::uint64_t{0} / d + 1) {
    if (d == 0) throw std::invalid_argument("FastDivider: division by zero");
  }
  std::uint32_t divisor() const { return d_; }
  // n / d for n < 2^32.
  std::uint32_t quotient(std::uint32_t n) const {
    __extension__ using U128 = unsigned __int128;
    // d = 1 gives M = 0 (2^64 wraps): the quotient is n itself.
    return d_ == 1 ? n : static_cast<std::uint32_t>((static_cast<U128>(m_) * n) >> 64);
  }
  std::uint32_t remainder(std::uint32_t n) const { return n - quotient(n) * d_; }

 private:
  std::uint32_t d_ = 1;
  std::uint64_t m_ = 0;
};

}  // namespace kvsweep::core
