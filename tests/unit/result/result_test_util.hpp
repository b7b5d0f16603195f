#pragma once
// Shared by the result tests: a tiny design point, its evaluated result (computed once per process),
// and a temporary directory per test.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvsweep/config/hardware.hpp"
#include "kvsweep/config/point.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/result/schema.hpp"
#include "support/temp_dir.hpp"

namespace kvsweep::result::test {

// Two layers, 48 prompt tokens, 16 decoded: every policy and both annealers in well under a second.
inline config::PointSpec tiny_point(std::uint64_t seed = 1) {
  config::PointSpec p;
  p.source = "tiny.yaml";
  p.name = "tiny";
  p.model = {"tiny-model", 2, 4096.0, 1.0e6, 2.0e6, "", ""};
  p.model_name = "tiny-model";
  p.hardware = *config::find_hardware_preset("paper-table1");
  p.capacity = {config::CapacitySpec::Kind::kRatio, 0.3};
  p.prompt_tokens = 48;
  p.decode_tokens = 16;
  p.policies = config::known_policy_names();
  p.oracle.moves = 2e4;
  p.oracle.moves_per_round = 1000;
  p.oracle.replicas = 4;
  p.oracle.sa_rounds = 3;
  p.oracle.sa_replicas = 2;
  p.seed = seed;
  return p;
}

inline const config::PointSpec& shared_point() {
  static const config::PointSpec p = tiny_point();
  return p;
}

inline const eval::PointResult& shared_result() {
  static const eval::PointResult r = [] {
    eval::EvalOptions o;
    o.parallel = false;
    return eval::evaluate_point(shared_point(), o);
  }();
  return r;
}

inline std::vector<std::string> all_policies() { return config::known_policy_names(); }

// A row for `shared_point()` under another id: ok with the shared result, or failed with `error`.
inline RowInput row_for(const std::string& id, bool ok, const std::string& error = "boom") {
  RowInput r;
  r.point_id = id;
  r.point = &shared_point();
  r.result = ok ? &shared_result() : nullptr;
  r.error = ok ? "" : error;
  r.host = "testhost";
  r.wall_s = 0.5;
  return r;
}

using kvsweep::testing::TempDirTest;

}  // namespace kvsweep::result::test
