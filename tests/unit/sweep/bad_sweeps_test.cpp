// Every file in tests/data/sweeps/bad/*.yaml must be rejected with exactly one diagnostic, the one its
// first line names ("# expect: L:C fragment"); its second line says what is wrong.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kvsweep/sweep/sweep.hpp"
#include "support/bad_input_corpus.hpp"

namespace kvsweep::sweep {
namespace {

std::vector<std::string> bad_sweep_files() {
  const char* env = std::getenv("KVSWEEP_TEST_DATA");  // ctest sets it; else the path compiled in
  const std::filesystem::path data = env != nullptr && *env != '\0' ? env : KVSWEEP_TEST_DATA;
  return testing::corpus_files(data / "sweeps" / "bad");
}

class BadSweepFile : public ::testing::TestWithParam<std::string> {};

TEST_P(BadSweepFile, IsRejectedWithItsExpectedDiagnostic) {
  testing::expect_rejected_as_written(
      GetParam(), [](const std::string& path) { return load_sweep_file(path).points.size(); });
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSweepFile, ::testing::ValuesIn(bad_sweep_files()),
                         testing::corpus_test_name);

TEST(BadSweepCorpus, HasEveryKindOfSweepError) {
  testing::expect_corpus_has(
      bad_sweep_files(),
      {"zip_length_mismatch", "zip_not_an_axis", "zip_single_value", "exclude_unknown_axis",
       "exclude_value_not_on_axis", "exclude_everything", "element_out_of_range", "empty_axis", "seed_list",
       "duplicate_points", "duplicate_axis_value", "too_many_points", "unknown_key", "syntax_error",
       "second_document"});
}

}  // namespace
}  // namespace kvsweep::sweep
