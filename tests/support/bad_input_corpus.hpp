#pragma once
// A corpus of bad input files, each rejected with exactly one diagnostic that its first line names:
//   "# expect: L:C fragment"  where ends with ":L:C" and the message contains fragment, or
//   "# expect: file fragment" where is the file itself (problems with no position).
// Used for tests/data/bad_points (point files) and tests/data/sweeps/bad (sweep files).

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::testing {

// dir/*.yaml, sorted.
inline std::vector<std::string> corpus_files(const std::filesystem::path& dir) {
  std::vector<std::string> files;
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

inline Expectation read_expectation(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::string tag = "# expect: ";
  EXPECT_EQ(line.rfind(tag, 0), 0u) << path << ": first line must start with '" << tag << "'";
  const std::string rest = line.size() > tag.size() ? line.substr(tag.size()) : "";
  const auto space = rest.find(' ');
  return {rest.substr(0, space), space == std::string::npos ? "" : rest.substr(space + 1)};
}

// Checks that load(path) throws core::InputError with the one diagnostic the file expects. `load`
// returns how many things it accepted (for the failure message).
inline void expect_rejected_as_written(const std::string& path,
                                       const std::function<std::size_t(const std::string&)>& load) {
  const Expectation want = read_expectation(path);
  ASSERT_FALSE(want.fragment.empty()) << path;
  try {
    const std::size_t n = load(path);
    FAIL() << path << " was accepted (" << n << " points)";
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

// The file's stem as a test name ("zip_not_an_axis").
inline std::string corpus_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Whether `files` holds one file with each of `stems`.
inline void expect_corpus_has(const std::vector<std::string>& files, const std::vector<std::string>& stems) {
  for (const auto& stem : stems) {
    const bool found = std::any_of(files.begin(), files.end(), [&](const std::string& f) {
      return std::filesystem::path(f).stem() == stem;
    });
    EXPECT_TRUE(found) << stem;
  }
}

}  // namespace kvsweep::testing
