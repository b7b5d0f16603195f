#pragma once
// Resuming a results file with a sweep that may have been edited since: a file is tied to what it
// computes, not to the sweep's text. Points are matched by id (config::point_id: their parameters), so
//   - comments, `name:` labels, key order and spelling: the same points, resumed;
//   - values or points added: only the new points run, into the same file;
//   - values or points removed: their rows stay, and the file's /sweep_points no longer lists them;
//   - policies, oracle budgets (config::result_settings) or the seed changed for points the file holds
//     results of: refused (ResultFileError kSettingsChanged), since the file would mix results of two
//     settings; the message says what changed and the ways out.
#include <cstdint>
#include <vector>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/result/result_file.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::driver {

struct ResumeState {
  std::vector<bool> done;                // per sweep point: its latest row in the file is ok
  std::vector<std::uint32_t> failures;   // per sweep point: failed rows, when its latest row failed
  std::uint64_t in_file = 0;             // sweep points with a row in the file
  std::uint64_t left = 0;                // points in the file that are no longer in the sweep
};

// Reads every row of `file` (opened for resume; its schema decodes them) and matches them to `sweep`'s
// points as evaluated with `options` (command-line oracle overrides). Writes nothing. Throws
// result::ResultFileError(kSettingsChanged) as above.
ResumeState reconcile(const sweep::Sweep& sweep, const result::ResultFile& file, const eval::EvalOptions& options);

}  // namespace kvsweep::driver
