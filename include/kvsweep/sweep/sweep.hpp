#pragma once
// Sweep files: a point file (config/point_yaml.hpp) in which any key of a point may hold a list of
// values. Each list-valued key is an axis and the points are the cartesian product of the axes:
//
//   model: [llama-3.1-8b, llama-2-7b]          # an axis of two presets (an inline mapping is one value)
//   hardware: gh200-measured
//   prompt_tokens: [4096, 16384]
//   decode_tokens: [256, 1024]
//   zip: [[prompt_tokens, decode_tokens]]      # step together: (4096, 256), (16384, 1024)
//   hbm_capacity_ratio: [0.1, 0.25, 0.5]
//   synthetic: {span_tokens: [8, 32]}          # axis "synthetic.span_tokens"
//   exclude:                                   # drop every point matching all keys of one rule
//     - {model: llama-2-7b, hbm_capacity_ratio: 0.1}
//   policies: [static, belady, sa_guided]      # one value: the same for every point
//
// Every key of a point may be an axis except `name`, `policies`, `oracle` and `seed`, which apply to
// all points; inside `synthetic:` and `policy_params:` every key may be. `points:` keeps its meaning
// (top-level keys are defaults, an entry may override them, an entry's override of a default axis
// replaces it for that entry) and each entry expands on its own; `zip:` and `exclude:` at the top level
// apply to every entry, inside an entry to that entry only.
//
// Every point of the product is checked by the point reader, so a bad value anywhere in a list is
// reported once at its own file:line:col. Errors, all collected and thrown as one core::InputError:
// anything the point reader reports, an empty list, zip groups of lists of different lengths or naming
// something that is not an axis, exclude rules naming a key that is not an axis or a value that is
// never on its axis, two points with the same id, more than kMaxSweepPoints points.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/config/point.hpp"

namespace kvsweep::sweep {

struct SweepPoint {
  config::PointSpec spec;  // spec.source: "file#k", k its index in the sweep ("file" for a lone point)
  std::string id;          // config::point_id(spec)
  // One pair per Sweep::axes, in that order: the axis name and this point's value as YAML text (one
  // line; "" when the point does not give that key, e.g. an axis of another `points:` entry).
  std::vector<std::pair<std::string, std::string>> axes;
  double cost_estimate = 0;  // work units (sweep/cost.hpp): larger means longer; rank points by it
  double estimated_s = 0;    // wall seconds on the reference machine (2 cores), roughly, without the Lagrangian bound
  double estimated_lagrangian_s = 0;  // of estimated_s: the Lagrangian bound, should it run (at most)
  double memory_bytes = 0;   // estimated peak memory on this machine (sweep/memory.hpp)
};

struct Sweep {
  std::string path;                   // as given; the prefix of every point's source
  std::string text;                   // the file's bytes, as read
  std::string hash;                   // 16 hex digits of `text`: the same bytes give the same hash
  std::vector<std::string> axes;      // every axis name, in order of first appearance
  std::vector<std::string> policies;  // the union of the points' policies, in order of first appearance
  std::vector<SweepPoint> points;     // in expansion order (entry by entry, the last axis fastest)
};

// A sweep expanding to more points is refused (each point takes seconds to minutes to evaluate).
inline constexpr std::size_t kMaxSweepPoints = 100000;

// Reads, expands and checks `path`. Relative trace files are resolved against its directory.
// Throws core::InputError (every problem, each with file:line:col) when anything is wrong.
Sweep load_sweep_file(const std::string& path);

// As load_sweep_file on text in memory; `name` stands for the file in messages and sources, and its
// directory (the working directory when it has none) resolves relative trace files.
Sweep load_sweep_text(const std::string& text, const std::string& name);

}  // namespace kvsweep::sweep
