#include "kvsweep/trace/csv_trace.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "trace_test_util.hpp"

namespace kvsweep::trace {
namespace {

namespace fs = std::filesystem;
using test::data_dir;
using test::random_trace;

class CsvTraceTest : public test::TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

TEST_F(CsvTraceTest, RoundTripThroughCsvText) {
  const ExplicitTrace want = random_trace({50, 30, 3}, 7);
  std::ostringstream text;
  write_csv_trace(*make_explicit_source(want), text);
  const std::string p = write("t.csv", text.str());

  const CsvTrace csv = CsvTrace::open(p);
  EXPECT_EQ(csv.shape(), want.shape);
  std::uint64_t reads = 0;
  for (const auto& row : want.tokens) reads += row.size();
  EXPECT_EQ(csv.total_reads(), reads);
  auto source = csv.source();
  const ExplicitTrace got = materialise(*source);
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_EQ(got.tokens, want.tokens);
  // Sources are independent: a second one starts from the first step again.
  EXPECT_EQ(materialise(*csv.source()).tokens, want.tokens);
}

TEST_F(CsvTraceTest, AcceptsTheFormatVariants) {
  // Unquoted lists, no spaces, extra spaces, unsorted tokens, empty lists, CRLF, blank lines,
  // and no newline at the end.
  const std::string p = write("v.csv",
                              "step,layer,tokens\r\n"
                              "3,0,\"[2, 0]\"\r\n"
                              "3,1,[1,2]\r\n"
                              "\r\n"
                              " 4 , 0 , \" [ 3 ,1 ] \" \n"
                              "4,1,\"[]\"\n"
                              "5,0,[ ]\n"
                              "5,1,\"[4,0,3]\"");
  const CsvTrace csv = CsvTrace::open(p);
  EXPECT_EQ(csv.shape(), (TraceShape{3, 3, 2}));
  auto source = csv.source();
  const ExplicitTrace t = materialise(*source);
  EXPECT_EQ(t.reads(3, 0), (std::vector<std::uint32_t>{0, 2}));
  EXPECT_EQ(t.reads(3, 1), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(t.reads(4, 0), (std::vector<std::uint32_t>{1, 3}));
  EXPECT_TRUE(t.reads(4, 1).empty());
  EXPECT_TRUE(t.reads(5, 0).empty());
  EXPECT_EQ(t.reads(5, 1), (std::vector<std::uint32_t>{0, 3, 4}));
}

TEST_F(CsvTraceTest, LongLinesCrossBufferBoundaries) {
  // Lines longer than the reader's 4 MiB block must grow the buffer, not break.
  const TraceShape shape{1'200'000, 2, 2};
  std::string text = "n,l,tokens\n";
  for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) {
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      text.append(std::to_string(n)).append(",").append(std::to_string(l)).append(",\"[");
      for (std::uint32_t t = l; t < n; t += 2) text.append(t == l ? "" : ", ").append(std::to_string(t));
      text.append("]\"\n");
    }
  }
  ASSERT_GT(text.size(), std::size_t{8} << 20);
  const CsvTrace csv = CsvTrace::open(write("long.csv", text));
  EXPECT_EQ(csv.shape(), shape);
  auto source = csv.source();
  std::vector<core::TokenBitset> step(shape.layers, core::TokenBitset(shape.total_tokens()));
  for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) {
    source->read_step(n, step);
    EXPECT_EQ(step[0].count(), (n + 1) / 2);
    EXPECT_EQ(step[1].count(), n / 2);
    EXPECT_TRUE(step[1].test(n - 1 - (n % 2 == 0 ? 0 : 1)));
  }
}

TEST_F(CsvTraceTest, TinyTraceInTestData) {
  const CsvTrace csv = CsvTrace::open(data_dir() + "/tiny_trace.csv");
  EXPECT_EQ(csv.shape(), (TraceShape{6, 4, 2}));
  EXPECT_EQ(csv.total_reads(), 26u);
}

TEST_F(CsvTraceTest, SourceDetectsAFileChangedAfterTheCheck) {
  const std::string p = write("c.csv", "h\n2,0,\"[0]\"\n3,0,\"[1]\"\n");
  const CsvTrace csv = CsvTrace::open(p);
  write("c.csv", "h\n2,0,\"[0]\"\n3,0,\"[7]\"\n");
  auto source = csv.source();
  std::vector<core::TokenBitset> step(1, core::TokenBitset(4));
  source->read_step(2, step);
  try {
    source->read_step(3, step);
    FAIL() << "expected InputError";
  } catch (const core::InputError& e) {
    EXPECT_EQ(e.diagnostics().at(0).where, p + ":3");
  }
}

TEST_F(CsvTraceTest, MissingFileIsAnInputError) {
  const std::string p = path("nope.csv");
  try {
    CsvTrace::open(p);
    FAIL() << "expected InputError";
  } catch (const core::InputError& e) {
    EXPECT_EQ(e.diagnostics().at(0).where, p);
    EXPECT_NE(e.diagnostics()[0].message.find("cannot open"), std::string::npos);
  }
}

TEST_F(CsvTraceTest, StopsCollectingAfterTwentyErrors) {
  std::string text = "h\n";
  for (int i = 0; i < 50; ++i) text += "5,0,\"[9]\"\n";
  try {
    CsvTrace::open(write("many.csv", text));
    FAIL() << "expected InputError";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), CsvTrace::kMaxErrors + 1);
    EXPECT_NE(e.diagnostics().back().message.find("stopped after 20 errors"), std::string::npos);
  }
}

// Issue 27 item 8: binary content past the first 64 KiB (which are checked as a whole when opened) is
// still called binary at its line, not "cannot parse: found '...'" with the bytes quoted.
TEST_F(CsvTraceTest, ANulByteDeepInTheFileIsCalledBinaryAtItsLine) {
  std::string text = "n,l,tokens\n";
  std::uint64_t lines = 1;
  for (std::uint32_t n = 1; text.size() < (std::size_t{80} << 10); ++n, ++lines) {
    text += std::to_string(n) + ",0,\"[0]\"\n";
  }
  const std::uint64_t bad = lines + 1;
  text += std::to_string(lines) + ",0,\"[0" + std::string(3, '\0') + "]\"\n";
  try {
    CsvTrace::open(write("deep.csv", text));
    FAIL() << "accepted";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
    EXPECT_EQ(e.diagnostics()[0].where, path("deep.csv") + ":" + std::to_string(bad));
    EXPECT_EQ(e.diagnostics()[0].message.rfind("binary content (a NUL byte) in this line", 0), 0u) << e.what();
  }
}

// ---- the bad-input corpus: tests/data/bad_traces/*.csv with expectations in EXPECT ---------------

struct Expectation {
  std::string file;
  std::vector<std::pair<std::string, std::string>> diags;  // (line, message fragment), in order
};

std::vector<Expectation> load_expectations() {
  std::vector<Expectation> out;
  std::ifstream in(data_dir() + "/bad_traces/EXPECT");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto t1 = line.find('\t');
    const auto t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) continue;
    const std::string file = line.substr(0, t1);
    if (out.empty() || out.back().file != file) out.push_back({file, {}});
    out.back().diags.emplace_back(line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1));
  }
  return out;
}

class BadTrace : public ::testing::TestWithParam<Expectation> {};

TEST_P(BadTrace, ReportsFileLineAndWhatIsWrong) {
  const Expectation& ex = GetParam();
  const std::string path = data_dir() + "/bad_traces/" + ex.file;
  ASSERT_TRUE(fs::exists(path)) << path;
  try {
    CsvTrace::open(path);
    FAIL() << ex.file << " was accepted";
  } catch (const core::InputError& e) {
    const auto& d = e.diagnostics();
    ASSERT_GE(d.size(), ex.diags.size()) << e.what();
    for (std::size_t k = 0; k < ex.diags.size(); ++k) {
      EXPECT_EQ(d[k].where, path + ":" + ex.diags[k].first) << e.what();
      EXPECT_NE(d[k].message.find(ex.diags[k].second), std::string::npos)
          << "diagnostic " << k << ": " << d[k].message << "\nexpected fragment: " << ex.diags[k].second;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadTrace, ::testing::ValuesIn(load_expectations()),
                         [](const ::testing::TestParamInfo<Expectation>& param_info) {
                           std::string name =
                               param_info.param.file.substr(0, param_info.param.file.find('.'));
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(BadTraceCorpus, HasEveryRequiredKind) {
  const auto ex = load_expectations();
  EXPECT_GE(ex.size(), 8u);
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(data_dir() + "/bad_traces")) {
    files += entry.path().extension() == ".csv" ? 1 : 0;
  }
  EXPECT_EQ(files, ex.size()) << "every bad_traces/*.csv needs a row in EXPECT";
}

}  // namespace
}  // namespace kvsweep::trace
