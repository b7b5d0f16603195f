#pragma once
// What evaluating one point will hold in memory at its peak, known before running it: `kvsweep expand`
// prints it beside the cost, and validate, expand, eval and run refuse a point whose estimate exceeds
// the machine's physical memory (or --max-memory-gb) instead of letting it fail with bad_alloc, or be
// killed, hours into a sweep.
//
// evaluate_point runs in phases whose large arrays reuse one another's memory (core/huge_pages.hpp), so
// the peak is the process plus the largest phase. With T = P + D tokens, L layers and one bit per
// (token, layer) entry, E = L ceil(T / 64) 8 bytes (a residency):
//   policies  the look-ahead ring of (64 + K) steps of reads (K: the longest look-ahead asked for),
//             each policy's state in residencies (judge and residency 2 E; reactive_lru +16 E, h2o
//             +96 E, sa_guided +(W + 4) E, fm_tracking +12 E, page a counting sort of 8 min(page, T) L
//             bytes), the trace cache of the (W, R) tuning (L D ceil(T / 64) 8 bytes, if within
//             oracle.max_memory_gb)
//   bound     the Lagrangian (assumed to run): its step-major reads (L D ceil(T / 64) 8 bytes, only
//             within oracle.max_memory_gb), its duals (136 bytes per (step, layer)), each thread's path
//             bits (2 D ceil(T / 64) 8), fm_dual's plan (as large as the reads)
//   oracle    the token-level oracle: reads, a schedule per replica, the best and the seed (T L
//             ceil((D + 1) / 64) 8 bytes each, oracle::oracle_memory_bytes; a batch or blocks: units of
//             (block, layer), and the reads of every step), or as many windows of 64 states as
//             oracle.max_memory_gb holds (oracle::window_for_memory; a batch or blocks too large keep
//             their seed: only its pass), and fm_dual's plan
//   exact     Cbc: ~2 KB per binary up to oracle.exact_max_binaries
// The Lagrangian is assumed to run (whether it does depends on the gap the baselines leave). Against
// peak RSS (/usr/bin/time -v, docs/performance.md "Memory estimate"): within ~10 % from 24 MB to 3.9 GB
// where the phases it assumes run, above where the Lagrangian does not.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "kvsweep/config/point.hpp"

namespace kvsweep::sweep {

struct Sweep;

struct MemoryEstimate {
  double process = 0;   // the program itself, its libraries and threads
  double policies = 0;  // the pass of every policy (and the tuning's trace cache)
  double bound = 0;     // the Lagrangian bound and fm_dual's plan
  double oracle = 0;    // the token-level oracle
  double exact = 0;     // the MILP
  double peak = 0;      // process + the largest phase, bytes
  const char* largest = "policies";  // which phase that is
};

// A point's sequence, when known: (P, D, L). A trace-file point's spec has P = D = 0; without its shape
// the file's size stands for its reads, as in sweep/cost.hpp.
struct SequenceShape {
  std::uint32_t prompt_tokens = 0;
  std::uint32_t decode_tokens = 0;
  std::uint32_t layers = 0;
};

// `threads`: TBB threads evaluating the point (each holds its own path bits in the bound). Never throws.
MemoryEstimate estimate_memory(const config::PointSpec& point, unsigned threads,
                               std::optional<SequenceShape> shape = std::nullopt);

// Whether the oracle anneals (block, layer) units over a batch's token space (a batch, or blocks)
// rather than (token, layer) entries of one sequence.
bool oracle_over_blocks(const config::PointSpec& point);
// Whether such a point is too large for the oracle to hold whole within oracle.max_memory_gb, so that
// it keeps its seed (eval: no windows over a batch). False for a lone sequence of single tokens, which
// anneals in windows instead.
bool oracle_keeps_seed(const config::PointSpec& point);

// This machine's physical memory, bytes (sysconf).
double physical_memory_bytes();

// What the commands check points against: --max-memory-gb when given, else this machine's physical
// memory. `name` says which, for messages.
struct MemoryLimit {
  double bytes = 0;
  std::string name;
};
MemoryLimit memory_limit(std::optional<double> max_memory_gb);

// Throws core::InputError with one diagnostic per point (where: its source, file#k) whose estimated
// peak exceeds the limit, naming the point, its estimate, its largest phase and the limit. Trace files
// whose shape the caller has read (validate) are estimated from it, others from their size.
void check_memory(const Sweep& sweep, const MemoryLimit& limit,
                  const std::map<std::string, SequenceShape>& trace_shapes = {});

// "3.61 GB".
std::string gb_text(double bytes);

}  // namespace kvsweep::sweep
