#pragma once
// What both exact models promise about their size limit (exact_test.cpp, exact_batch_test.cpp): one
// binary above the model refuses, naming the count; at the model's own count it solves to proof.

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "kvsweep/oracle/exact.hpp"

namespace kvsweep::testing {

template <class Instance>
void expect_refused_above_its_size(const Instance& inst, std::uint64_t binaries) {
  oracle::ExactOptions o;
  o.max_binaries = binaries - 1;
  try {
    oracle::solve_exact(inst, o);
    FAIL() << "expected a refusal above the size limit";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(binaries)), std::string::npos) << e.what();
  }
  o.max_binaries = binaries;
  EXPECT_TRUE(oracle::solve_exact(inst, o).proven_optimal);
}

}  // namespace kvsweep::testing
