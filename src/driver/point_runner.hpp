#pragma once
// One attempt at one point, on whichever rank: evaluate it and encode its row (ok, or failed with the
// exception's message). Never throws for a failing point: a failure is a row.
#include <cstddef>
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
  std::vector<std::vector<double>> step_time_s;  // with EvalOptions::step_detail, per detail_policies()
};

// The policies whose per-step times a point's detail holds: its simulated ones, in order.
std::vector<std::string> detail_policies(const config::PointSpec& spec);

Attempt run_point(const sweep::SweepPoint& point, std::uint32_t attempt, const result::Schema& schema,
                  const eval::EvalOptions& eval_options, int rank, const std::string& host);

std::string host_name();

}  // namespace kvsweep::driver
