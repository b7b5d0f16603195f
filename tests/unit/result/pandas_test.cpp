// The results table as analysts read it: h5py into a DataFrame, and pandas.read_hdf (PyTables). Runs
// Debian's /usr/bin/python3 (python3-pandas, python3-h5py, python3-tables), which the build installs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "kvsweep/result/result_file.hpp"
#include "result_test_util.hpp"

namespace kvsweep::result {
namespace {

using test::all_policies;
using test::row_for;

// argv: results file, expected column names (one per line).
constexpr const char* kCheck = R"PY(
import math, sys
import h5py, numpy as np, pandas as pd

path, cols_file = sys.argv[1], sys.argv[2]
expected = open(cols_file).read().split("\n")[:-1]

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

with h5py.File(path, "r") as f:
    raw = pd.DataFrame(f["points"][:])
    if f.attrs["sweep_hash"].decode() != "0011223344556677": fail("sweep_hash attribute")
    if f.attrs["policies"].decode().split(",")[0] != "unlimited_hbm": fail("policies attribute")
if list(raw.columns) != expected: fail("h5py columns differ")
if len(raw) != 3: fail("h5py rows: %d" % len(raw))
if not isinstance(raw["status"][0], bytes): fail("h5py strings are not bytes")
decoded = raw["status"].str.decode("utf-8")
if list(decoded) != ["ok", "ok", "failed"]: fail("h5py status %s" % list(decoded))

df = pd.read_hdf(path, "points")
if list(df.columns) != expected: fail("read_hdf columns differ")
if len(df) != 3: fail("read_hdf rows: %d" % len(df))
if list(df["status"]) != ["ok", "ok", "failed"]: fail("read_hdf status %s" % list(df["status"]))
if list(df["point_id"]) != ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"]: fail("point ids")
if not df["error"][2].endswith("...") or len(df["error"][2].encode()) != 256: fail("truncated error")
if df["error"][1] != "": fail("error of an ok row")
if df["axis_values"][0] != "sparsity=0.6;model=tiny-model": fail("axis_values")
if df["static_total_time_s"].dtype != np.float64 or df["seed"].dtype != np.int64: fail("dtypes")
if not math.isnan(df["static_total_time_s"][2]) or math.isnan(df["static_total_time_s"][0]): fail("NaN rules")
if not np.allclose(df["static_total_time_s"][:2], raw["static_total_time_s"][:2]): fail("values differ")
latest = df.drop_duplicates("point_id", keep="last")
if sorted(latest["status"]) != ["failed", "ok"]: fail("latest row per point")
print("ok", len(df.columns), "columns")
)PY";

class ResultPandasTest : public test::TempDirTest {};

TEST_F(ResultPandasTest, H5pyAndReadHdfLoadTheTable) {
  const Schema s(all_policies(), {"sparsity", "model"});
  const std::string p = path("r.h5");
  {
    ResultFile f = ResultFile::create(p, s, {"points: []\n", "0011223344556677", {}, {}});
    RowInput a = row_for("aaaaaaaaaaaaaaaa", true);
    a.axis_values = {"0.6", "tiny-model"};
    f.append(s.encode(a));
    f.append(s.encode(row_for("bbbbbbbbbbbbbbbb", true)));
    f.append(s.encode(row_for("aaaaaaaaaaaaaaaa", false, std::string(300, 'e'))));  // a later failure
    f.set_end_time();
  }
  std::ofstream(path("check.py")) << kCheck;
  {
    std::ofstream cols(path("columns.txt"));
    for (const auto& c : s.columns()) cols << c.name << '\n';
  }
  const std::string cmd = "/usr/bin/python3 " + path("check.py") + " " + p + " " + path("columns.txt");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace kvsweep::result
