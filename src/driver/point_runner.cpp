#include "point_runner.hpp"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
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
  } catch (...) {
    out.error = "internal error: an exception that is not a std::exception";
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
  if (result) out.detail = std::move(result->step_detail);
  return out;
}

// Layout: u64 series; per series u64 name length, the name, u64 steps, the doubles (native byte order:
// both ends run this build).
namespace {
void take(std::span<const std::byte>& in, void* data, std::size_t n) {
  if (in.size() < n) throw std::runtime_error("per-step detail message: truncated");
  std::memcpy(data, in.data(), n);
  in = in.subspan(n);
}
}  // namespace

std::vector<std::byte> encode_detail(const std::vector<eval::PointResult::StepSeries>& detail) {
  std::size_t size = sizeof(std::uint64_t);
  for (const auto& s : detail) size += 2 * sizeof(std::uint64_t) + s.policy.size() + s.step_time_s.size() * sizeof(double);
  std::vector<std::byte> out(size);  // sized once: GCC 12 warns (falsely) on growing a byte vector piecewise
  std::size_t at = 0;
  auto put = [&](const void* data, std::size_t n) {
    if (n > 0) std::memcpy(out.data() + at, data, n);
    at += n;
  };
  const std::uint64_t count = detail.size();
  put(&count, sizeof count);
  for (const auto& s : detail) {
    const std::uint64_t name = s.policy.size(), steps = s.step_time_s.size();
    put(&name, sizeof name);
    put(s.policy.data(), s.policy.size());
    put(&steps, sizeof steps);
    put(s.step_time_s.data(), steps * sizeof(double));
  }
  return out;
}

std::vector<eval::PointResult::StepSeries> decode_detail(std::span<const std::byte> in) {
  std::uint64_t count = 0;
  take(in, &count, sizeof count);
  std::vector<eval::PointResult::StepSeries> detail;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t name = 0, steps = 0;
    take(in, &name, sizeof name);
    if (name > in.size()) throw std::runtime_error("per-step detail message: truncated");
    auto& s = detail.emplace_back();
    s.policy.resize(name);
    take(in, s.policy.data(), name);
    take(in, &steps, sizeof steps);
    if (steps > in.size() / sizeof(double)) throw std::runtime_error("per-step detail message: truncated");
    s.step_time_s.resize(steps);
    take(in, s.step_time_s.data(), steps * sizeof(double));
  }
  if (!in.empty()) throw std::runtime_error("per-step detail message: trailing bytes");
  return detail;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace kvsweep::driver
