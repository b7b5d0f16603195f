// The 64 x 64 transposes against the definition, bit by bit.
#include "kvsweep/core/bit_transpose.hpp"

#include <gtest/gtest.h>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::core {
namespace {

TEST(BitTranspose, EveryBitLandsWhereTheDefinitionSays) {
  for (const bool scalar : {false, true}) {
    force_scalar_bit_transpose(scalar);
    Rng rng(11);
    for (int trial = 0; trial < 200; ++trial) {
      Word in[64], out[64];
      for (Word& x : in) {
        x = rng();
        if (trial % 3 == 1) x &= rng() & rng();  // sparse
        if (trial % 5 == 2) x = rng.below(4) == 0 ? 0 : x;
      }
      transpose64(in, out);
      for (int i = 0; i < 64; ++i) {
        for (int j = 0; j < 64; ++j) {
          ASSERT_EQ((out[j] >> i) & 1, (in[i] >> j) & 1) << bit_transpose_kernel() << " trial " << trial << " (" << i << ", " << j << ")";
        }
      }
    }
    force_scalar_bit_transpose(false);
  }
}

}  // namespace
}  // namespace kvsweep::core
