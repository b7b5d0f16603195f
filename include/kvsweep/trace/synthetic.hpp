#pragma once
// Synthetic token-importance traces: S(n, l) for decode steps n = P .. P+D-1 and layers l < L, generated
// step by step on 64-token words so that the paper-scale trace (P = 31,299, D = 10,239, L = 32, 60 %
// sparsity: 4.7e9 reads) takes seconds, never a materialised trace.
//
// The model, and where each piece comes from (numbers from shared/notes/ATTENTION.md):
//
//   S(n, l) = sinks ∪ recent window ∪ live spans,   |S(n, l)| = k(n) = round((1 - sparsity) n) exactly.
//
// * Sinks: the first `sink_tokens` tokens are always read. StreamingLLM (ICLR'24) keeps 4 sink tokens
//   (start_size = 4) and shows they draw attention whatever their content. These are the "vertical"
//   fixed-position pattern of arXiv 2506.15704.
// * Recent window: the most recent w(n) = round(recent_share k(n)) tokens — the "slash" pattern.
//   H2O (NeurIPS'23) splits its 20 % budget evenly between heavy hitters and recent tokens; StreamingLLM
//   pairs the sinks with a recent window. The default recent_share = 0.25 is a choice inside that range.
// * Spans: the rest of the budget, d(n) = k - sinks - w, is a set of non-overlapping runs of tokens in
//   [sinks, n - w). Lengths are geometric with mean `span_tokens` (Quest's 16-token pages assume that
//   importance clumps at about that scale; no paper measures run lengths). A span is placed at a random
//   position (the position profile below), then takes the next free run from there, truncated at the
//   next occupied token, or, when nothing is free up to the region's end, the nearest free run before
//   it; the last span added in a step is truncated to fill d(n) exactly. Each span lives a geometric
//   number of steps drawn when it is created; a two-level timing wheel (one bucket per step of
//   the current 256-step lap, one per later lap) makes expiry cost O(expired spans). New spans never take
//   tokens that left S in the same step, so every expired token is a real change of S.
//   - Heavy hitters: `heavy_share` of d(n), mean lifetime `heavy_lifetime_steps`. H2O: a small set of
//     tokens takes most of the attention mass; Scissorhands (NeurIPS'23): over 95 % of pivotal tokens
//     stay pivotal — per-step survival 1 - 1/1000 at the default lifetime.
//   - Bursts: the rest, query-driven (Quest Fig. 2: criticality depends on the current query). Their
//     mean lifetime is derived so that the mean step-to-step Jaccard overlap of S(n, l) hits
//     `target_jaccard`: replacing a fraction q of |S| per step gives J ≈ (1 - q) / (1 + q); sinks and the
//     window are (nearly) stable, so q comes from span expiry alone. No paper measures this overlap;
//     ShadowKV (ICML'25) reuses ~60 % of selected chunks step to step and Scissorhands reports > 95 %
//     persistence, which bracket it at 0.6 .. 0.95. When the heavy hitters alone churn more than q
//     allows, bursts become long-lived (SyntheticDerived::bursts_long_lived).
//     The target is met as a mean over the sparse layers, solved at mid-trace with
//     J_l = (k - R_l) / (k + R_l + dk) (R_l: tokens leaving per step, dk: budget growth); measured at
//     paper scale it lands within 0.001 of 0.6, 0.8 and 0.95.
//   - Recall: with probability `recall_prob` a new burst re-uses the start and length of a burst of the
//     same layer that expired earlier (a ring of the last 4096). Quest/ArkVale: evicted pages regain
//     importance; the seed paper's token 2777 (layer 8) rises and falls repeatedly. The ring holds the
//     expiries of the last ~13 steps at paper scale and Jaccard 0.8, so recalls come back soon.
//   - Cross-layer overlap: with probability `cross_layer_share` a new burst takes its position and
//     length from a proposal stream derived from (seed, n) and shared by all layers, so neighbouring
//     layers pick the same spans (TidalDecode, ICLR'25: top tokens overlap strongly across layers).
//     The order of the choices for a burst is: shared proposal, else recall, else a fresh position.
// * Layers: the churn of layer l (both lifetimes divided by it) is
//   m(l) = 1 + layer_spread (1 - 2 l / (L - 1)), mean 1 over layers: PyramidKV — lower layers attend
//   broadly (their top-k set is unstable), upper layers concentrate on few, persistent tokens. The first
//   `dense_layers` layers read every past token (Quest and TidalDecode keep the first two layers dense).
//
// * Position profile: fresh spans (heavy hitters, bursts, shared proposals; a recall keeps its old start)
//   start at x = t / n drawn from f(x) = u + (1 - u) Phi(a x - theta) / (1 - s), restricted to the span
//   region, with a = `recency_slope`, u = `uniform_share`, and theta set so that Phi(a x - theta) has mean
//   1 - s over [0, 1): the read probability of a top-k selection on a score with a linear recency trend
//   and unit Gaussian noise. Real reads lean toward later tokens (arXiv 2506.15704's slash pattern; the
//   question sits at the end of the prompt), and the lean sharpens as the budget shrinks: the authors'
//   static latencies say 27 % (40 % sparsity) .. 9 % (90 %) of the real trace's reads land in its first
//   16,586 tokens (~45 % of the context). u is the uniform floor (tokens read for their content
//   wherever they are). a = 7, u = 0.2 are calibrated once to those six shares (docs/traces.md "Synthetic
//   traces": static within 3 % of the published latencies); a = 0 is the uniform placement. Relative to
//   n, so the share does not depend on the scale of P and D.
//
// Only sink_tokens = 4 and the 0.6 .. 0.95 Jaccard bracket come from measurements (and the profile's
// calibration from the authors' published numbers); the defaults of the
// other knobs (config/synthetic.hpp) are assumptions, each a parameter so that it can be swept.
//
// Steps whose budget is the whole past (k(n) = n, e.g. sparsity 0) read everything; the span state
// starts at the first step with k(n) < n. Spans never lie outside [sinks, n - w): that region only grows
// with n (proved by k(n+1) - k(n) ∈ {0, 1}), and a defensive trim handles anything else.
//
// Determinism: every random stream is derived with core::derive_seed from (seed, purpose, layer) or
// (seed, purpose, n); layers own their state, so the trace does not depend on the thread count.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kvsweep/config/synthetic.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

// How the read budget of step n splits; the same for every sparse layer.
struct ReadLayout {
  std::uint32_t budget = 0;   // k(n) = round((1 - sparsity) n), <= n
  std::uint32_t sinks = 0;    // min(sink_tokens, k): tokens [0, sinks)
  std::uint32_t window = 0;   // min(round(recent_share k), k - sinks): tokens [n - window, n)
  std::uint32_t dynamic = 0;  // k - sinks - window: span tokens inside [sinks, n - window)
};
ReadLayout read_layout(const config::SyntheticParams& p, std::uint32_t n);

// Quantities derived from the parameters, for `trace stats` and docs/traces.md. Lifetimes are mean decode
// steps; 1e12 stands for "never expires within any trace".
struct SyntheticDerived {
  double replaced_fraction = 0;     // q: mean share of |S| replaced per step, over sparse layers
  double burst_lifetime_steps = 0;  // mean burst lifetime at churn multiplier 1
  bool bursts_long_lived = false;   // heavy hitters alone churn too much: bursts never expire
  bool churn_saturated = false;     // even 1-step bursts cannot churn enough to reach the target
  bool no_spans = false;            // mid-trace budget is the whole past, or sinks + window take it all
  double expected_jaccard = 1;      // predicted mean step-to-step Jaccard over sparse layers
  std::vector<double> layer_churn;  // m(l), floored at 1e-3 (unused by dense layers)
  std::vector<double> layer_heavy_lifetime_steps;  // heavy_lifetime_steps / m(l), >= 1
  std::vector<double> layer_burst_lifetime_steps;  // burst lifetime / m(l), >= 1
  std::vector<double> layer_expected_jaccard;      // 1 for dense layers
};
// The burst lifetime is solved at mid-trace n = P + D/2 so that the mean over sparse layers of
// J_l = (k - R_l) / (k + R_l + dk) equals target_jaccard, where R_l is the tokens expiring per step.
SyntheticDerived derive_parameters(const config::SyntheticParams& p, TraceShape shape);

// Every out-of-range parameter, one message each naming the key and the allowed range (empty: valid).
std::vector<std::string> synthetic_param_problems(const config::SyntheticParams& p);
// Throws std::invalid_argument listing every problem, one per line (nothing when p is valid).
void require_valid(const config::SyntheticParams& p);

enum class SpanKind : std::uint8_t { kHeavy, kBurst };

class SyntheticSource final : public TraceSource {
 public:
  // Throws std::invalid_argument when synthetic_param_problems(p) is not empty. `parallel_layers`
  // runs the layers of a step with tbb::parallel_for; the output is identical either way.
  SyntheticSource(const config::SyntheticParams& p, TraceShape shape, std::uint64_t seed,
                  bool parallel_layers = true);
  ~SyntheticSource() override;
  SyntheticSource(const SyntheticSource&) = delete;
  SyntheticSource& operator=(const SyntheticSource&) = delete;

  TraceShape shape() const override;
  // Contract of TraceSource; throws std::logic_error when steps come out of order, reads.size() < L or
  // a bitset is smaller than P + D. Cost O(L (P + D) / 64 + new and expired spans).
  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override;

  const SyntheticDerived& derived() const;
  // The tokens of layer `layer`'s live spans of one kind after the last read_step (cleared first):
  // for tests and statistics, O(live spans).
  void live_spans(std::uint32_t layer, SpanKind kind, core::TokenBitset& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A SyntheticSource with layer-parallel steps (or, for `model: random_swap`, the authors' generator,
// trace/random_swap.hpp): the trace is a function of (p, shape, seed) only.
// One source serves one consumer (read_step is not re-entrant); memory O(L (P + D)) bits plus live
// spans. Throws std::invalid_argument for out-of-range parameters.
std::unique_ptr<TraceSource> make_synthetic_source(const config::SyntheticParams& p, TraceShape shape,
                                                   std::uint64_t seed);

}  // namespace kvsweep::trace
