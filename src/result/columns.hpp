#pragma once
// Internal: the definition of every column, each with the getter that computes its value, so that a
// column's name, type, documentation and content are written once, in one place. Schema lays them out
// and encodes; columns_markdown() documents them.

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/result/schema.hpp"

namespace kvsweep::result::detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What getters read. Built once per encoded row.
struct RowContext {
  const RowInput& in;
  const config::PointSpec& point;
  const eval::PointResult* result = nullptr;   // null on a failed row
  const eval::OracleReport* oracle = nullptr;  // null unless the result has one
  const std::string& error;                    // "" on an ok row
  config::OracleSettings oracle_settings;      // the point's, with the run's overrides applied
  // The sequence: the result's trace shape when there is one, else the spec's (0 for a trace file).
  std::uint32_t prompt_tokens = 0;
  std::uint32_t decode_tokens = 0;
  std::uint32_t layers = 0;
  std::uint64_t footprint_tokens = 0;             // sum over the batch of (P_b + D) (P + D alone)
  std::vector<std::uint32_t> prompts;             // P_b of every sequence
  std::optional<std::uint64_t> capacity_entries;  // C, when it can be resolved
  std::string axes;                               // "name=value;..."
};

struct ColumnDef {
  Column column;  // offset is filled by Schema
  Getter get;
};

// Column builders: the getter's result is converted to the column's type here, once.
template <class F>
ColumnDef f64(std::string name, std::string unit, std::string description, F f) {
  return {{std::move(name), ColumnType::kFloat64, 8, 0, std::move(unit), std::move(description)},
          [f](const RowContext& c) -> Value { return static_cast<double>(f(c)); }};
}
template <class F>
ColumnDef i64(std::string name, std::string unit, std::string description, F f) {
  return {{std::move(name), ColumnType::kInt64, 8, 0, std::move(unit), std::move(description)},
          [f](const RowContext& c) -> Value { return static_cast<std::int64_t>(f(c)); }};
}
template <class F>
ColumnDef str(std::string name, std::size_t bytes, std::string description, F f) {
  return {{std::move(name), ColumnType::kString, bytes, 0, "", std::move(description)},
          [f](const RowContext& c) -> Value { return std::string(f(c)); }};
}
// A float64 taken from the point's result: NaN on failed rows.
template <class F>
ColumnDef from_result(std::string name, std::string unit, std::string description, F f) {
  return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
    return c.result != nullptr ? static_cast<double>(f(*c.result)) : kNaN;
  });
}
// A float64 taken from the oracle's report: NaN unless `oracle` ran.
template <class F>
ColumnDef from_oracle(std::string name, std::string unit, std::string description, F f) {
  return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
    return c.oracle != nullptr ? static_cast<double>(f(*c.oracle)) : kNaN;
  });
}

// In column order (see schema.hpp). identity_columns(): point_id ... axes.
std::vector<ColumnDef> identity_columns();
// Every parameter of the point and the sizes derived from them (param_columns.cpp).
std::vector<ColumnDef> parameter_columns();
// <policy>_total_time_s ... <policy>_cpu_s for one policy (outcome_columns.cpp).
std::vector<ColumnDef> policy_columns(const std::string& policy);
// Bounds, gap_to_bound, annealer diagnostics (outcome_columns.cpp).
std::vector<ColumnDef> outcome_columns();
// host, rank, attempt, times (outcome_columns.cpp).
std::vector<ColumnDef> run_columns();

// All of them for a sweep's policy list, in order.
std::vector<ColumnDef> all_columns(const std::vector<std::string>& policies);

}  // namespace kvsweep::result::detail
