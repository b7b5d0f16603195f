#pragma once
// Private to the sweep layer: where the axes of a sweep file are, and how one combination of them is
// turned back into point mappings for config::PointReader.
//
// A mapping to expand is the file's top level alone, or the top level (defaults) under one entry of
// `points:`. Any point key whose value is a list is an axis, and so is any key of `synthetic:` or
// `policy_params:` whose value is a list (named "synthetic.span_tokens"). Never axes: `policies` (its
// value is a list), `name`, `oracle` and `seed` (the same for every point of a sweep); a list there is
// left for the point reader to reject. An entry that gives a key again replaces a default axis of that
// key (any capacity key replaces every default capacity key, as for single values).

#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kvsweep/config/point_yaml.hpp"
#include "node_arena.hpp"

namespace kvsweep::sweep::detail {

// A list-valued key: the values the sweep steps through.
struct Axis {
  std::string name;                // "sparsity", "synthetic.span_tokens"
  YAML::Node key;                  // where the axis is named
  YAML::Node list;                 // where its values are
  std::vector<YAML::Node> values;  // the list's elements, each with its own mark
};

// One key: value of a level, or of a knob group inside a level.
struct Item {
  std::string name;  // dotted key path; "" for a key that is not a plain name (the reader reports it)
  YAML::Node key;
  YAML::Node value;
  int axis = -1;               // index into Mapping::axes when the value is swept
  bool dropped = false;        // a default axis replaced by the entry: left out of every combination
  std::vector<Item> children;  // a knob group with an axis or a dropped key: rebuilt per combination
};

struct Level {
  YAML::Node map;
  std::vector<std::string> other_keys;  // sweep keys the point reader must accept and skip
  std::vector<Item> items;
  bool rebuilt = false;  // some item is an axis or dropped: the mapping is built per combination
};

struct Mapping {
  std::vector<Level> levels;         // the top level, then the entry (when there are `points:`)
  std::vector<Axis> axes;            // in document order, the top level's first
  YAML::Mark mark;                   // where missing keys are reported: the entry, or the document
  std::string label;                 // "points[2]", or "" for a file without `points:`
  std::set<std::string> entry_keys;  // dotted keys the entry gives (empty without `points:`)
  bool has_empty_axis = false;       // an empty list (reported): no points, and not checked further

  // Index into axes, or -1.
  int axis_index(const std::string& name) const;
  // The single (not list) value this mapping gives `name`, as the point reader would take it; nullopt
  // when it gives none, or gives a list. (An optional, not a null Node: a default-constructed YAML::Node
  // counts as defined, and assigning to a Node overwrites the node it refers to.)
  std::optional<YAML::Node> single_value(const std::string& name) const;
};

// Keys of a sweep that are not point keys: `zip` and `exclude` at both levels, `points` at the top.
const std::vector<std::string>& top_level_sweep_keys();
const std::vector<std::string>& entry_sweep_keys();

// True for the keys that become axes when their value is a list.
bool is_axis_key(const std::string& dotted_key);

// Lays out the top level (`entry` null) or the top level under one entry. Empty lists are reported.
Mapping lay_out(const YAML::Node& top, const YAML::Node* entry, std::string label, const YAML::Mark& mark,
                config::PointReader& reader);

// The levels of the combination choice[a] (an index into axes[a].values for every axis a).
std::vector<config::PointReader::Level> build_levels(const Mapping& m, const std::vector<std::size_t>& choice,
                                                     NodeArena& arena);

}  // namespace kvsweep::sweep::detail
