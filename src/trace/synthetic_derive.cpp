// The budget layout of a step and the parameters derived from SyntheticParams (burst lifetime that
// hits the Jaccard target, per-layer churn). Kept apart from the generator so `trace stats` and
// docs/traces.md "Synthetic traces" can show the same numbers the generator uses.

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "kvsweep/trace/synthetic.hpp"
#include "synthetic_layer.hpp"

namespace kvsweep::trace {

namespace {

// A layer_spread of 1 would give the top layer zero churn (infinite lifetimes); keep it finite.
constexpr double kMinChurn = 1e-3;

double clamp01(double v) { return std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 1.0); }

double layer_lifetime(double mean, double churn) {
  if (mean >= detail::kNeverSteps) return detail::kNeverSteps;
  return std::clamp(mean / churn, 1.0, detail::kNeverSteps);
}

double expiry_rate(double lifetime) { return lifetime >= detail::kNeverSteps ? 0.0 : 1.0 / lifetime; }

}  // namespace

ReadLayout read_layout(const config::SyntheticParams& p, std::uint32_t n) {
  ReadLayout lay;
  const auto k = static_cast<std::uint64_t>(std::llround((1.0 - clamp01(p.sparsity)) * n));
  lay.budget = static_cast<std::uint32_t>(std::min<std::uint64_t>(k, n));
  lay.sinks = std::min(p.sink_tokens, lay.budget);
  const auto w = static_cast<std::uint64_t>(std::llround(clamp01(p.recent_share) * lay.budget));
  lay.window = static_cast<std::uint32_t>(std::min<std::uint64_t>(w, lay.budget - lay.sinks));
  lay.dynamic = lay.budget - lay.sinks - lay.window;
  return lay;
}

SyntheticDerived derive_parameters(const config::SyntheticParams& p, TraceShape shape) {
  SyntheticDerived out;
  const std::uint32_t layers = shape.layers;
  const std::uint32_t dense = std::min(p.dense_layers, layers);
  const double spread = clamp01(p.layer_spread);
  for (std::uint32_t l = 0; l < layers; ++l) {
    const double m = layers <= 1 ? 1.0 : 1.0 + spread * (1.0 - 2.0 * l / (layers - 1.0));
    out.layer_churn.push_back(std::max(m, kMinChurn));
  }

  // Mid-trace budget: the burst lifetime is one number for the whole trace, and k(n) only drifts
  // by D / (2 P) around it (16 % at paper scale).
  const std::uint32_t n_mid = shape.prompt_tokens + shape.decode_tokens / 2;
  const ReadLayout lay = read_layout(p, n_mid);
  const double k = lay.budget;
  const double d = lay.dynamic;
  const double growth = 1.0 - clamp01(p.sparsity);  // k(n+1) - k(n) on average
  // The window loses its oldest token each step unless it grows by one that step.
  const double window_leave = lay.window > 0 ? 1.0 - clamp01(p.recent_share) * growth : 0.0;
  const double h = clamp01(p.heavy_share);
  const double heavy_mean = std::max(p.heavy_lifetime_steps, 1.0);

  auto replaced = [&](double burst_mean, std::uint32_t l) {
    const double m = out.layer_churn[l];
    return d * (h * expiry_rate(layer_lifetime(heavy_mean, m)) +
                (1.0 - h) * expiry_rate(layer_lifetime(burst_mean, m))) +
           window_leave;
  };
  auto layer_jaccard = [&](double burst_mean, std::uint32_t l) {
    if (k <= 0) return 1.0;
    const double r = std::min(replaced(burst_mean, l), k);
    return (k - r) / (k + r + growth);
  };
  auto mean_jaccard = [&](double burst_mean) {
    double sum = 0;
    for (std::uint32_t l = dense; l < layers; ++l) sum += layer_jaccard(burst_mean, l);
    return layers > dense ? sum / (layers - dense) : 1.0;
  };

  // Mean J rises with the burst lifetime; solve by bisection in log space between "every layer
  // clamped at 1 step" and "never expires".
  double lo = 1.0;
  for (std::uint32_t l = dense; l < layers; ++l) lo = std::min(lo, out.layer_churn[l]);
  double hi = detail::kNeverSteps;
  const double target = clamp01(p.target_jaccard);
  // Whole past read (k = n: sparsity 0, or every layer dense) or no span budget at all: the span
  // lifetimes cannot move the overlap, so there is nothing to solve.
  const bool whole_past = layers == dense || lay.budget >= n_mid;
  out.no_spans = whole_past || lay.dynamic == 0;
  double burst = 0;
  if (out.no_spans) {
    burst = hi;
  } else if (mean_jaccard(hi) < target) {
    burst = hi;
    out.bursts_long_lived = true;
  } else if (mean_jaccard(lo) > target) {
    burst = lo;
    out.churn_saturated = true;
  } else {
    for (int it = 0; it < 200; ++it) {
      const double mid = std::sqrt(lo * hi);
      (mean_jaccard(mid) < target ? lo : hi) = mid;
    }
    burst = std::sqrt(lo * hi);
  }
  out.burst_lifetime_steps = burst;
  out.expected_jaccard = whole_past ? 1.0 : mean_jaccard(burst);

  double q_sum = 0;
  for (std::uint32_t l = 0; l < layers; ++l) {
    const double m = out.layer_churn[l];
    out.layer_heavy_lifetime_steps.push_back(layer_lifetime(heavy_mean, m));
    out.layer_burst_lifetime_steps.push_back(layer_lifetime(burst, m));
    const bool is_dense = l < dense;
    out.layer_expected_jaccard.push_back(is_dense || whole_past ? 1.0 : layer_jaccard(burst, l));
    if (!is_dense && !whole_past && k > 0) q_sum += std::min(replaced(burst, l), k) / k;
  }
  out.replaced_fraction = layers > dense ? q_sum / (layers - dense) : 0.0;
  return out;
}

std::vector<std::string> synthetic_param_problems(const config::SyntheticParams& p) {
  std::vector<std::string> problems;
  auto fail = [&](const char* key, const char* range, double v) {
    std::ostringstream os;
    os << "synthetic." << key << " must be " << range << ", got " << v;
    problems.push_back(os.str());
  };
  auto unit = [&](const char* key, double v) {
    if (!(v >= 0.0 && v <= 1.0)) fail(key, "in [0, 1]", v);
  };
  auto at_least_one = [&](const char* key, double v) {
    if (!(v >= 1.0 && std::isfinite(v))) fail(key, "finite and >= 1", v);
  };
  unit("sparsity", p.sparsity);
  unit("target_jaccard", p.target_jaccard);
  unit("recent_share", p.recent_share);
  unit("heavy_share", p.heavy_share);
  unit("recall_prob", p.recall_prob);
  unit("layer_spread", p.layer_spread);
  unit("cross_layer_share", p.cross_layer_share);
  unit("uniform_share", p.uniform_share);
  unit("window_share", p.window_share);
  if (p.swap_share > 1.0) fail("swap_share", "in [0, 1]", p.swap_share);
  if (!(p.recency_slope >= 0.0 && p.recency_slope <= 100.0)) fail("recency_slope", "in [0, 100]", p.recency_slope);
  at_least_one("heavy_lifetime_steps", p.heavy_lifetime_steps);
  at_least_one("span_tokens", p.span_tokens);
  return problems;
}

void require_valid(const config::SyntheticParams& p) {
  const auto problems = synthetic_param_problems(p);
  if (problems.empty()) return;
  std::string msg = "invalid synthetic trace parameters:";
  for (const auto& s : problems) msg += "\n  " + s;
  throw std::invalid_argument(msg);
}

}  // namespace kvsweep::trace
