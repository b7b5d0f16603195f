#pragma once
// The authors' synthetic family for their Fig. 4 (`synthetic: {model: random_swap}`): the generator of
// their public trace_generation scripts (shared/notes/PAPER.md), in kvsweep's conventions.
//
// Per layer l, independently, with r = 1 - sparsity and k(n) = round(r n) (as the span model):
// * the window of step n is [lo(n), n), lo(n) = floor((1 - min(1, r + f (1 - r))) n), f = window_share
//   (their threshold_factor: 0.95 in generate_trace_multi.py, the default here; generate_trace.py's
//   min(1, r + 0.7) is window_share = min(1, 0.7 / (1 - r)): the whole context up to 70 % sparsity);
// * at n = P, S is k(P) tokens drawn uniformly without replacement from the window;
// * at every later step, S is topped up to k(n) with random window tokens not in S (or, should k fall,
//   its oldest tokens dropped), then its m oldest members (lowest positions) are replaced by as many
//   random window tokens that were not in S: m = floor(q |S| + u), u uniform in [0, 1), so the mean is
//   exactly q |S|, q = swap_share. Tokens that leave never come back in the same step; members below
//   lo(n) stay until a swap takes them (they are the oldest).
// q replaces a share of the set per step, so the step-to-step Jaccard is (k - m) / (k + m); by default
// q = (1 - J) / (1 + J) of the point's `variation` target J (actual 0.8 -> 0.111, close to their
// diff_ratio 0.1; low 0.95 -> 0.026; high 0.6 -> 0.25). Which settings the paper's "low" and "high"
// used is not stored; generate_trace_multi.py draws m uniformly from [0, 0.1 |S|] instead (mean 0.05).
// No sinks, no recency window, no spans: the other `synthetic:` knobs do not apply.
//
// Determinism: layer l's stream is core::derive_seed(seed, "rnd-swap", l); layers own their state, so
// the trace does not depend on the thread count. Cost per step O(L (P + D) / 64 + added tokens).

#include <cstdint>
#include <memory>
#include <span>

#include "kvsweep/config/synthetic.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

// lo(n) of the window, for tests and statistics.
std::uint32_t random_swap_window_start(const config::SyntheticParams& p, std::uint32_t n);

// A random-swap trace: a function of (p, shape, seed) only. Throws std::invalid_argument for
// out-of-range parameters (synthetic_param_problems). Memory O(L (P + D)) bits.
std::unique_ptr<TraceSource> make_random_swap_source(const config::SyntheticParams& p, TraceShape shape,
                                                     std::uint64_t seed, bool parallel_layers = true);

}  // namespace kvsweep::trace
