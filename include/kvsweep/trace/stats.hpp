#pragma once
// Summary statistics of a trace, from one streaming pass: how sparse it is and how much the read set
// changes from step to step (what makes dynamic placement worth it, or not).

#include <cstdint>
#include <vector>

#include "kvsweep/trace/source.hpp"

namespace kvsweep::io {
class JsonWriter;
}

namespace kvsweep::trace {

struct LayerStats {
  std::uint64_t reads = 0;        // sum over n of |S(n, l)|
  double mean_read_fraction = 0;  // mean over n of |S(n, l)| / n
  double mean_jaccard = 0;        // mean over n < last of J(S(n, l), S(n+1, l)); NaN when D < 2
};

struct TraceStats {
  TraceShape shape;
  std::uint64_t total_reads = 0;  // sum over all (n, l) of |S(n, l)|
  // Mean over all rows (n, l) of |S(n, l)| / n (rows with n = 0 are skipped); sparsity = 1 - this.
  double mean_read_fraction = 0;
  double mean_sparsity = 0;
  // Mean over all (n, l) with n+1 in the trace of |S(n,l) & S(n+1,l)| / |S(n,l) | S(n+1,l)|, where two
  // empty sets count as J = 1 (identical). NaN when D < 2 (no pairs).
  double mean_jaccard = 0;
  // Reads of one decode step n, all layers together.
  double mean_reads_per_step = 0;
  std::uint64_t min_reads_per_step = 0;
  std::uint64_t max_reads_per_step = 0;
  // Reads of one row (n, l).
  double mean_reads_per_row = 0;
  std::uint64_t min_reads_per_row = 0;
  std::uint64_t max_reads_per_row = 0;
  std::vector<LayerStats> layers;  // one per layer l = 0..L-1
  // Reads of tokens t < first_tokens, and their share of total_reads (NaN with no reads, or when
  // first_tokens is 0: not asked for). With first_tokens = C / L this is the KV hit rate of `static`
  // once HBM is full, the statistic the paper's static latencies fix for the real trace.
  std::uint32_t first_tokens = 0;
  std::uint64_t first_token_reads = 0;
  double first_token_share = 0;
};

// Reads every step of `source` once (from P, in order) and summarises it. Word-level popcounts,
// O(D * L * (P + D) / 64) word operations; keeps two steps of bitsets in memory.
// `first_tokens` > 0 also counts the reads of tokens below it.
TraceStats compute_stats(TraceSource& source, std::uint32_t first_tokens = 0);

// Writes the fields of `stats` (shape, totals, means, "per_layer": [...]) as key/value pairs into the
// JSON object `json` is currently in, so callers can add their own keys around them.
void write_stats_json(io::JsonWriter& json, const TraceStats& stats);

}  // namespace kvsweep::trace
