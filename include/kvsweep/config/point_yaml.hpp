#pragma once
// Design points from YAML. A file is either one mapping of point keys (one point) or a mapping with
// `points:` holding a list of such mappings; any point key given beside `points:` is a default for every
// entry, which an entry may override (inside `synthetic:` and `policy_params:` key by key).
//
// Every problem is collected before anything is thrown: a single core::InputError carries one
// Diagnostic per problem, each with where = "file:line:col" (1-based) and a message that names the key,
// the offending value and what is allowed.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::config {

namespace detail {
class YamlContext;
}

// Reads and validates `path`. Relative trace files are resolved against the directory of `path`.
// PointSpec.source is `path` for a single point and `path#i` for entry i (0-based) of `points:`.
// Throws core::InputError: where = path and "cannot open file" when it cannot be read.
std::vector<PointSpec> load_point_file(const std::string& path);

// The bytes of `path`, as load_point_file reads them. Throws core::InputError (where = path) when it
// cannot be read.
std::string read_yaml_file(const std::string& path);

// As load_point_file, on text already in memory. `name_for_messages` is used in every Diagnostic.where
// and PointSpec.source; relative trace files are resolved against its directory (the working directory
// when it has none).
std::vector<PointSpec> load_point_text(const std::string& text, const std::string& name_for_messages);

// One point from YAML mappings the caller has already parsed or built: the building block of sweep files
// (kvsweep::sweep), whose every combination of axes is a mapping made of the file's own nodes, so that
// each problem keeps the file:line:col of the node it came from. Problems are collected, not thrown, and
// each is kept once however many points repeat it. Not thread-safe.
class PointReader {
 public:
  // `file` names the document in every Diagnostic.where; relative trace files are resolved against
  // `base_dir`.
  PointReader(std::string file, std::filesystem::path base_dir);
  ~PointReader();
  PointReader(const PointReader&) = delete;
  PointReader& operator=(const PointReader&) = delete;

  // The document `text`, a mapping. Throws core::InputError, as load_point_text does, for a YAML syntax
  // error (at its line:col), an empty document, or a document that is not a mapping.
  YAML::Node parse(const std::string& text) const;

  struct Level {
    YAML::Node map;                       // point keys
    std::vector<std::string> other_keys;  // further keys allowed here, left to the caller
  };
  // The point given by `levels`, each a default for the next (a file's top level, then one `points:`
  // entry), checked as load_point_text checks it. Missing required keys are reported at `point_mark`.
  // nullopt when this point has a problem (recorded).
  std::optional<PointSpec> read(const std::vector<Level>& levels, const YAML::Mark& point_mark,
                                std::string source);

  // Records a problem the caller found in the same document.
  void error(const YAML::Mark& mark, std::string message);
  // "file:line:col" (1-based), or "file" for a null mark.
  std::string where(const YAML::Mark& mark) const;
  bool has_errors() const;
  const std::vector<core::Diagnostic>& diagnostics() const;  // each once, in the order found
  // Throws core::InputError with every problem recorded, if any.
  void throw_if_any() const;

 private:
  std::unique_ptr<detail::YamlContext> ctx_;
};

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
