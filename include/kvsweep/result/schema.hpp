#pragma once
// The results table's row: one row per evaluated design point (or per failed attempt at one). Its
// columns are fixed per sweep by the sweep's policy list, in this order (docs/results.md "Results (HDF5)" lists
// every column; columns_markdown() prints that table and a test keeps the two equal):
//   identity    point_id, status, error, name, source, policies, axis_values
//   parameters  every parameter of the point, one column each, named after its YAML key with '.' -> '_'
//               (so whatever axes a sweep has, each is a column), then the derived sizes
//   per policy  <policy>_total_time_s ... <policy>_cpu_s, for each policy of the sweep in its order
//   outcome     bounds, gap_to_bound, the annealers' diagnostics
//   run         host, rank, attempt, wall and timestamps
//
// A row is encoded into a flat record that is exactly the memory layout of the HDF5 compound type
// (packed, native byte order), so that an MPI worker can encode a row and rank 0 append the bytes
// unchanged (ranks on the same architecture). Column types: float64, int64 and fixed-length strings
// (NUL-padded, UTF-8; never variable-length, so that pandas.read_hdf reads the table). Rules: a float64
// that does not apply is NaN (every result column of a failed row, a policy the point did not run, the
// annealer columns without `oracle`); int64 columns are always filled; a string that does not apply is "".

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/io/h5.hpp"

namespace kvsweep::result {

enum class ColumnType { kFloat64, kInt64, kString };

struct Column {
  std::string name;
  ColumnType type = ColumnType::kFloat64;
  std::size_t size = 8;    // bytes in the record (strings: the fixed length)
  std::size_t offset = 0;  // bytes from the start of the record
  std::string unit;        // "s", "B", "GB/s", ... or "" when unitless
  std::string description;
};

using Value = std::variant<std::int64_t, double, std::string>;

// Everything one row is made of. `point` is required; `result` null means the attempt failed with
// `error`. Pointers are borrowed for the duration of encode() only.
struct RowInput {
  std::string point_id;  // 16 hex digits (eval::point_id of the spec)
  const config::PointSpec* point = nullptr;
  std::vector<std::string> axis_values;       // as the sweep wrote them, parallel to the axis names, or empty
  const eval::PointResult* result = nullptr;  // set: status "ok"
  std::string error;                          // status "failed": why (truncated to kErrorBytes)
  // Its oracle overrides (command line) replace the point's settings in the oracle_* parameter columns,
  // so that the row shows the budgets actually used.
  const eval::EvalOptions* options = nullptr;
  std::string host;          // where the point ran
  std::int64_t rank = 0;     // MPI rank of the worker (0 in a serial run)
  std::int64_t attempt = 1;  // 1 for the first try of a point, 2 for its first retry, ...
  double wall_s =
      std::numeric_limits<double>::quiet_NaN();  // the attempt's wall time, as its worker measured it
  std::optional<std::chrono::system_clock::time_point> start_time, end_time;  // unset: NaN
};

namespace detail {
struct RowContext;  // what the column getters read (src/result/columns.hpp)
using Getter = std::function<Value(const RowContext&)>;
}  // namespace detail

class Schema {
 public:
  static constexpr std::int64_t kVersion = 11;  // bump when columns change; resume refuses other versions
  static constexpr std::size_t kErrorBytes = 256;

  // `policies`: the sweep's policy list (identifiers, unique, non-empty list); `axis_names`: the sweep's
  // axes (YAML keys), kept for the file's attributes and the `axes` column. Throws std::invalid_argument.
  explicit Schema(std::vector<std::string> policies, std::vector<std::string> axis_names = {});

  const std::vector<std::string>& policies() const { return policies_; }
  const std::vector<std::string>& axis_names() const { return axis_names_; }
  const std::vector<Column>& columns() const { return columns_; }
  std::size_t record_size() const { return record_size_; }
  // The column called `name`: find() returns nullptr, column() throws std::out_of_range when absent.
  const Column* find(std::string_view name) const;
  const Column& column(std::string_view name) const;

  // The HDF5 compound type of a record: memory and file type alike.
  io::Datatype h5_type() const;

  // One record of record_size() bytes. Throws std::invalid_argument when row.point is null or
  // axis_values is neither empty nor as long as axis_names(). O(columns); thread-safe (no shared state),
  // so workers may encode concurrently with one Schema.
  std::vector<std::byte> encode(const RowInput& row) const;
  // The same row as a failure with `error`, whatever row.result holds.
  std::vector<std::byte> encode_failure(const RowInput& row, std::string_view error) const;

  // Decoding one record (record.size() must be record_size(), else std::invalid_argument). The typed
  // getters throw std::invalid_argument when the column has another type.
  Value get(std::span<const std::byte> record, std::string_view column) const;
  double get_double(std::span<const std::byte> record, std::string_view column) const;
  std::int64_t get_int(std::span<const std::byte> record, std::string_view column) const;
  std::string get_string(std::span<const std::byte> record, std::string_view column) const;
  std::string point_id(std::span<const std::byte> record) const { return get_string(record, "point_id"); }
  std::string status(std::span<const std::byte> record) const { return get_string(record, "status"); }

 private:
  std::vector<std::string> policies_;
  std::vector<std::string> axis_names_;
  std::vector<Column> columns_;
  std::vector<detail::Getter> getters_;  // parallel to columns_
  std::size_t record_size_ = 0;
};

// The column of a point parameter given by its YAML key: "synthetic.recall_prob" -> "synthetic_recall_prob".
std::string column_for_key(std::string_view yaml_key);

// `text` made to fit a fixed-length string column of `bytes` bytes: invalid UTF-8 and NUL bytes become
// '?', and a longer text is cut at a character boundary and ends in "..." (bytes >= 3).
std::string fit_text(std::string_view text, std::size_t bytes);

// docs/results.md's table of columns: `| column | type | unit | meaning |`, per-policy columns once as
// `<policy>_...`.
std::string columns_markdown();

}  // namespace kvsweep::result
