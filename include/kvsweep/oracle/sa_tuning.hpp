#pragma once
// The paper's "SA-guided" bound: annealing over the two knobs of the sa_guided policy, the look-ahead
// window W (decode steps) and the migrated fraction R, scored by the judged total time of sa_guided run
// with them. The paper runs one Metropolis chain; here it is a small parallel tempering over (W, R):
//
// * Domain: W in [1, w_max], R in {0.1, 0.2, ..., 1.0} (kept as tenths, R = tenths / 10.0).
// * Moves (paper): W by +-1 or +-2 (40 %), R by +-0.1 (40 %), or both (20 %); a move leaving the domain
//   is redrawn. Each round every replica proposes ONE move from its current point.
// * Evaluation: the round's proposals not seen before are run together in ONE pass over the trace
//   (sim::simulate, one sa_guided instance per distinct point, in parallel over TBB); results are
//   memoised by (W, tenths), so a revisited point costs nothing. The starting point is evaluated in
//   the first round's pass.
// * Acceptance: Metropolis (oracle::metropolis_accept) at the replica's temperature. The hottest starts
//   where 80 % of the first round's uphill deltas pass (paper); when the first round saw only downhill
//   moves, the same rule on their mean |delta|; when it saw no change at all, 0.05 x the starting
//   time. The ladder is geometric down to coldest_ratio x the hottest (one replica: the paper's single
//   chain at the hottest); every temperature is multiplied by 0.9 after each round (the paper's
//   cooling). Neighbours swap after each round (even/odd pairs) with the engine's rule
//   (oracle::ReplicaExchange).
// * Best: the lowest time of every point evaluated (ties: the first evaluated).
// * Stop: "patience" when the best improved by less than min_improvement (relative) over the last
//   `patience` rounds (paper: < 0.1 %), "wall" at max_wall_s, "rounds" after max_rounds rounds.
// Random streams: slot k uses derive_seed({seed, kStreamMoves, k}), swap round r derive_seed({seed,
// kStreamSwaps, r}); results do not depend on threads or on `parallel`.

#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/cost/judge.hpp"
#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/oracle/tempering.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::oracle {

struct SaTuningOptions {
  std::uint32_t replicas = 4;
  std::uint32_t max_rounds = 30;
  std::uint32_t patience = 3;     // rounds over which the best must improve by min_improvement
  double min_improvement = 1e-3;  // relative
  std::uint32_t w_max = 64;       // largest look-ahead window tried, decode steps
  double max_wall_s = 0;          // 0: no limit (a limit makes the result timing-dependent)
  std::uint64_t seed = 1;
  bool parallel = true;         // false: the simulation runs on the calling thread
  double coldest_ratio = 0.01;  // coldest / hottest temperature of the ladder
};

struct SaTuningResult {
  std::uint32_t best_window = 0;  // W*
  double best_fraction = 0;       // R* (tenths / 10.0, exactly what sa_guided ran with)
  double best_total_time_s = 0;
  cost::ScheduleTotals best_totals;
  double best_cpu_s = 0;          // CPU time of the best point's run (policy and judge)
  std::uint32_t evaluations = 0;  // distinct (W, R) points simulated
  std::uint32_t rounds = 0;
  std::uint32_t passes = 0;          // passes over the trace (calls of make_source)
  TemperingDiagnostics diagnostics;  // moves = proposals of (W, R) points, costs = total_time_s
  std::vector<std::tuple<std::uint32_t, double, double>> evaluated;  // (W, R, total_time_s), in order
};

// Policies that ride along in the first pass: a point's other policies do not depend on (W, R), so
// they need no pass of their own. Their runs come back in the order given, with that pass's bounds.
struct SaCompanions {
  std::vector<std::unique_ptr<policy::Policy>> policies;
  std::function<void(std::uint32_t, std::uint32_t)> progress;  // the first pass's progress, if any
  // Filled by tune_sa_guided:
  std::vector<sim::PolicyRun> runs;
  bound::BoundTotals bounds;
  double trace_s = 0;
  double wall_s = 0;  // the first pass's wall time
};

// `make_source` returns a fresh TraceSource over the point's trace (called once per round that has new
// proposals). `start` gives the first point (sa_window, sa_fraction, clamped to the domain) and every
// other knob of the policy. Cost: one trace pass with up to `replicas` (+1 in the first round)
// sa_guided runs per round. Throws std::invalid_argument when replicas or w_max is 0,
// min_improvement < 0 or coldest_ratio is outside (0, 1].
SaTuningResult tune_sa_guided(const std::function<std::unique_ptr<trace::TraceSource>()>& make_source,
                              const cost::MemorySystem& memory, const config::PolicyParams& start,
                              const SaTuningOptions& options, SaCompanions* companions = nullptr);

}  // namespace kvsweep::oracle
