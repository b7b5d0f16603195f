#pragma once
// Design points from YAML. A file is either one mapping of point keys (one point) or a mapping with
// `points:` holding a list of such mappings; any point key given beside `points:` is a default for every
// entry, which an entry may override (inside `synthetic:` and `policy_params:` key by key).
//
// Every problem is collected before anything is thrown: a single core::InputError carries one
// Diagnostic per problem, each with where = "file:line:col" (1-based) and a message that names the key,
// the offending value and what is allowed.

#include <string>
#include <vector>

#include "kvsweep/config/point.hpp"

namespace kvsweep::config {

// Reads and validates `path`. Relative trace files are resolved against the directory of `path`.
// PointSpec.source is `path` for a single point and `path#i` for entry i (0-based) of `points:`.
// Throws core::InputError: where = path and "cannot open file" when it cannot be read.
std::vector<PointSpec> load_point_file(const std::string& path);

// As load_point_file, on text already in memory. `name_for_messages` is used in every Diagnostic.where
// and PointSpec.source; relative trace files are resolved against its directory (the working directory
// when it has none).
std::vector<PointSpec> load_point_text(const std::string& text, const std::string& name_for_messages);

// One key a point accepts, for `--help`-style listings and docs. Nested keys are dotted:
// "synthetic.span_tokens", "policy_params.sa_window".
struct PointKeyDoc {
  std::string key;
  std::string type;           // "number", "integer", "preset or mapping", ...
  std::string default_value;  // "required", "none", or the default as YAML text
  std::string allowed;        // "[0, 1)", ">= 1", "true, mha", ...
  std::string description;
};
std::vector<PointKeyDoc> point_key_docs();

}  // namespace kvsweep::config
