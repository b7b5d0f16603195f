#pragma once
// One attempt at one point, on whichever rank: evaluate it and encode its row (ok, or failed with the
// exception's message). Never throws for a failing point: a failure is a row.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "kvsweep/driver/run.hpp"
#include "kvsweep/result/schema.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::driver {

struct Attempt {
  std::vector<std::byte> row;
  bool ok = false;
  std::string error;  // when !ok
  double wall_s = 0;
  std::vector<eval::PointResult::StepSeries> detail;  // with EvalOptions::step_detail
};

// A point's per-step series as one byte message (worker -> master) and back. decode_detail throws
// std::runtime_error on a message that is not one encode_detail wrote.
std::vector<std::byte> encode_detail(const std::vector<eval::PointResult::StepSeries>& detail);
std::vector<eval::PointResult::StepSeries> decode_detail(std::span<const std::byte> bytes);

Attempt run_point(const sweep::SweepPoint& point, std::uint32_t attempt, const result::Schema& schema,
                  const eval::EvalOptions& eval_options, int rank, const std::string& host);

std::string host_name();

}  // namespace kvsweep::driver
