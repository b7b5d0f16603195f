#include "kvsweep/result/result_file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kvsweep/core/version.hpp"
#include "result_test_util.hpp"

namespace kvsweep::result {
namespace {

using test::all_policies;
using test::row_for;

constexpr const char* kHash = "0011223344556677";

FileInfo info(const std::string& yaml = "points: []\n") {
  return {yaml, kHash, {"aaaaaaaaaaaaaaaa"}, {{"yaml_cpp_version", "0.7.0"}}};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ResultFileTest : public test::TempDirTest {};

TEST_F(ResultFileTest, CreateAppendReopenAndLatestRowWins) {
  const Schema s(all_policies(), {"sparsity"});
  const std::string p = path("r.h5");
  {
    ResultFile f = ResultFile::create(p, s, info());
    EXPECT_EQ(f.rows(), 0u);
    f.append(s.encode(row_for("aaaaaaaaaaaaaaaa", true)));
    f.append(s.encode(row_for("bbbbbbbbbbbbbbbb", false)));
    f.append(s.encode(row_for("cccccccccccccccc", false)));
    f.append(s.encode(row_for("dddddddddddddddd", true)));
    f.append(s.encode(row_for("dddddddddddddddd", false)));  // a later failure of d wins over its success
    EXPECT_EQ(f.rows(), 5u);
    f.set_end_time();
  }
  ResultFile f = ResultFile::open_for_resume(p, s.policies(), s.axis_names());
  EXPECT_EQ(f.rows(), 5u);
  EXPECT_EQ(f.finished_ids(), (std::set<std::string>{"aaaaaaaaaaaaaaaa"}));
  EXPECT_EQ(f.failed_attempts(),
            (std::map<std::string, std::uint32_t>{
                {"bbbbbbbbbbbbbbbb", 1}, {"cccccccccccccccc", 1}, {"dddddddddddddddd", 1}}));
  // Retries: b fails again, c succeeds.
  RowInput retry = row_for("bbbbbbbbbbbbbbbb", false);
  retry.attempt = 2;
  f.append(s.encode(retry));
  f.append(s.encode(row_for("cccccccccccccccc", true)));
  EXPECT_EQ(f.finished_ids(), (std::set<std::string>{"aaaaaaaaaaaaaaaa", "cccccccccccccccc"}));
  EXPECT_EQ(f.failed_attempts(),
            (std::map<std::string, std::uint32_t>{{"bbbbbbbbbbbbbbbb", 2}, {"dddddddddddddddd", 1}}));
  const std::vector<std::byte> row = f.read_row(5);
  EXPECT_EQ(s.point_id(row), "bbbbbbbbbbbbbbbb");
  EXPECT_EQ(s.get_int(row, "attempt"), 2);
  // Several records at once, and a partial one.
  std::vector<std::byte> two = s.encode(row_for("eeeeeeeeeeeeeeee", true));
  const std::vector<std::byte> more = s.encode(row_for("ffffffffffffffff", true));
  two.insert(two.end(), more.begin(), more.end());
  f.append(two);
  EXPECT_EQ(f.rows(), 9u);
  EXPECT_THROW(f.append(std::span<const std::byte>(two).first(10)), std::invalid_argument);
  EXPECT_EQ(f.rows(), 9u);
}

TEST_F(ResultFileTest, DetailHoldsPerStepSeriesAndARetryReplacesIt) {
  const Schema s(all_policies(), {});
  const std::string p = path("d.h5");
  {
    ResultFile f = ResultFile::create(p, s, info());
    f.write_detail("aaaaaaaaaaaaaaaa", {"static", "belady"}, {{1.0, 2.0, 3.0}, {0.5, 0.25, 0.125}});
    f.write_detail("aaaaaaaaaaaaaaaa", {"static"}, {{4.0, 5.0}});  // a retry: the whole group is replaced
    EXPECT_THROW(f.write_detail("bbbbbbbbbbbbbbbb", {"static"}, {}), std::invalid_argument);
  }
  const io::File f = io::File::open(p);
  const io::Group g = io::Group::open(f.id(), "detail/aaaaaaaaaaaaaaaa");
  EXPECT_EQ(H5Lexists(g.id(), "belady_step_time_s", H5P_DEFAULT), 0);
  EXPECT_EQ(io::Dataset::open(g.id(), "static_step_time_s").read<double>(0, 2), (std::vector<double>{4.0, 5.0}));
}

TEST_F(ResultFileTest, AttributesRecordTheSweep) {
  const Schema s({"static", "belady"}, {"sparsity", "model"});
  const std::string p = path("r.h5");
  ResultFile::create(p, s, info("seed: 3\n")).close();
  io::File f = io::File::open(p);
  const hid_t root = f.id();
  EXPECT_EQ(io::read_attribute<std::string>(root, "format"), "kvsweep-results");
  EXPECT_EQ(io::read_attribute<std::int64_t>(root, "schema_version"), Schema::kVersion);
  EXPECT_EQ(io::read_attribute<std::string>(root, "sweep_hash"), kHash);
  EXPECT_EQ(io::read_attribute<std::string>(root, "sweep_yaml"), "seed: 3\n");
  EXPECT_EQ(io::read_attribute<std::string>(root, "axis_names"), "sparsity,model");
  EXPECT_EQ(io::read_attribute<std::string>(root, "policies"), "static,belady");
  EXPECT_EQ(io::read_attribute<std::string>(root, "kvsweep_version"), core::version());
  EXPECT_EQ(io::read_attribute<std::string>(root, "git_sha"), core::git_sha());
  EXPECT_EQ(io::read_attribute<std::string>(root, "hdf5_version").substr(0, 2), "1.");
  EXPECT_EQ(io::read_attribute<std::string>(root, "yaml_cpp_version"), "0.7.0");
  EXPECT_FALSE(io::read_attribute<std::string>(root, "host").empty());
  EXPECT_EQ(io::read_attribute<std::string>(root, "start_time").size(), 20u);  // 2025-01-31T12:34:56Z
  EXPECT_FALSE(io::has_attribute(root, "end_time"));
}

TEST_F(ResultFileTest, LongSweepTextGoesToADataset) {
  const Schema s({"static"});
  const std::string p = path("r.h5");
  const std::string yaml(100000, '#');  // past the 64 KiB attribute limit of the default file format
  ResultFile::create(p, s, info(yaml)).close();
  io::File f = io::File::open(p);
  EXPECT_TRUE(io::has_link(f.id(), "sweep_yaml"));
  EXPECT_NE(io::read_attribute<std::string>(f.id(), "sweep_yaml").find("dataset /sweep_yaml"),
            std::string::npos);
}

TEST_F(ResultFileTest, ReservedExtraAttributeIsRefused) {
  FileInfo i = info();
  i.extra["sweep_hash"] = "x";
  EXPECT_THROW(ResultFile::create(path("r.h5"), Schema({"static"}), i), std::invalid_argument);
}

TEST_F(ResultFileTest, ExistingFileWithoutForceIsLeftByteIdentical) {
  const Schema s(all_policies());
  const std::string p = path("r.h5");
  {
    ResultFile f = ResultFile::create(p, s, info());
    f.append(s.encode(row_for("aaaaaaaaaaaaaaaa", true)));
  }
  const std::string before = slurp(p);
  try {
    ResultFile::create(p, s, info());
    FAIL() << "create over an existing file succeeded";
  } catch (const ResultFileError& e) {
    EXPECT_EQ(e.kind(), ResultFileError::Kind::kExists);
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos);
  }
  EXPECT_THROW(ResultFile::check_can_create(p, false), ResultFileError);
  EXPECT_EQ(slurp(p), before);
  // A plain file that is not HDF5 is refused too, and left alone.
  const std::string text = path("notes.txt");
  std::ofstream(text) << "keep me\n";
  EXPECT_THROW(ResultFile::create(text, s, info()), ResultFileError);
  EXPECT_EQ(slurp(text), "keep me\n");
  // With force the file starts over.
  ResultFile f = ResultFile::create(p, s, info(), true);
  EXPECT_EQ(f.rows(), 0u);
}

ResultFileError::Kind resume_error(const std::string& p, const std::vector<std::string>& policies) {
  try {
    ResultFile::open_for_resume(p, policies, {});
  } catch (const ResultFileError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "open_for_resume succeeded";
  return ResultFileError::Kind::kExists;
}

TEST_F(ResultFileTest, ResumeRefusesAPolicyWithoutColumnsOrAnotherFile) {
  const Schema s({"static", "belady"});
  const std::string p = path("r.h5");
  ResultFile::create(p, s, info()).close();
  const std::string before = slurp(p);
  EXPECT_EQ(resume_error(p, {"static", "oracle"}), ResultFileError::Kind::kSettingsChanged);
  try {
    ResultFile::open_for_resume(p, {"static", "oracle"}, {});
  } catch (const ResultFileError& e) {
    EXPECT_NE(std::string(e.what()).find("policy oracle, which this file has no columns for"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(slurp(p), before);
  EXPECT_EQ(resume_error(path("missing.h5"), s.policies()), ResultFileError::Kind::kNotResults);
  const std::string text = path("notes.txt");
  std::ofstream(text) << "not hdf5\n";
  EXPECT_EQ(resume_error(text, s.policies()), ResultFileError::Kind::kNotResults);
  const std::string other = path("other.h5");
  io::File::create(other).close();  // HDF5, but not ours
  EXPECT_EQ(resume_error(other, s.policies()), ResultFileError::Kind::kNotResults);
}

// A sweep with fewer policies keeps the file's columns, in the file's order.
TEST_F(ResultFileTest, ResumeKeepsTheFilesColumns) {
  const Schema s({"static", "belady", "page"}, {"sparsity"});
  const std::string p = path("r.h5");
  ResultFile::create(p, s, info()).close();
  ResultFile f = ResultFile::open_for_resume(p, {"page", "static"}, {"hbm_capacity_ratio"});
  EXPECT_EQ(f.schema().policies(), s.policies());
  EXPECT_EQ(f.schema().axis_names(), (std::vector<std::string>{"hbm_capacity_ratio"}));
}

// record_sweep: the new text and ids replace the old, the old text is kept in /sweep_history, the axes
// become the union.
TEST_F(ResultFileTest, RecordSweepKeepsHistoryAndListsThePoints) {
  const Schema s(all_policies(), {"sparsity"});
  const std::string p = path("r.h5");
  ResultFile::create(p, s, info("first: 1\n")).close();
  {
    ResultFile f = ResultFile::open_for_resume(p, s.policies(), {"seed_axis"});
    EXPECT_EQ(f.sweep_hash(), kHash);
    f.record_sweep({"second: 2\n", "1111111111111111", {"bbbbbbbbbbbbbbbb", "cccccccccccccccc"}, {}},
                   {"hbm_capacity_ratio"});
    f.record_sweep({"second: 2\n", "1111111111111111", {"cccccccccccccccc"}, {}}, {"hbm_capacity_ratio"});
  }
  const io::File file = io::File::open(p);
  EXPECT_EQ(io::read_attribute<std::string>(file.id(), "sweep_yaml"), "second: 2\n");
  EXPECT_EQ(io::read_attribute<std::string>(file.id(), "sweep_hash"), "1111111111111111");
  EXPECT_EQ(io::read_attribute<std::string>(file.id(), "axis_names"), "sparsity,hbm_capacity_ratio");
  const io::Dataset ids = io::Dataset::open(file.id(), "sweep_points");
  EXPECT_EQ(ids.length(), 1u);
  EXPECT_TRUE(io::has_link(file.id(), "sweep_history/0"));
  EXPECT_FALSE(io::has_link(file.id(), "sweep_history/1"));  // the same text twice is kept once
}


// A write that failed half way, where the filesystem could not reserve room first, can leave the table one
// row longer with that row all zeros (no id, no status). Resuming drops it, so the point runs again.
TEST_F(ResultFileTest, ResumeDropsAnIncompleteLastRow) {
  const Schema s(all_policies());
  const std::string p = path("r.h5");
  {
    ResultFile f = ResultFile::create(p, s, info());
    f.append(s.encode(row_for("aaaaaaaaaaaaaaaa", true)));
    f.append(s.encode(row_for("bbbbbbbbbbbbbbbb", false)));
  }
  {  // what HDF5 leaves when the table grew but its row never reached the disk
    io::File file = io::File::open(p, io::OpenMode::kReadWrite);
    io::Dataset table = io::Dataset::open(file.id(), std::string(ResultFile::kTable));
    const std::vector<std::byte> zeros(s.record_size());
    table.append(s.h5_type().id(), zeros.data(), 1);
    file.flush();
  }
  ResultFile f = ResultFile::open_for_resume(p, s.policies(), {});
  EXPECT_EQ(f.dropped_rows(), 1u);
  EXPECT_EQ(f.rows(), 2u);
  EXPECT_EQ(f.finished_ids(), (std::set<std::string>{"aaaaaaaaaaaaaaaa"}));
  f.append(s.encode(row_for("cccccccccccccccc", true)));
  EXPECT_EQ(s.point_id(f.read_row(2)), "cccccccccccccccc");
}

// Two writers of one file, whatever HDF5_USE_FILE_LOCKING says: the second is refused before it touches
// the file (kvsweep's own lock, <path>.lock), and the first goes on.
TEST_F(ResultFileTest, ASecondWriterIsRefusedEvenWithHdf5LockingOff) {
  ::setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
  const Schema s(all_policies());
  const std::string p = path("r.h5");
  ResultFile first = ResultFile::create(p, s, info());
  first.append(s.encode(row_for("aaaaaaaaaaaaaaaa", true)));
  const std::string before = slurp(p);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) ResultFile::create(p, s, info(), true);  // --force
      if (attempt == 1) ResultFile::open_for_resume(p, s.policies(), {});  // --resume
      ADD_FAILURE() << "a second writer got the file (attempt " << attempt << ")";
    } catch (const ResultFileError& e) {
      EXPECT_EQ(e.kind(), ResultFileError::Kind::kBusy);
      EXPECT_NE(std::string(e.what()).find("another kvsweep run is writing it"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(slurp(p), before);
  first.append(s.encode(row_for("bbbbbbbbbbbbbbbb", true)));
  first.close();
  ::unsetenv("HDF5_USE_FILE_LOCKING");
  EXPECT_EQ(ResultFile::open_for_resume(p, s.policies(), {}).rows(), 2u);
}

// A file cut short (a copy interrupted) says so, with its sizes, instead of blaming another writer.
TEST_F(ResultFileTest, ATruncatedFileIsCalledDamagedWithItsSizes) {
  const Schema s(all_policies());
  const std::string p = path("r.h5");
  {
    ResultFile f = ResultFile::create(p, s, info());
    for (int i = 0; i < 40; ++i) f.append(s.encode(row_for("aaaaaaaaaaaaaaaa", true)));
  }
  const auto size = std::filesystem::file_size(p);
  std::filesystem::resize_file(p, size / 2);
  try {
    ResultFile::open_for_resume(p, s.policies(), {});
    FAIL() << "a truncated file was resumed";
  } catch (const ResultFileError& e) {
    EXPECT_EQ(e.kind(), ResultFileError::Kind::kDamaged);
    const std::string what = e.what();
    EXPECT_NE(what.find("truncated at " + std::to_string(size / 2) + " of " + std::to_string(size) + " bytes"),
              std::string::npos) << what;
    EXPECT_EQ(what.find("another"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace kvsweep::result
