#include "kvsweep/trace/stats.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "kvsweep/io/json.hpp"

namespace kvsweep::trace {

TraceStats compute_stats(TraceSource& source, std::uint32_t first_tokens) {
  TraceStats st;
  st.first_tokens = first_tokens;
  st.shape = source.shape();
  const TraceShape& s = st.shape;
  const std::uint32_t L = s.layers;
  st.layers.resize(L);
  std::vector<core::TokenBitset> prev(L, core::TokenBitset(s.total_tokens()));
  std::vector<core::TokenBitset> cur(L, core::TokenBitset(s.total_tokens()));
  std::vector<double> fraction_sum(L, 0.0), jaccard_sum(L, 0.0);
  std::uint64_t fraction_rows = 0;  // rows with n > 0 (the same count for every layer)
  std::uint64_t pairs = 0;          // step pairs (n, n+1) seen (the same for every layer)
  st.min_reads_per_step = st.min_reads_per_row = std::numeric_limits<std::uint64_t>::max();

  for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
    source.read_step(n, cur);
    const bool has_prev = n > s.prompt_tokens;
    // Bits >= n are zero by the source contract, and S(n-1) has none >= n-1: words below n suffice.
    const std::size_t words = core::words_for(n);
    std::uint64_t step_reads = 0;
    for (std::uint32_t l = 0; l < L; ++l) {
      const core::Word* a = prev[l].data();
      const core::Word* b = cur[l].data();
      std::uint64_t count = 0, inter = 0, uni = 0;
      if (has_prev) {
        for (std::size_t w = 0; w < words; ++w) {
          count += static_cast<std::uint64_t>(std::popcount(b[w]));
          inter += static_cast<std::uint64_t>(std::popcount(a[w] & b[w]));
          uni += static_cast<std::uint64_t>(std::popcount(a[w] | b[w]));
        }
        jaccard_sum[l] += uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
      } else {
        for (std::size_t w = 0; w < words; ++w) count += static_cast<std::uint64_t>(std::popcount(b[w]));
      }
      if (first_tokens > 0) st.first_token_reads += cur[l].count_below(std::min(first_tokens, n));
      if (n > 0) fraction_sum[l] += static_cast<double>(count) / n;
      st.layers[l].reads += count;
      st.min_reads_per_row = std::min(st.min_reads_per_row, count);
      st.max_reads_per_row = std::max(st.max_reads_per_row, count);
      step_reads += count;
    }
    if (n > 0) ++fraction_rows;
    if (has_prev) ++pairs;
    st.total_reads += step_reads;
    st.min_reads_per_step = std::min(st.min_reads_per_step, step_reads);
    st.max_reads_per_step = std::max(st.max_reads_per_step, step_reads);
    std::swap(prev, cur);
  }

  const double nan = std::numeric_limits<double>::quiet_NaN();
  double fraction_total = 0, jaccard_total = 0;
  for (std::uint32_t l = 0; l < L; ++l) {
    st.layers[l].mean_read_fraction =
        fraction_rows > 0 ? fraction_sum[l] / static_cast<double>(fraction_rows) : nan;
    st.layers[l].mean_jaccard = pairs > 0 ? jaccard_sum[l] / static_cast<double>(pairs) : nan;
    fraction_total += fraction_sum[l];
    jaccard_total += jaccard_sum[l];
  }
  const double rows = static_cast<double>(s.decode_tokens) * L;
  st.mean_read_fraction =
      fraction_rows > 0 && L > 0 ? fraction_total / (static_cast<double>(fraction_rows) * L) : nan;
  st.mean_sparsity = 1.0 - st.mean_read_fraction;
  st.mean_jaccard = pairs > 0 && L > 0 ? jaccard_total / (static_cast<double>(pairs) * L) : nan;
  if (s.decode_tokens == 0) st.min_reads_per_step = 0;
  if (rows == 0) st.min_reads_per_row = 0;
  st.mean_reads_per_step = s.decode_tokens > 0 ? static_cast<double>(st.total_reads) / s.decode_tokens : nan;
  st.mean_reads_per_row = rows > 0 ? static_cast<double>(st.total_reads) / rows : nan;
  st.first_token_share = first_tokens > 0 && st.total_reads > 0
                             ? static_cast<double>(st.first_token_reads) / static_cast<double>(st.total_reads)
                             : nan;
  return st;
}

void write_stats_json(io::JsonWriter& json, const TraceStats& st) {
  json.field("prompt_tokens", st.shape.prompt_tokens)
      .field("decode_tokens", st.shape.decode_tokens)
      .field("layers", st.shape.layers)
      .field("total_reads", st.total_reads)
      .field("mean_read_fraction", st.mean_read_fraction)
      .field("mean_sparsity", st.mean_sparsity)
      .field("mean_jaccard", st.mean_jaccard)
      .field("mean_reads_per_step", st.mean_reads_per_step)
      .field("min_reads_per_step", st.min_reads_per_step)
      .field("max_reads_per_step", st.max_reads_per_step)
      .field("mean_reads_per_row", st.mean_reads_per_row)
      .field("min_reads_per_row", st.min_reads_per_row)
      .field("max_reads_per_row", st.max_reads_per_row)
      .field("first_tokens", st.first_tokens)
      .field("first_token_reads", st.first_token_reads)
      .field("first_token_share", st.first_token_share);
  json.key("per_layer").begin_array();
  for (std::size_t l = 0; l < st.layers.size(); ++l) {
    json.begin_object()
        .field("layer", l)
        .field("reads", st.layers[l].reads)
        .field("mean_read_fraction", st.layers[l].mean_read_fraction)
        .field("mean_jaccard", st.layers[l].mean_jaccard)
        .end_object();
  }
  json.end_array();
}

}  // namespace kvsweep::trace
