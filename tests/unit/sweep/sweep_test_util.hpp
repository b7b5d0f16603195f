#pragma once
// Helpers of the sweep tests: load a sweep from text, or collect the diagnostics it is rejected with.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::sweep::test {

// The keys every test point needs, to which a test adds its own (a small, fast point).
inline const std::string kBase =
    "model: llama-3.1-8b\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\n"
    "prompt_tokens: 1000\ndecode_tokens: 100\n";

inline std::vector<core::Diagnostic> errors_of(const std::string& text) {
  try {
    const Sweep s = load_sweep_text(text, "s.yaml");
    ADD_FAILURE() << "accepted (" << s.points.size() << " points):\n" << text;
  } catch (const core::InputError& e) {
    return e.diagnostics();
  }
  return {};
}

// The one diagnostic `text` is rejected with (a failure when there are several).
inline core::Diagnostic only_error(const std::string& text) {
  const auto diags = errors_of(text);
  if (diags.size() != 1) {
    std::string all;
    for (const auto& d : diags) all += "\n  " + d.str();
    ADD_FAILURE() << diags.size() << " diagnostics instead of 1:" << all;
  }
  return diags.empty() ? core::Diagnostic{} : diags.front();
}

// The value of `axis` in point p.
inline std::string axis_value(const SweepPoint& p, const std::string& axis) {
  for (const auto& [name, value] : p.axes) {
    if (name == axis) return value;
  }
  ADD_FAILURE() << "no axis " << axis;
  return "";
}

}  // namespace kvsweep::sweep::test
