#pragma once
// What a run sets out to do, decided by rank 0 before any work: the sweep, its row schema, the results
// file (created, or reopened with --resume) and the points still to evaluate, costliest first.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvsweep/driver/run.hpp"
#include "kvsweep/result/result_file.hpp"
#include "kvsweep/result/schema.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::driver {

struct Task {
  std::uint32_t point = 0;    // index into Sweep::points
  std::uint32_t attempt = 1;  // 1 + the point's earlier failed attempts
};

struct Plan {
  sweep::Sweep sweep;
  std::unique_ptr<result::Schema> schema;
  std::optional<result::ResultFile> file;
  std::vector<Task> tasks;        // costliest first
  std::uint64_t finished = 0;     // points with an ok row already (resume)
  std::uint64_t out_of_attempts = 0;  // failed max_attempts times already: not retried
  bool resumed = false;           // an existing file was reopened (driver/resume.hpp)
  std::uint64_t in_file = 0;      // sweep points the file had rows of
  std::uint64_t left_sweep = 0;   // points in the file that are no longer in the sweep (rows kept)
};

// Reads the sweep, checks the output path, then creates or reopens the file (with --resume: the points
// are matched to the file's rows as driver/resume.hpp says; the schema is then the file's). Throws
// core::InputError (bad sweep, existing output without --resume/--force, a file the sweep cannot add
// to) before writing anything.
Plan make_plan(const RunOptions& options, const std::map<std::string, std::string>& provenance);

// The same sweep on a worker rank, from the text rank 0 read (no file access needed).
sweep::Sweep sweep_from_text(const std::string& text, const std::string& path);

}  // namespace kvsweep::driver
