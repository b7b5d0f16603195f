#pragma once
// Parameters of the synthetic token-importance generator (see trace/synthetic.hpp for the model and
// README "Synthetic traces" for what the literature says each should be).

#include <cstdint>
#include <string>
#include <vector>

namespace kvsweep::config {

struct SyntheticParams {
  double sparsity = 0.6;         // 1 - read fraction of the past tokens at every (n, l)
  std::string variation = "actual";  // label: low | actual | high | numeric target as text
  double target_jaccard = 0.8;   // mean step-to-step Jaccard overlap of S(n,l) and S(n+1,l)
  std::uint32_t sink_tokens = 4;     // StreamingLLM: 4 attention sinks
  double recent_share = 0.25;    // share of the read budget given to the recency window
  double heavy_share = 0.5;      // share of the remaining (dynamic) budget held by heavy hitters
  double heavy_lifetime_steps = 1000;  // mean lifetime of a heavy-hitter span, decode steps
  double span_tokens = 8;        // mean length of an attended span (geometric), tokens
  double recall_prob = 0.5;      // probability that a new burst revisits an earlier burst's span
  double layer_spread = 0.5;     // churn of layer l scaled by 1 + spread * (1 - 2 l / (L - 1))
  double cross_layer_share = 0.3;  // probability that a new burst copies the step's shared proposal
  std::uint32_t dense_layers = 0;  // the first `dense_layers` layers read every past token
};

// The named variation presets and their target Jaccard overlaps.
struct VariationPreset {
  std::string name;
  double target_jaccard;
};
// low 0.95, actual 0.8, high 0.6, in that order.
const std::vector<VariationPreset>& variation_presets();
const VariationPreset* find_variation_preset(const std::string& name);  // nullptr when unknown

}  // namespace kvsweep::config
