#include "point_runner.hpp"

#include <unistd.h>

#include <chrono>
#include <exception>

#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::driver {

namespace {
std::string describe(const core::InputError& e) {
  std::string text;
  for (const auto& d : e.diagnostics()) text += (text.empty() ? "" : "; ") + d.str();
  return text;
}
}  // namespace

Attempt run_point(const sweep::SweepPoint& point, std::uint32_t attempt, const result::Schema& schema,
                  const eval::EvalOptions& eval_options, int rank, const std::string& host) {
  const auto start = std::chrono::system_clock::now();
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<eval::PointResult> result;
  Attempt out;
  try {
    result = eval::evaluate_point(point.spec, eval_options);
    out.ok = true;
  } catch (const core::InputError& e) {
    out.error = describe(e);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  result::RowInput row;
  row.point_id = point.id;
  row.point = &point.spec;
  for (const auto& [axis, value] : point.axes) row.axis_values.push_back(value);
  row.result = result ? &*result : nullptr;
  row.error = out.error;
  row.options = &eval_options;
  row.host = host;
  row.rank = rank;
  row.attempt = attempt;
  row.wall_s = out.wall_s;
  row.start_time = start;
  row.end_time = std::chrono::system_clock::now();
  out.row = out.ok ? schema.encode(row) : schema.encode_failure(row, out.error);
  if (result) out.step_time_s = std::move(result->step_time_s);
  return out;
}

std::vector<std::string> detail_policies(const config::PointSpec& spec) {
  std::vector<std::string> names;
  for (const auto& p : spec.policies) {
    if (p != "oracle" && p != "exact") names.push_back(p);
  }
  return names;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace kvsweep::driver
