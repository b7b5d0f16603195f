#pragma once
// Helpers shared by the trace tests: the test data folder, a per-test temporary folder, random traces.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/trace/source.hpp"
#include "support/temp_dir.hpp"

namespace kvsweep::trace::test {

// $KVSWEEP_TEST_DATA when set (CTest sets it), else the path compiled in.
inline std::string data_dir() {
  const char* env = std::getenv("KVSWEEP_TEST_DATA");
  return env != nullptr && *env != '\0' ? env : KVSWEEP_TEST_DATA;
}

using kvsweep::testing::TempDirTest;

// A random trace mixing empty, full and partly read lists.
inline ExplicitTrace random_trace(TraceShape shape, std::uint64_t seed) {
  core::Rng rng(seed);
  ExplicitTrace t{shape, {}};
  t.tokens.resize(static_cast<std::size_t>(shape.decode_tokens) * shape.layers);
  for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) {
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      const double p = rng.below(4) == 0 ? (rng.bernoulli(0.5) ? 0.0 : 1.0) : rng.uniform();
      for (std::uint32_t tok = 0; tok < n; ++tok) {
        if (rng.uniform() < p) t.reads(n, l).push_back(tok);
      }
    }
  }
  return t;
}

}  // namespace kvsweep::trace::test
