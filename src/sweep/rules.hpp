#pragma once
// Private to the sweep layer: the `zip:` and `exclude:` keys of a sweep file.
//
//   zip: [[prompt_tokens, decode_tokens]]     # groups of axes that step together (lists of one length)
//   exclude:                                  # combinations left out: one mapping per rule, a point
//     - {model: llama-3.1-70b, hbm_capacity_gb: [40, 48]}   # matching every key of a rule is dropped;
//                                                           # a list there means any of its values;
//                                                           # an inline mapping matches by its name
// At the top level they apply to every point; inside a `points:` entry, to that entry's points.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "layout.hpp"

namespace kvsweep::sweep::detail {

struct ZipGroup {
  YAML::Node node;                // the group, for messages
  std::vector<YAML::Node> names;  // axis names, each a scalar with its mark
};

struct ExcludePair {
  std::string name;                // axis name
  YAML::Node key;                  // where it is named
  std::vector<YAML::Node> values;  // a point matches when its value is any of these
};

struct ExcludeRule {
  YAML::Node node;
  std::vector<ExcludePair> pairs;
};

struct Rules {
  std::string where;  // "zip"/"exclude" are prefixed by it in messages: "" or "points[1]."
  std::vector<ZipGroup> zips;
  std::vector<ExcludeRule> excludes;
};

// The rules given by one level (the file's top level or a `points:` entry). Malformed parts are
// reported and left out.
Rules read_rules(const YAML::Node& level, std::string where, config::PointReader& reader);

// Reports every name that is an axis of none of `mappings` (the ones the rules apply to), and every
// excluded value that is never on its axis: a typo there would otherwise silently exclude nothing.
void check_rules(const Rules& rules, const std::vector<const Mapping*>& mappings,
                 config::PointReader& reader);

}  // namespace kvsweep::sweep::detail
