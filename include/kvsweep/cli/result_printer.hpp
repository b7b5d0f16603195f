#pragma once
// Printing of PointResults, kept apart from the results themselves: an aligned table for people and
// one JSON document for programs.

#include <ostream>
#include <vector>

#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/io/json.hpp"

namespace kvsweep::cli {

void print_point_table(std::ostream& out, const eval::PointResult& r);
void write_point_json(io::JsonWriter& json, const eval::PointResult& r);
void print_points_json(std::ostream& out, const std::vector<eval::PointResult>& results);

}  // namespace kvsweep::cli
