#pragma once
// Parameters of the synthetic token-importance generator (see trace/synthetic.hpp for the model and
// docs/traces.md "Synthetic traces" for what the literature says each should be).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvsweep::config {

// Which generator: kvsweep's span model (trace/synthetic.hpp), or the authors' random-swap family for
// their Fig. 4 (trace/random_swap.hpp).
enum class SyntheticModel : std::uint8_t { kSpans, kRandomSwap };
std::string_view to_string(SyntheticModel model);                       // "spans" / "random_swap"
std::optional<SyntheticModel> parse_synthetic_model(std::string_view text);  // its inverse

struct SyntheticParams {
  SyntheticModel model = SyntheticModel::kSpans;
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
  // Where fresh spans start (trace/synthetic.hpp "Position profile"); calibrated once to the share of
  // the real trace's reads that land in its first 16,586 tokens (docs/traces.md "Synthetic traces").
  double recency_slope = 7;      // a: read probability of token t is Phi(a t / n - theta); 0: uniform
  double uniform_share = 0.2;    // share of span starts drawn uniformly over the span region
  // random_swap only (the authors' trace_generation scripts): each step a share of S(n,l), oldest
  // tokens first, is replaced by random tokens of the window [lo, n).
  double swap_share = -1;        // replaced share per step; < 0: (1 - J) / (1 + J) of target_jaccard
  double window_share = 0.95;    // f: lo = floor((1 - min(1, r + f (1 - r))) n), r = 1 - sparsity
};

// The share random_swap replaces per step: swap_share, or when it is not given the share whose swaps
// alone give the mean Jaccard target ((k - m) / (k + m) = J).
double random_swap_share(const SyntheticParams& p);

// The named variation presets and their target Jaccard overlaps.
struct VariationPreset {
  std::string name;
  double target_jaccard;
};
// low 0.95, actual 0.8, high 0.6, in that order.
const std::vector<VariationPreset>& variation_presets();
const VariationPreset* find_variation_preset(const std::string& name);  // nullptr when unknown

}  // namespace kvsweep::config
