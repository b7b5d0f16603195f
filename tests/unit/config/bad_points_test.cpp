// Every file in tests/data/bad_points/*.yaml must be rejected with exactly one diagnostic. Its first line
// says which: "# expect: L:C fragment" (where ends with ":L:C", message contains fragment) or
// "# expect: file fragment" (where is the file itself, for problems with no position).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "test_data_dir.hpp"

namespace kvsweep::config {
namespace {

std::vector<std::string> bad_point_files() {
  std::vector<std::string> files;
  const auto dir = test::test_data_dir() / "bad_points";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Expectation {
  std::string position;  // "3:1", or "file"
  std::string fragment;
};

Expectation read_expectation(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::string tag = "# expect: ";
  EXPECT_EQ(line.rfind(tag, 0), 0u) << path << ": first line must start with '" << tag << "'";
  const std::string rest = line.size() > tag.size() ? line.substr(tag.size()) : "";
  const auto space = rest.find(' ');
  return {rest.substr(0, space), space == std::string::npos ? "" : rest.substr(space + 1)};
}

class BadPointFile : public ::testing::TestWithParam<std::string> {};

TEST_P(BadPointFile, IsRejectedWithItsExpectedDiagnostic) {
  const std::string path = GetParam();
  const Expectation want = read_expectation(path);
  ASSERT_FALSE(want.fragment.empty()) << path;
  try {
    const auto points = load_point_file(path);
    FAIL() << path << " was accepted (" << points.size() << " points)";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << path << ":\n" << e.what();
    const core::Diagnostic& d = e.diagnostics().front();
    if (want.position == "file") {
      EXPECT_EQ(d.where, path);
    } else {
      const std::string suffix = ":" + want.position;
      EXPECT_TRUE(d.where.size() >= suffix.size() && d.where.ends_with(suffix))
          << "where '" << d.where << "' does not end with '" << suffix << "'";
      EXPECT_EQ(d.where.rfind(path, 0), 0u) << "where '" << d.where << "' does not name the file";
    }
    EXPECT_NE(d.message.find(want.fragment), std::string::npos)
        << "message '" << d.message << "' lacks '" << want.fragment << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadPointFile, ::testing::ValuesIn(bad_point_files()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = std::filesystem::path(param_info.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(BadPointCorpus, HasTheRequiredCases) {
  const auto files = bad_point_files();
  EXPECT_GE(files.size(), 12u);
  for (const char* stem :
       {"unknown_key", "bad_hardware_preset", "sparsity_out_of_range", "two_capacity_keys",
        "non_integer_tokens", "unknown_policy", "duplicate_policy", "syntax_error", "list_instead_of_scalar",
        "missing_required_key", "inline_model_missing_field", "trace_file_missing"}) {
    const bool found = std::any_of(files.begin(), files.end(), [&](const std::string& f) {
      return std::filesystem::path(f).stem() == stem;
    });
    EXPECT_TRUE(found) << stem;
  }
}

}  // namespace
}  // namespace kvsweep::config
