#include "kvsweep/io/h5.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

namespace kvsweep::io {
namespace {

namespace fs = std::filesystem;

class H5Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kvsweep_io_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(H5Test, AppendAndReadRoundTrip) {
  const std::string p = path("a.h5");
  {
    File f = File::create(p);
    Dataset ds = Dataset::create_appendable(f.id(), "values", H5T_STD_U32LE, {4, 4, true});
    EXPECT_EQ(ds.length(), 0u);
    std::vector<std::uint32_t> a(10);
    std::iota(a.begin(), a.end(), 0u);
    ds.append(std::span<const std::uint32_t>(a));
    ds.append(std::span<const std::uint32_t>(a.data(), 3));
    EXPECT_EQ(ds.length(), 13u);
    f.flush();
  }
  File f = File::open(p);
  Dataset ds = Dataset::open(f.id(), "values", 1 << 20);
  EXPECT_EQ(ds.length(), 13u);
  EXPECT_EQ(ds.read<std::uint32_t>(8, 4), (std::vector<std::uint32_t>{8, 9, 0, 1}));
  // A different memory type converts (uint32 file -> uint64 memory).
  EXPECT_EQ(ds.read<std::uint64_t>(0, 2), (std::vector<std::uint64_t>{0, 1}));
  EXPECT_TRUE(ds.read<std::uint32_t>(13, 0).empty());
  EXPECT_THROW(ds.read<std::uint32_t>(10, 4), H5Error);
}

TEST_F(H5Test, CompoundRowsAppendOneAtATime) {
  struct Row {
    std::int64_t id;
    double value;
  };
  const std::string p = path("c.h5");
  Datatype type(check_id(H5Tcreate(H5T_COMPOUND, sizeof(Row)), "H5Tcreate"));
  check(H5Tinsert(type.id(), "id", HOFFSET(Row, id), H5T_NATIVE_INT64), "H5Tinsert");
  check(H5Tinsert(type.id(), "value", HOFFSET(Row, value), H5T_NATIVE_DOUBLE), "H5Tinsert");
  {
    File f = File::create(p);
    Dataset ds = Dataset::create_appendable(f.id(), "table", type.id(), {16});
    for (int i = 0; i < 5; ++i) {
      const Row r{i, i * 0.5};
      ds.append(type.id(), &r, 1);
      f.flush();
    }
  }
  File f = File::open(p, OpenMode::kReadWrite);
  Dataset ds = Dataset::open(f.id(), "table");
  ASSERT_EQ(ds.length(), 5u);
  std::vector<Row> rows(2);
  ds.read(type.id(), rows.data(), 3, 2);
  EXPECT_EQ(rows[1].id, 4);
  EXPECT_DOUBLE_EQ(rows[1].value, 2.0);
  const Row extra{9, 9.5};
  ds.append(type.id(), &extra, 1);  // reopened for append
  EXPECT_EQ(ds.length(), 6u);
}

TEST_F(H5Test, Attributes) {
  const std::string p = path("attr.h5");
  {
    File f = File::create(p);
    write_attribute(f.id(), "i", std::int64_t{-5});
    write_attribute(f.id(), "u", std::uint64_t{1} << 40);
    write_attribute(f.id(), "d", 0.125);
    write_attribute(f.id(), "s", "kvsweep-trace");
    write_attribute(f.id(), "empty", std::string_view{});
    write_attribute(f.id(), "small", 7u);  // other integer types go through uint64/int64
    write_attribute(f.id(), "s", "replaced");
  }
  File f = File::open(p);
  EXPECT_EQ(read_attribute<std::int64_t>(f.id(), "i"), -5);
  EXPECT_EQ(read_attribute<std::uint64_t>(f.id(), "u"), std::uint64_t{1} << 40);
  EXPECT_EQ(read_attribute<std::int64_t>(f.id(), "u"), std::int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(read_attribute<double>(f.id(), "d"), 0.125);
  EXPECT_EQ(read_attribute<std::string>(f.id(), "s"), "replaced");
  EXPECT_EQ(read_attribute<std::string>(f.id(), "empty"), "");
  EXPECT_EQ(read_attribute<std::uint64_t>(f.id(), "small"), 7u);
  EXPECT_TRUE(has_attribute(f.id(), "d"));
  EXPECT_FALSE(has_attribute(f.id(), "nope"));
  EXPECT_THROW(read_attribute<double>(f.id(), "nope"), H5Error);
  EXPECT_THROW(read_attribute<std::string>(f.id(), "d"), H5Error);
}

// String attributes as other writers store them: h5py writes a Python str as a variable-length UTF-8
// string, numpy bytes as fixed-length ASCII; both character sets, fixed and variable, read back.
TEST_F(H5Test, StringAttributesOfEveryKindRead) {
  const std::string p = path("strings.h5");
  auto put = [](hid_t obj, const char* name, bool variable, H5T_cset_t cset, const char* text) {
    Datatype type = Datatype::copy(H5T_C_S1);
    check(H5Tset_size(type.id(), variable ? H5T_VARIABLE : std::strlen(text)), "H5Tset_size");
    check(H5Tset_cset(type.id(), cset), "H5Tset_cset");
    Dataspace space = Dataspace::scalar();
    const hid_t attr = check_id(H5Acreate2(obj, name, type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    const void* data = variable ? static_cast<const void*>(&text) : static_cast<const void*>(text);
    check(H5Awrite(attr, type.id(), data), "H5Awrite");
    H5Aclose(attr);
  };
  {
    File f = File::create(p);
    put(f.id(), "vlen_utf8", true, H5T_CSET_UTF8, "kvsweep-trace");
    put(f.id(), "vlen_ascii", true, H5T_CSET_ASCII, "kvsweep-trace");
    put(f.id(), "fixed_utf8", false, H5T_CSET_UTF8, "tiny-\xce\xa9");
    put(f.id(), "fixed_ascii", false, H5T_CSET_ASCII, "kvsweep-trace");
  }
  File f = File::open(p);
  EXPECT_EQ(read_attribute<std::string>(f.id(), "vlen_utf8"), "kvsweep-trace");
  EXPECT_EQ(read_attribute<std::string>(f.id(), "vlen_ascii"), "kvsweep-trace");
  EXPECT_EQ(read_attribute<std::string>(f.id(), "fixed_utf8"), "tiny-\xce\xa9");
  EXPECT_EQ(read_attribute<std::string>(f.id(), "fixed_ascii"), "kvsweep-trace");
}

TEST_F(H5Test, MissingFileErrorCarriesHdf5Message) {
  const std::string p = path("missing.h5");
  try {
    File::open(p);
    FAIL() << "expected H5Error";
  } catch (const H5Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("H5Fopen"), std::string::npos) << what;
    EXPECT_NE(what.find(p), std::string::npos) << what;
    EXPECT_NE(what.find("unable to open file"), std::string::npos) << what;  // HDF5's own words
    EXPECT_NE(e.stack().find("H5Fopen"), std::string::npos) << e.stack();
  }
}

TEST_F(H5Test, CreateRefusesToOverwriteUnlessAsked) {
  const std::string p = path("x.h5");
  { File f = File::create(p); }
  EXPECT_THROW(File::create(p), H5Error);
  File f = File::create(p, /*overwrite=*/true);
  EXPECT_TRUE(f.valid());
}

TEST_F(H5Test, HandlesAreMoveOnlyAndCloseOnce) {
  File a = File::create(path("m.h5"));
  const hid_t id = a.id();
  File b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(b.id(), id);
  b.close();
  EXPECT_FALSE(b.valid());
  b.close();  // closing twice is a no-op
  static_assert(!std::is_copy_constructible_v<File>);
  static_assert(std::is_nothrow_move_constructible_v<Dataset>);
}

TEST_F(H5Test, GroupsAndLinks) {
  File f = File::create(path("g.h5"));
  Group g = Group::create(f.id(), "results");
  EXPECT_TRUE(has_link(f.id(), "results"));
  EXPECT_FALSE(has_link(f.id(), "other"));
  Dataset ds = Dataset::create_appendable(g.id(), "x", H5T_NATIVE_DOUBLE);
  const std::vector<double> v{1.5, 2.5};
  ds.append(std::span<const double>(v));
  EXPECT_EQ(Dataset::open(Group::open(f.id(), "results").id(), "x").length(), 2u);
  EXPECT_THROW(Group::open(f.id(), "other"), H5Error);
}

}  // namespace
}  // namespace kvsweep::io
