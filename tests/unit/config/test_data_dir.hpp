#pragma once
// Where the test inputs live: $KVSWEEP_TEST_DATA when set (ctest sets it), else the compile definition.

#include <cstdlib>
#include <filesystem>

namespace kvsweep::config::test {

inline std::filesystem::path test_data_dir() {
  if (const char* env = std::getenv("KVSWEEP_TEST_DATA"); env != nullptr && *env != '\0') return env;
  return KVSWEEP_TEST_DATA;
}

}  // namespace kvsweep::config::test
