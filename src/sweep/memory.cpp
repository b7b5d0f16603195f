// The memory model of include/kvsweep/sweep/memory.hpp. Each phase mirrors the allocations of
// eval/evaluate.cpp and what it calls; the oracle's two formulas are oracle::oracle_memory_bytes and
// oracle::window_for_memory (a test keeps them equal).
#include "kvsweep/sweep/memory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <thread>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/cost.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::sweep {

namespace {
constexpr double kProcessBytes = 25e6;  // kvsweep on a tiny point: 23-24 MB of RSS
constexpr double kRingChunks = 64;      // simulate: two chunks of 32 steps beside the look-ahead
constexpr double kDualsPerStep = 136;   // the volume algorithm's vectors, bytes per (step, layer)
constexpr double kCbcPerBinary = 2e3;

double words(double tokens) { return std::ceil(tokens / 64); }

std::string config_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

bool lists(const config::PointSpec& p, const char* name) {
  return std::find(p.policies.begin(), p.policies.end(), name) != p.policies.end();
}

// A trace file's sequence from its size: S = D L (P + D / 2) entries over the decode (reads / 0.4, as
// the cost estimate takes it), with P = 3 D.
SequenceShape guess_shape(const config::PointSpec& p) {
  const double layers = std::max<std::uint32_t>(1, p.model.layers);
  double reads = p.trace.file.empty() ? 0.0 : trace_file_reads(p.trace.file);
  for (const auto& f : p.trace.files) reads += trace_file_reads(f);  // a batch: its sequences side by side
  const double entries = reads / 0.4;
  const double d = std::max(1.0, std::sqrt(entries / (3.5 * layers)));
  return {static_cast<std::uint32_t>(std::min(3 * d, 4e9)), static_cast<std::uint32_t>(std::min(d, 4e9)),
          static_cast<std::uint32_t>(layers)};
}

// Bytes of the policies' state beyond their judge, in residencies E.
double policy_state(const config::PointSpec& p, const std::string& name, double e, double tokens, double layers) {
  const auto& pp = p.policy_params;
  if (name == "reactive_lru") return 16 * e;  // a 16-bit stamp per entry
  const double k = p.kv_block_tokens;
  if (name == "lru_hot") return 32 / k * e;                      // a 32-bit stamp per block
  if (name == "ema" || name == "bandit") return 64 / k * e + e;  // a double score per block, candidates
  if (name == "arc") return 72 / k * e;                          // two 32-bit links and a list tag per block
  if (name == "history") return (k == 1 ? 32 : 64 / k) * e + 3 * e;  // stamps (and a step per block);
                                                                      // previous and predicted reads
  if (name == "h2o") return 96 * e;           // a 32-bit score and a heap pair per entry
  if (name == "belady") return 2 * e;
  if (name == "sa_guided") return (pp.sa_window + 4.0) * e;  // the window's suffix unions
  if (name == "fm_tracking" || name == "fm_dual") return 12 * e;
  if (name == "page") {
    const double page = std::min<double>(pp.page_tokens, tokens);
    return 8 * page * layers + 10 * tokens / page;
  }
  return 0;
}

// The point's sequence, as one sequence over a batch's whole token space.
SequenceShape shape_of(const config::PointSpec& p, std::optional<SequenceShape> shape) {
  if (shape) return *shape;
  if (!p.trace.file.empty() || !p.trace.files.empty()) return guess_shape(p);
  // A batch's token space holds every sequence (and < 64 positions of padding between them).
  const std::uint64_t B = p.batch_size, space = config::footprint_tokens(p) + (B > 1 ? 64 * B : 0);
  return SequenceShape{static_cast<std::uint32_t>(space - p.decode_tokens), p.decode_tokens, p.model.layers};
}

// The oracle holding the whole point: reads, a schedule per replica, the best and the seed, the
// per-step tables. A batch or blocks anneal units of (block, layer) over the batch's token space and
// keep their reads token by token (oracle::oracle_memory_bytes).
double oracle_whole_bytes(const config::PointSpec& p, const SequenceShape& shape) {
  const double D = shape.decode_tokens, L = std::max<std::uint32_t>(1, shape.layers);
  const double T = shape.prompt_tokens + D;
  const double k = p.kv_block_tokens;
  const double entries = oracle_over_blocks(p) ? std::ceil(T / k) * L : T * L;
  const double replicas = p.oracle.replicas;
  const double block_reads = k > 1 ? D * L * words(T) * 8 : 0.0;
  return entries * words(D + 1) * 8 * (replicas + 3) + D * L * (40.0 + 8) * (replicas + 1) + block_reads;
}

// The room eval's run_oracle leaves the annealer: oracle.max_memory_gb, less fm_dual's plan.
double oracle_room(const config::PointSpec& p, double plan) {
  const double budget = p.oracle.max_memory_gb * 1e9;
  return lists(p, "fm_dual") ? std::max(0.5e9, budget - plan - 0.3e9) : budget;
}
}  // namespace

bool oracle_over_blocks(const config::PointSpec& p) { return p.batch_size > 1 || p.kv_block_tokens > 1; }

bool oracle_keeps_seed(const config::PointSpec& p) {
  if (!oracle_over_blocks(p)) return false;
  const SequenceShape shape = shape_of(p, std::nullopt);
  const bool lagrangian = p.oracle.lagrangian_passes > 0;
  const double plan = lists(p, "fm_dual") && lagrangian
                          ? std::max<std::uint32_t>(1, shape.layers) * static_cast<double>(shape.decode_tokens) *
                                words(shape.prompt_tokens + static_cast<double>(shape.decode_tokens)) * 8
                          : 0.0;
  return oracle_whole_bytes(p, shape) > oracle_room(p, plan);
}

MemoryEstimate estimate_memory(const config::PointSpec& p, unsigned threads, std::optional<SequenceShape> given) {
  const std::optional<SequenceShape> shape = shape_of(p, given);
  const double P = shape->prompt_tokens, D = shape->decode_tokens, L = std::max<std::uint32_t>(1, shape->layers);
  const double T = P + D;
  const double e = L * words(T) * 8;  // one residency
  const double budget = p.oracle.max_memory_gb * 1e9;
  const bool oracle = lists(p, "oracle"), tuning = oracle && lists(p, "sa_guided"), dual = lists(p, "fm_dual");
  MemoryEstimate m;
  m.process = kProcessBytes;

  // The policies' pass: the ring of look-ahead steps, every policy's state, the tuning's trace cache.
  double lookahead = 0;
  const auto& pp = p.policy_params;
  if (lists(p, "page")) lookahead = std::max(lookahead, 1.0);
  if (lists(p, "belady")) lookahead = std::max<double>(lookahead, pp.belady_lookahead);
  if (lists(p, "sa_guided")) lookahead = std::max<double>(lookahead, tuning ? std::max(pp.sa_window, p.oracle.sa_w_max) : pp.sa_window);
  if (lists(p, "fm_tracking") || dual) lookahead = std::max<double>(lookahead, pp.fm_lookahead);
  lookahead = std::min(lookahead, std::max(0.0, D - 1));
  m.policies = (kRingChunks + lookahead) * (e + 4 * L);
  for (const auto& name : p.policies) {
    if (name == "oracle" || name == "exact" || name == "fm_dual") continue;
    m.policies += 2 * e + policy_state(p, name, e, T, L);
  }
  if (tuning) {
    // Each round's (W, R) points run together: about two per replica, at windows up to sa_w_max.
    m.policies += 2.0 * p.oracle.sa_replicas * (p.oracle.sa_w_max + 6.0) * e;
    const double cache = 8 * L * (D * (P + (D - 1) / 2) / 64 + D / 2);
    if (cache <= budget) m.policies += cache;
  }

  // The Lagrangian bound (whenever its passes are allowed: whether it runs depends on the gap).
  const double reads = L * D * words(T) * 8;
  const bool lagrangian = p.oracle.lagrangian_passes > 0 && reads <= budget;
  const double plan = dual && lagrangian ? reads : 0.0;  // fm_dual runs on the bound's paths only
  if (lagrangian) {
    // Per thread, two bits per token and state; block paths (k >= 2) keep three bytes per block and state.
    const double k = p.kv_block_tokens;
    const double per_state = k > 1 ? 3 * std::ceil(words(T) * 64 / k) : 2 * words(T) * 8;
    const double paths = std::min<double>(std::max(1U, threads), L) * D * per_state;
    m.bound = reads + kDualsPerStep * D * L + paths + plan;
  }

  // The oracle, whole or in windows (eval's run_oracle leaves room for fm_dual's plan); a batch or blocks
  // too large to hold whole keep their seed (no windows over a batch).
  if (oracle) {
    const double need = oracle_whole_bytes(p, *shape);
    const double room = oracle_room(p, plan);
    double anneal = need;
    if (need > room && oracle_over_blocks(p)) {
      anneal = 0;
    } else if (need > room) {
      const double entries = T * L;
      const double per_word = entries * 8 * (p.oracle.replicas + 3.0) + 2 * 64 * entries / 8;
      const double window_words = std::min(std::max(1.0, std::floor(room / per_word)), words(D + 1));
      anneal = window_words * per_word;
    }
    m.oracle = anneal + plan + (kRingChunks + lookahead + 20) * e;  // and the seed policy's pass
  }
  if (lists(p, "exact")) m.exact = kCbcPerBinary * std::min(static_cast<double>(p.oracle.exact_max_binaries), T * L * (D + 1));
  m.peak = m.process;
  double largest = m.policies;
  for (const auto& [bytes, name] : {std::pair{m.bound, "bound"}, std::pair{m.oracle, "oracle"}, std::pair{m.exact, "exact"}}) {
    if (bytes > largest) {
      largest = bytes;
      m.largest = name;
    }
  }
  m.peak += largest;
  return m;
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

MemoryLimit memory_limit(std::optional<double> max_memory_gb) {
  if (max_memory_gb) return {*max_memory_gb * 1e9, "--max-memory-gb " + config_number(*max_memory_gb)};
  const double bytes = physical_memory_bytes();
  return {bytes, "this machine's " + gb_text(bytes) + " of physical memory"};
}

void check_memory(const Sweep& sweep, const MemoryLimit& limit, const std::map<std::string, SequenceShape>& trace_shapes) {
  if (!(limit.bytes > 0)) return;  // sysconf could not tell
  const unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  core::DiagnosticSink diags;
  for (const auto& point : sweep.points) {
    std::optional<SequenceShape> shape;
    if (const auto it = trace_shapes.find(point.spec.trace.file); !point.spec.trace.file.empty() && it != trace_shapes.end()) {
      shape = it->second;
    }
    const MemoryEstimate m = estimate_memory(point.spec, threads, shape);
    if (m.peak <= limit.bytes) continue;
    const double phase = m.peak - m.process;
    diags.add(point.spec.source,
              "point " + point.id + " needs an estimated " + gb_text(m.peak) + " of memory at its peak (" + m.largest +
                  ": " + gb_text(phase) + "), more than " + limit.name +
                  "; lower oracle.max_memory_gb (now " + config_number(point.spec.oracle.max_memory_gb) +
                  " GB: the oracle's windows, down to 64 steps, the Lagrangian and the trace cache keep within it), "
                  "make the point smaller (P, D, layers), or raise --max-memory-gb");
  }
  diags.throw_if_any();
}

std::string gb_text(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, bytes >= 100e9 ? "%.0f GB" : "%.3g GB", bytes / 1e9);
  return buf;
}

}  // namespace kvsweep::sweep
