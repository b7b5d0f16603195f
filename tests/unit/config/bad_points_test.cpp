// Every file in tests/data/bad_points/*.yaml must be rejected with exactly one diagnostic. Its first line
// says which: "# expect: L:C fragment" (where ends with ":L:C", message contains fragment) or
// "# expect: file fragment" (where is the file itself, for problems with no position).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "support/bad_input_corpus.hpp"
#include "test_data_dir.hpp"

namespace kvsweep::config {
namespace {

std::vector<std::string> bad_point_files() {
  return testing::corpus_files(test::test_data_dir() / "bad_points");
}

class BadPointFile : public ::testing::TestWithParam<std::string> {};

TEST_P(BadPointFile, IsRejectedWithItsExpectedDiagnostic) {
  testing::expect_rejected_as_written(GetParam(),
                                      [](const std::string& path) { return load_point_file(path).size(); });
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadPointFile, ::testing::ValuesIn(bad_point_files()),
                         testing::corpus_test_name);

TEST(BadPointCorpus, HasTheRequiredCases) {
  const auto files = bad_point_files();
  EXPECT_GE(files.size(), 12u);
  testing::expect_corpus_has(
      files,
      {"unknown_key", "bad_hardware_preset", "sparsity_out_of_range", "two_capacity_keys",
       "non_integer_tokens", "unknown_policy", "duplicate_policy", "syntax_error", "list_instead_of_scalar",
       "missing_required_key", "inline_model_missing_field", "trace_file_missing",
       // issue 27: values that passed validate and failed later; a second YAML document; weights_in_dram
       "page_tokens_too_large", "capacity_gb_too_large", "capacity_gb_uint64_max", "prompt_tokens_too_large",
       "link_read_too_slow", "link_write_too_fast", "inline_hardware_bandwidth_too_slow",
       "inline_model_too_many_layers", "oracle_moves_too_many", "second_document", "bad_weights_in_dram"});
}

}  // namespace
}  // namespace kvsweep::config
