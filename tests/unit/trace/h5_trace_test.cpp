#include "kvsweep/trace/h5_trace.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/io/h5.hpp"
#include "kvsweep/trace/csv_trace.hpp"
#include "kvsweep/trace/stats.hpp"
#include "kvsweep/trace/trace_file.hpp"
#include "trace_test_util.hpp"

namespace kvsweep::trace {
namespace {

namespace fs = std::filesystem;

class H5TraceTest : public test::TempDirTest {};

std::string file_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string first_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::InputError& e) {
    return e.diagnostics().at(0).where + ": " + e.diagnostics()[0].message;
  }
  return "(no error)";
}

TEST_F(H5TraceTest, CsvToHdf5ToReadRoundTrip) {
  const ExplicitTrace want = test::random_trace({40, 25, 4}, 11);
  {
    std::ofstream csv(path("t.csv"));
    write_csv_trace(*make_explicit_source(want), csv);
  }
  auto from_csv = open_trace_file(path("t.csv"));
  std::uint64_t reads = 0;
  for (const auto& row : want.tokens) reads += row.size();
  EXPECT_EQ(write_h5_trace(*from_csv, path("t.h5")), reads);
  EXPECT_FALSE(fs::exists(path("t.h5.tmp")));
  EXPECT_EQ(detect_trace_format(path("t.h5")), TraceFileFormat::kHdf5);
  EXPECT_EQ(detect_trace_format(path("t.csv")), TraceFileFormat::kCsv);

  auto from_h5 = open_trace_file(path("t.h5"));
  EXPECT_EQ(from_h5->shape(), want.shape);
  const ExplicitTrace got = materialise(*from_h5);
  EXPECT_EQ(got.tokens, want.tokens);

  // Same statistics from either file.
  auto a = open_trace_file(path("t.csv"));
  auto b = open_trace_file(path("t.h5"));
  const TraceStats sa = compute_stats(*a), sb = compute_stats(*b);
  EXPECT_EQ(sa.total_reads, sb.total_reads);
  EXPECT_EQ(sa.mean_jaccard, sb.mean_jaccard);
  EXPECT_EQ(sa.mean_read_fraction, sb.mean_read_fraction);

  // The layout promised to Python readers.
  io::File f = io::File::open(path("t.h5"));
  EXPECT_EQ(io::read_attribute<std::string>(f.id(), "format"), "kvsweep-trace");
  EXPECT_EQ(io::read_attribute<std::int64_t>(f.id(), "format_version"), 1);
  EXPECT_EQ(io::read_attribute<std::int64_t>(f.id(), "layers"), 4);
  const auto offsets = io::Dataset::open(f.id(), "offsets").read<std::uint64_t>(0, 3);
  EXPECT_EQ(offsets[1] - offsets[0], want.reads(40, 0).size());
  EXPECT_EQ(offsets[2] - offsets[1], want.reads(40, 1).size());
}

TEST_F(H5TraceTest, StepsCanBeReadInAnyOrder) {
  const ExplicitTrace want = test::random_trace({10, 6, 2}, 3);
  write_h5_trace(*make_explicit_source(want), path("r.h5"));
  auto src = open_h5_trace(path("r.h5"));
  std::vector<core::TokenBitset> step(2, core::TokenBitset(16));
  for (std::uint32_t n : {15u, 10u, 12u}) {
    src->read_step(n, step);
    std::vector<std::uint32_t> got;
    step[1].for_each([&](std::size_t t) { got.push_back(static_cast<std::uint32_t>(t)); });
    EXPECT_EQ(got, want.reads(n, 1));
  }
  EXPECT_THROW(src->read_step(16, step), std::logic_error);
}

TEST_F(H5TraceTest, RefusesToOverwriteUnlessAsked) {
  const ExplicitTrace t = test::random_trace({5, 2, 1}, 1);
  { std::ofstream(path("o.h5")) << "precious"; }
  const std::string msg = first_message([&] { write_h5_trace(*make_explicit_source(t), path("o.h5")); });
  EXPECT_EQ(msg.rfind(path("o.h5") + ": output file exists", 0), 0u) << msg;
  EXPECT_EQ(file_bytes(path("o.h5")), "precious");
  write_h5_trace(*make_explicit_source(t), path("o.h5"), /*overwrite=*/true);
  EXPECT_EQ(materialise(*open_h5_trace(path("o.h5"))).tokens, t.tokens);
}

// A source that fails half way, like a CSV file that turns bad after it was checked.
class FailingSource final : public TraceSource {
 public:
  explicit FailingSource(const ExplicitTrace& t) : inner_(make_explicit_source(t)), shape_(t.shape) {}
  TraceShape shape() const override { return shape_; }
  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    if (n == shape_.prompt_tokens + 2) throw core::InputError("x.csv:9", "bad");
    inner_->read_step(n, reads);
  }

 private:
  std::unique_ptr<TraceSource> inner_;
  TraceShape shape_;
};

TEST_F(H5TraceTest, FailureLeavesNoFileAndOldOutputUntouched) {
  const ExplicitTrace t = test::random_trace({5, 4, 2}, 2);
  FailingSource bad(t);
  EXPECT_THROW(write_h5_trace(bad, path("f.h5")), core::InputError);
  EXPECT_FALSE(fs::exists(path("f.h5")));
  EXPECT_FALSE(fs::exists(path("f.h5.tmp")));
  { std::ofstream(path("g.h5")) << "old"; }
  FailingSource bad2(t);
  EXPECT_THROW(write_h5_trace(bad2, path("g.h5"), true), core::InputError);
  EXPECT_EQ(file_bytes(path("g.h5")), "old");
  EXPECT_FALSE(fs::exists(path("g.h5.tmp")));
}

// Writes a small trace file by hand, then lets `spoil` damage it.
void write_raw(const std::string& p, const std::function<void(io::File&)>& spoil) {
  {
    ExplicitTrace t{{3, 2, 1}, {{0, 2}, {1}}};
    write_h5_trace(*make_explicit_source(t), p, true);
  }
  io::File f = io::File::open(p, io::OpenMode::kReadWrite);
  spoil(f);
}

TEST_F(H5TraceTest, BadFilesAreInputErrorsNamingTheFile) {
  const std::string p = path("bad.h5");
  write_raw(p, [](io::File& f) { io::write_attribute(f.id(), "format", "something-else"); });
  EXPECT_NE(first_message([&] { open_h5_trace(p); }).find(p + ": not a kvsweep trace"), std::string::npos);

  write_raw(p, [](io::File& f) { io::write_attribute(f.id(), "format_version", 2); });
  EXPECT_NE(first_message([&] { open_h5_trace(p); }).find("unsupported format_version 2"), std::string::npos);

  write_raw(p, [](io::File& f) { io::write_attribute(f.id(), "decode_tokens", 3); });
  EXPECT_NE(first_message([&] { open_h5_trace(p); }).find("'/offsets' has 3 entries"), std::string::npos);

  write_raw(p, [](io::File& f) {
    io::write_attribute(f.id(), "layers", -1);
    H5Ldelete(f.id(), "tokens", H5P_DEFAULT);
  });
  try {
    open_h5_trace(p);
    FAIL();
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u) << e.what();  // every problem, not just the first
    EXPECT_NE(e.diagnostics()[0].message.find("'layers' is -1"), std::string::npos);
    EXPECT_NE(e.diagnostics()[1].message.find("'/tokens' is missing"), std::string::npos);
  }

  write_raw(p, [](io::File& f) {
    io::Dataset tokens = io::Dataset::open(f.id(), "tokens");
    const std::uint32_t unsorted[2] = {2, 0};
    tokens.write(io::native_type<std::uint32_t>(), unsorted, 0, 2);
  });
  auto src = open_h5_trace(p);
  std::vector<core::TokenBitset> step(1, core::TokenBitset(5));
  EXPECT_NE(first_message([&] { src->read_step(3, step); }).find("step 3, layer 0 is corrupt"),
            std::string::npos);

  // The HDF5 signature followed by garbage: HDF5's own complaint, as an input error. (Close the file
  // first: HDF5 would reuse its open handle on the same inode instead of reading the new bytes.)
  src.reset();
  { std::ofstream(p, std::ios::binary) << "\x89HDF\r\n\x1a\ngarbage"; }
  EXPECT_NE(first_message([&] { open_trace_file(p); }).find(p + ": not a readable kvsweep HDF5 trace"),
            std::string::npos);
  EXPECT_EQ(
      first_message([&] { open_trace_file(path("none.h5")); }).rfind(path("none.h5") + ": cannot open", 0),
      0u);
}

// Issue 27 item 4: a trace without a prompt (P = 0) passed every check and crashed `page`; it is refused
// when opened, in this format as in CSV.
TEST_F(H5TraceTest, ATraceWithoutAPromptIsRefused) {
  const ExplicitTrace t{{0, 2, 2}, {{}, {}, {0}, {0}}};
  write_h5_trace(*make_explicit_source(t), path("p0.h5"));
  const std::string msg = first_message([&] { open_trace_file(path("p0.h5")); });
  EXPECT_EQ(msg.rfind(path("p0.h5") + ": attribute 'prompt_tokens' is 0, so the trace has no prompt", 0), 0u)
      << msg;
}

// HDF5 finds its signature after a user block too (512, 1024, ... bytes): such a file is HDF5, not CSV
// text to be parsed as garbage.
TEST_F(H5TraceTest, AFileWithAUserBlockIsHdf5) {
  const std::string p = path("ub.h5");
  const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  ASSERT_GE(H5Pset_userblock(fcpl, 1024), 0);
  const hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Fclose(f);
  H5Pclose(fcpl);
  EXPECT_EQ(detect_trace_format(p), TraceFileFormat::kHdf5);
  const std::string msg = first_message([&] { open_trace_file(p); });
  EXPECT_EQ(msg.rfind(p + ": not a kvsweep trace", 0), 0u) << msg;
}

}  // namespace
}  // namespace kvsweep::trace
