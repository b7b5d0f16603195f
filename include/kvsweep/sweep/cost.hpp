#pragma once
// What evaluating one point will cost, known before running it: the MPI master hands out the costliest
// points first, and `kvsweep expand` totals a sweep. Only the ranking must be right; the seconds are a
// rough guide (within about 2x of the measurements below).
//
// The model, in CPU seconds of one core of the reference machine (docs/performance.md), with
//   S = D * L * (P + (D - 1) / 2) / 1e9   (token, layer) entries of past KV over all decode steps
//   R = (1 - sparsity) * S                 token reads (a trace file: its size / 6 bytes per read for
//                                          CSV, / 0.75 for HDF5; then S = R / 0.4)
// is the sum of
//   baselines      sum over the listed policies of a_p * S + b_p * R (a: bitset and judge work per word
//                  of the past, b: work per read), plus 1.2 * R to generate or stream the trace; sa_guided
//                  scaled by (sa_window / 8)^1.2 (25 s at W = 21 vs 7.9 s at W = 8); fm_tracking 1.3 S
//                  (1.27-1.32 at lone points from S = 0.07 to 12, 1.38 at a batch of 64 x 128K
//                  tokens); fm_dual 2.5 S where the Lagrangian may run (it follows the bound's paths)
//   sa tuning      (with both `oracle` and `sa_guided`) E = 0.6 * sa_replicas * min(sa_rounds, 13)
//                  distinct (W, R) simulated, each twice sa_guided's cost at W = 8 (longer windows), and a
//                  trace pass per round
//   oracle         three seed passes (belady and the trace), 4.6 s per GB of whole-schedule state
//                  (S * (replicas + 2) / 8 GB), and moves * 9.25e-7 s * (S / 0.27)^0.6 * (1.2 - sparsity)
//                  / 0.6 (cost deltas cost more on larger and denser points); a batch or blocks too
//                  large to hold whole (sweep::oracle_keeps_seed) keep their seed: one seed pass
//   lagrangian     (whatever the policies, where eval may compute it: oracle.lagrangian_passes > 0, its
//                  reads over the batch's token space within oracle.max_memory_gb; assumed to run,
//                  as whether it does depends on the gap the baselines leave) 0.52 * S per pass, for
//                  every pass allowed and two more (the certificate), the passes cut at
//                  oracle.lagrangian_wall_s * 1.85 plus one; plus a trace pass and 2.2 s per GB of its
//                  reads (S / 8 GB, memory touched first). An upper bound: the ascent stops once its step
//                  vanishes (85 passes where the bound never rises above free_migration's, 218 at the
//                  paper point) or the gap closes
// Wall seconds on the reference machine are CPU seconds / 1.85 (2 cores: policies run as parallel
// tasks, the trace overlaps them). A batch or blocks: the baselines' own constants (cost.cpp's table),
// the trace 1.9 R, the oracle's seed pass alone where the batch is too large to hold whole, and CPU /
// 1.2 for the wall, except the Lagrangian's (sweeps/serving.yaml, 172 points: 33 min estimated vs 31.9
// measured without the bound; per point median 1.09, 10-90 % 0.72-1.54).
//
// Calibration (wall seconds, estimated vs measured): the paper-scale point (P = 31,299, D = 10,239,
// L = 32, s = 0.6): baselines 21 vs 17.8-22; with sa_replicas 4 and sa_rounds 30, tuning 467 vs 305 and
// the oracle at 4e7 moves 250 vs 199, all of it 738 vs 542. sweeps/quick.yaml (P = 16,384, D = 512,
// every policy, 4e6 moves, 2 x 8 tuning): 8.6 / 4.8 / 3.5 vs 12.4 / 4.4 / 4.0 at sparsity 0.5 / 0.8 /
// 0.9. llama-3.1-8b at P = 16,384, D = 1,024, default budgets: 26 vs 20. (These without the Lagrangian
// term: it did not run there, the gap after the baselines below oracle.lagrangian_gap. Where it does
// not run the estimate is that much high, sweeps/quick.yaml 87 s in all vs 24 s: `expand` shows it
// apart.)
// The Lagrangian's pass (CPU s of `kvsweep eval`, with the bound less with oracle.lagrangian_passes: 0,
// per pass and certificate), llama-3.1-8b, mha accounting, paper-table1, 25 % of the footprint, 60 %
// sparsity, resident reads: 0.52 per 1e9 entry-states at P = 16,384, D = 512 (12.4 s, 85 passes);
// 0.53 at P = 32,768, D = 1,024 (50.6 s, 85 passes); 0.49 at P = 31,299, D = 2,048 (24 GB of HBM,
// 113 passes to a 100 s wall limit); 0.51 at the paper point (91 s for 12 passes, one trace pass and
// 1.7 GB of reads). Measured on the reference VM as it is now, without AVX-512 (the AVX2 kernel; the
// paper point's baselines take 39 s of CPU there, as this model has them); docs/performance.md's 293 s
// wall for the paper point's 218 passes was measured with AVX-512, about 2.4x faster per pass.

#include <string>

#include "kvsweep/config/point.hpp"

namespace kvsweep::sweep {

// CPU seconds per wall second of one point on the reference machine's 2 cores (paper point: 33 / 17.8).
inline constexpr double kReferenceParallelism = 1.85;

struct CostEstimate {
  double work = 0;    // CPU seconds of one reference core: the number to rank points by
  double wall_s = 0;  // wall seconds on the reference machine (2 cores)
  double lagrangian_wall_s = 0;  // of wall_s: the Lagrangian bound, should it run (0: it cannot)
};

// Never throws; a trace file that cannot be read counts as empty.
CostEstimate estimate_cost(const config::PointSpec& point);

// The token reads a trace file holds, estimated from its size: 6 bytes per read in CSV, 0.75 in HDF5
// (0 when it cannot be read).
double trace_file_reads(const std::string& path);

}  // namespace kvsweep::sweep
