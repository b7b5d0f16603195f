#pragma once
// Private to the sweep layer: a parsed sweep document -> every point of it, each checked by the point
// reader, before ids are compared.

#include <yaml-cpp/yaml.h>

#include <deque>
#include <string>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "layout.hpp"

namespace kvsweep::sweep::detail {

// One point of the product.
struct Candidate {
  config::PointSpec spec;
  std::size_t mapping = 0;          // index into Expansion::mappings
  std::vector<std::size_t> choice;  // index into each axis' values
};

struct Expansion {
  std::deque<Mapping> mappings;  // the file's top level, or one per `points:` entry
  std::vector<Candidate> points;
};

// Expands the document `root` (a mapping) of the file `name`. Every problem is recorded in `reader`;
// points that have one are left out. A point's source is "name#k" (k its index among all points), or
// just `name` for a file that is one point without axes.
Expansion expand(const YAML::Node& root, const std::string& name, config::PointReader& reader);

}  // namespace kvsweep::sweep::detail
