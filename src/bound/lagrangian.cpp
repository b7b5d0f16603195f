#include "kvsweep/bound/lagrangian.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/cost/cost_model.hpp"
#include "lagrangian_paths.hpp"

namespace kvsweep::bound {

StepMajorReads::StepMajorReads(trace::TraceSource& source) : shape_(source.shape()) {
  const std::uint32_t P = shape_.prompt_tokens, D = shape_.decode_tokens, L = shape_.layers;
  words_ = core::words_for(shape_.space());
  bits_.assign(static_cast<std::size_t>(L) * D * words_, 0);
  counts_.assign(static_cast<std::size_t>(D) * L, 0);
  std::vector<core::TokenBitset> step(L, core::TokenBitset(shape_.space()));
  for (std::uint32_t j = 0; j < D; ++j) {
    for (auto& b : step) b.clear();
    source.read_step(P + j, step);
    for (std::uint32_t l = 0; l < L; ++l) {
      const core::Word* src = step[l].data();
      core::Word* dst = bits_.data() + (static_cast<std::size_t>(l) * D + j) * words_;
      std::uint32_t c = 0;
      for (std::size_t w = 0; w < words_; ++w) {
        dst[w] = src[w];
        c += static_cast<std::uint32_t>(std::popcount(src[w]));
      }
      counts_[static_cast<std::size_t>(j) * L + l] = c;
    }
  }
}

namespace {

// The cost model's constants in units of e / B_hbm (a batch's: B writes per (step, layer), O / e of
// link per transfer, blocks of k tokens; a lone sequence: B = 1, k = 1).
struct Units {
  double unit_s;  // e / B_hbm
  double w, r_lr, r_lw, r_d;
  bool balanced;
  double movable;  // weight entries a balanced step may read from DRAM's copy (weights_in_dram: mirror)
  double overhead;  // O / e: a transfer's link bytes beside its payload, in entries
  double writes;    // B
  std::uint32_t block;  // k
  explicit Units(const cost::MemorySystem& m)
      : unit_s(m.kv_entry_bytes / m.hbm_bw), w(m.weight_bytes_per_layer / m.kv_entry_bytes),
        r_lr(m.hbm_bw / m.link_read_bw), r_lw(m.hbm_bw / m.link_write_bw), r_d(m.hbm_bw / m.dram_bw),
        balanced(m.hbm_reads == config::HbmReads::kBalanced), movable(m.movable_weight_entries()),
        overhead(m.transfer_overhead_bytes / m.kv_entry_bytes), writes(m.writes_per_step), block(m.block_tokens) {}
  // Link-read entries an entry the link carries costs at least, as bound/bounds.cpp draws its lines: its
  // own and, with resident reads, 1 / k of a transfer's O (balanced reads of resident hits carry none).
  double miss_link() const { return balanced ? 1.0 : 1 + overhead / block; }
};

std::size_t steps_of(const StepMajorReads& reads) {
  return static_cast<std::size_t>(reads.shape().decode_tokens) * reads.shape().layers;
}

void check_duals(const StepMajorReads& reads, const LagrangianDuals& d) {
  const std::size_t n = steps_of(reads);
  if (d.hbm.size() != n || d.link.size() != n || d.dram.size() != n || d.capacity.size() != reads.shape().decode_tokens) {
    throw std::invalid_argument("lagrangian: duals of the wrong size");
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (!(d.hbm[k] >= 0 && d.link[k] >= 0 && d.dram[k] >= 0 && d.hbm[k] + d.link[k] + d.dram[k] <= 1 + 1e-12)) {
      throw std::invalid_argument("lagrangian: term weights must be >= 0 and sum to at most 1");
    }
  }
  for (double c : d.capacity) {
    if (!(c >= 0)) throw std::invalid_argument("lagrangian: capacity prices must be >= 0");
  }
}

// The bandwidth_split value of every (j, l), in units: T's lower bound for every schedule.
std::vector<double> step_floors(const StepMajorReads& reads, const cost::MemorySystem& m, const Units& u) {
  const std::size_t n = steps_of(reads);
  std::vector<double> lo(n);
  for (std::uint32_t j = 0; j < reads.shape().decode_tokens; ++j) {
    for (std::uint32_t l = 0; l < reads.shape().layers; ++l) {
      const std::size_t k = static_cast<std::size_t>(j) * reads.shape().layers + l;
      lo[k] = bandwidth_split_step(m, reads.count(j, l)) / u.unit_s;
    }
  }
  return lo;
}

// The paths' working memory, per thread, for one call of the public functions (released with it).
struct Pools {
  detail::ScratchPool<float> f;
  detail::ScratchPool<double> d;
  detail::ScratchPool<float>& get(float*) { return f; }
  detail::ScratchPool<double>& get(double*) { return d; }
};

template <class V>
void solve_paths(const StepMajorReads& reads, const Units& u, const LagrangianDuals& d, PathCounts& counts,
                 bool parallel, PathKernel kernel, Pools& pools, std::vector<core::Word>* held = nullptr) {
  const auto& sh = reads.shape();
  const std::uint32_t D = sh.decode_tokens, L = sh.layers;
  const std::size_t n = steps_of(reads);
  counts.hits.assign(n, 0);
  counts.piggyback.assign(n, 0);
  counts.prefetch.assign(n, 0);
  counts.kept_new.assign(n, 0);
  counts.transfers.assign(n, 0);
  std::vector<V> hold(d.capacity.begin(), d.capacity.end());
  const bool blocks = sh.block_tokens > 1;
  std::vector<std::vector<std::uint64_t>> occupancy(L, std::vector<std::uint64_t>(D, 0));
  auto layer = [&](std::uint32_t l) {
    detail::LayerPrices<V> p;
    p.hit.resize(D);
    p.piggyback.resize(D);
    p.prefetch.resize(D);
    if (blocks) p.transfer.resize(D);
    for (std::uint32_t j = 0; j < D; ++j) {
      const std::size_t k = static_cast<std::size_t>(j) * L + l;
      const double a = d.hbm[k], b = u.r_lr * d.link[k] + u.r_d * d.dram[k];
      // A transfer's overhead, priced on the link-read term. Token paths: every miss (in the constant)
      // and every prefetch is a transfer of its own, so a hit saves one and a prefetch costs one.
      const double t = u.r_lr * u.overhead * d.link[k];
      const double hit = u.balanced ? std::min(0.0, a - b) : a - b;
      p.hit[j] = static_cast<V>(blocks ? hit : hit - t);
      p.piggyback[j] = static_cast<V>(a);
      p.prefetch[j] = static_cast<V>(blocks ? a + b : a + b + t);
      if (blocks) p.transfer[j] = static_cast<V>(t);
    }
    auto& scratch = pools.get(static_cast<V*>(nullptr)).local();
    core::Word* held_l = held != nullptr ? held->data() + static_cast<std::size_t>(l) * D * reads.words() : nullptr;
    if (blocks) {
      detail::cheapest_block_paths<V>(reads, l, p, hold, counts, occupancy[l], scratch, held_l);
    } else {
      detail::cheapest_paths<V>(reads, l, p, hold, counts, occupancy[l], kernel, scratch, held_l);
    }
  };
  if (parallel) {
    tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, L, 1), [&](const tbb::blocked_range<std::uint32_t>& r) {
      for (std::uint32_t l = r.begin(); l < r.end(); ++l) layer(l);
    });
  } else {
    for (std::uint32_t l = 0; l < L; ++l) layer(l);
  }
  counts.occupancy.assign(D, 0);
  for (std::uint32_t l = 0; l < L; ++l) {
    for (std::uint32_t i = 0; i < D; ++i) counts.occupancy[i] += occupancy[l][i];
  }
  if (!blocks) {  // one token per transfer: every miss and every prefetch
    for (std::size_t k = 0; k < n; ++k) {
      counts.transfers[k] = reads.count(static_cast<std::uint32_t>(k / L), static_cast<std::uint32_t>(k % L)) -
                            counts.hits[k] + counts.prefetch[k];
    }
  }
}

// The subgradient at the paths' counts, and the value: sum lo + pi . g_pi + lambda . g_lambda.
struct Subgradient {
  std::vector<double> hbm, link, dram;  // term - lo, per (j, l)
  std::vector<double> capacity;         // occupancy - C, per state
};

double value_and_subgradient(const StepMajorReads& reads, const Units& u, double capacity,
                             const std::vector<double>& lo, const LagrangianDuals& d, const PathCounts& c,
                             Subgradient& g) {
  const auto& sh = reads.shape();
  const std::uint32_t D = sh.decode_tokens, L = sh.layers;
  const std::size_t n = steps_of(reads);
  g.hbm.resize(n);
  g.link.resize(n);
  g.dram.resize(n);
  g.capacity.resize(D);
  double value = 0;
  for (std::uint32_t j = 0; j < D; ++j) {
    double step = 0;
    for (std::uint32_t l = 0; l < L; ++l) {
      const std::size_t k = static_cast<std::size_t>(j) * L + l;
      const double s = reads.count(j, l), h = c.hits[k];
      const double a = d.hbm[k], b = u.r_lr * d.link[k] + u.r_d * d.dram[k];
      // The hits (and mirrored weights) the relaxation reads from DRAM's copy: the term is linear in x.
      const double x = u.balanced && a > b ? h + u.movable : 0.0;
      const double prefetch = c.prefetch[k];
      const double hbm = u.w + (h - x) + c.piggyback[k] + prefetch + c.kept_new[k];
      const double link = u.r_lr * (s - h + x + prefetch + u.overhead * c.transfers[k]);
      const double dram = u.r_d * (s - h + x + prefetch + u.writes);
      g.hbm[k] = hbm - lo[k];
      g.link[k] = link - lo[k];
      g.dram[k] = dram - lo[k];
      step += lo[k] + d.hbm[k] * g.hbm[k] + d.link[k] * g.link[k] + d.dram[k] * g.dram[k];
    }
    g.capacity[j] = static_cast<double>(c.occupancy[j]) - capacity;
    value += step + d.capacity[j] * g.capacity[j];
  }
  return value * u.unit_s;
}

double evaluate(const StepMajorReads& reads, const Units& u, double capacity, const std::vector<double>& lo,
                const LagrangianDuals& d, PathCounts& counts, Subgradient& g, bool precise, bool parallel,
                PathKernel kernel, Pools& pools) {
  if (precise) {
    solve_paths<double>(reads, u, d, counts, parallel, kernel, pools);
  } else {
    solve_paths<float>(reads, u, d, counts, parallel, kernel, pools);
  }
  return value_and_subgradient(reads, u, capacity, lo, d, counts, g);
}

// Euclidean projection of (a, b, c) onto {>= 0, sum <= 1}.
void project_weights(double& a, double& b, double& c) {
  a = std::max(a, 0.0);
  b = std::max(b, 0.0);
  c = std::max(c, 0.0);
  if (a + b + c <= 1) return;
  // Onto the simplex {>= 0, sum = 1}: subtract the threshold that makes the positive parts sum to 1.
  std::array<double, 3> v{a, b, c};
  std::sort(v.begin(), v.end(), std::greater<>());
  double cum = 0, theta = 0;
  for (int i = 0; i < 3; ++i) {
    cum += v[i];
    const double t = (cum - 1) / (i + 1);
    if (i == 2 || v[i + 1] <= t) {
      theta = t;
      break;
    }
  }
  a = std::max(a - theta, 0.0);
  b = std::max(b - theta, 0.0);
  c = std::max(c - theta, 0.0);
}

// The part of the direction (ga, gb, gc) that stays feasible from weights (a, b, c) for a short step.
void tangent(double a, double b, double c, double ga, double gb, double gc, double& da, double& db, double& dc) {
  const std::array<double, 3> w{a, b, c};
  std::array<double, 3> g{ga, gb, gc};
  std::array<bool, 3> free{};
  for (int k = 0; k < 3; ++k) free[k] = w[k] > 0 || g[k] > 0;
  if (a + b + c >= 1 - 1e-12) {
    // On the face: remove the mean over the free components, until no free one at 0 goes negative.
    for (int round = 0; round < 3; ++round) {
      double sum = 0;
      int nf = 0;
      for (int k = 0; k < 3; ++k) {
        if (free[k]) {
          sum += g[k];
          ++nf;
        }
      }
      if (nf == 0 || sum <= 0) break;
      const double mean = sum / nf;
      bool changed = false;
      for (int k = 0; k < 3; ++k) {
        if (!free[k]) continue;
        g[k] -= mean;
        if (w[k] <= 0 && g[k] < 0) {
          free[k] = false;
          changed = true;
        }
      }
      if (!changed) break;
      for (int k = 0; k < 3; ++k) {
        if (free[k]) g[k] = k == 0 ? ga : k == 1 ? gb : gc;
      }
    }
  }
  da = free[0] ? g[0] : 0;
  db = free[1] ? g[1] : 0;
  dc = free[2] ? g[2] : 0;
}

// free_migration's knapsack at one step with the hits in blocks (k >= 2): a block with r of its k tokens
// read gives r hits for k entries of C, so each layer buys its blocks densest first, and what an entry
// of C buys at the margin is f's slope times r / k there. Valid as free_migration is (every hit comes
// from a resident block) and never below it; here only the start of the dual search. Per layer: the hits
// x_l and the density r / k of the next entry it would buy (of the last block bought when none is left);
// returns whether C binds.
bool block_allocation(const StepMajorReads& reads, const Units& u, std::uint32_t j, std::span<const std::uint32_t> s,
                      double capacity, std::vector<double>& hits, std::vector<double>& density) {
  const std::uint32_t L = reads.shape().layers, k = reads.shape().block_tokens;
  struct Piece {
    double slope;  // per entry of C, < 0
    double entries, hits, density;
    std::uint32_t layer;
  };
  std::vector<Piece> pieces;
  std::vector<std::uint32_t> hist;
  const double lr = u.r_lr * u.miss_link(), lw = u.r_lw * (u.writes * (1 + u.overhead));
  for (std::uint32_t l = 0; l < L; ++l) {
    const double sl = s[l];
    // f's lines in the hits x (units), its breakpoints in [0, s] and its slope between them.
    const std::array<double, 4> a{u.w, lr * sl, lw, u.r_d * (sl + u.writes)}, b{1.0, -lr, 0.0, -u.r_d};
    auto f = [&](double x) {
      double v = a[0] + b[0] * x;
      for (int i = 1; i < 4; ++i) v = std::max(v, a[i] + b[i] * x);
      return v;
    };
    std::vector<double> xs{0.0, sl};
    for (int i = 0; i < 4; ++i) {
      for (int q = i + 1; q < 4; ++q) {
        const double x = b[i] != b[q] ? (a[q] - a[i]) / (b[i] - b[q]) : -1.0;
        if (x > 0 && x < sl) xs.push_back(x);
      }
    }
    std::sort(xs.begin(), xs.end());
    detail::block_read_histogram(reads, l, j, hist);
    std::uint32_t r = k;  // the densest blocks left
    double left_in_class = static_cast<double>(hist[r]) * r;
    for (std::size_t i = 0; i + 1 < xs.size(); ++i) {
      const double width = xs[i + 1] - xs[i];
      if (width <= 0) continue;
      const double sigma = (f(xs[i + 1]) - f(xs[i])) / width;
      if (sigma >= 0) break;  // past f's minimum
      for (double x_left = width; x_left > 0 && r > 0;) {
        if (left_in_class <= 0) {
          if (--r == 0) break;
          left_in_class = static_cast<double>(hist[r]) * r;
          continue;
        }
        const double take = std::min(x_left, left_in_class);
        const double dens = static_cast<double>(r) / k;
        pieces.push_back({sigma * dens, take / dens, take, dens, l});
        x_left -= take;
        left_in_class -= take;
      }
    }
  }
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& p, const Piece& q) { return p.slope < q.slope; });
  hits.assign(L, 0.0);
  density.assign(L, 0.0);
  std::vector<bool> margin_found(L, false);
  double budget = capacity;
  bool binds = false;
  for (const Piece& p : pieces) {
    if (margin_found[p.layer]) continue;
    density[p.layer] = p.density;
    const double take = std::min(budget, p.entries);
    hits[p.layer] += p.hits * (take / p.entries);
    budget -= take;
    if (take < p.entries) {
      margin_found[p.layer] = true;
      binds = true;
    }
  }
  for (std::uint32_t l = 0; l < L; ++l) {
    if (density[l] == 0) density[l] = 1.0 / k;  // nothing to buy: any block, at one read
  }
  return binds;
}

}  // namespace

LagrangianDuals zero_duals(const StepMajorReads& reads) {
  const std::size_t n = steps_of(reads);
  LagrangianDuals d;
  d.hbm.assign(n, 0);
  d.link.assign(n, 0);
  d.dram.assign(n, 0);
  d.capacity.assign(reads.shape().decode_tokens, 0);
  return d;
}

LagrangianDuals free_migration_duals(const StepMajorReads& reads, const cost::MemorySystem& m) {
  const Units u(m);
  const auto& sh = reads.shape();
  const std::uint32_t D = sh.decode_tokens, L = sh.layers;
  LagrangianDuals d = zero_duals(reads);
  std::vector<std::uint32_t> s(L);
  std::vector<double> x(L), left(L), right(L);
  std::vector<std::array<double, 4>> values(L);
  // Hits per entry of C at each layer's margin: 1 for tokens; for blocks, r / k of the next one.
  std::vector<double> density(L, 1.0);
  for (std::uint32_t j = 0; j < D; ++j) {
    for (std::uint32_t l = 0; l < L; ++l) s[l] = reads.count(j, l);
    AllocationDetail alloc;
    if (sh.block_tokens > 1) {
      alloc.capacity_binds = block_allocation(reads, u, j, s, static_cast<double>(m.capacity_entries), x, density);
      alloc.misses.resize(L);
      for (std::uint32_t l = 0; l < L; ++l) alloc.misses[l] = s[l] - x[l];
    } else {
      free_migration_allocation(m, s, x, {}, &alloc);
    }
    // Each layer's active lines at x_l (H, LR, LW, DR, in units) and their slopes, as free_migration
    // draws them (a batch: B writes; with resident reads, O / k of link per miss). The link and DRAM lines from the misses
    // themselves: r_lr (s_l - x_l) would multiply the rounding of x_l by r_lr.
    const double lr = u.r_lr * u.miss_link(), lw = u.r_lw * (u.writes * (1 + u.overhead));
    const std::array<double, 4> slope{1.0, -lr, 0.0, -u.r_d};
    double price = 0;  // the knapsack's capacity price: minus the best slope left unbought
    for (std::uint32_t l = 0; l < L; ++l) {
      const double sl = s[l], xl = x[l], miss = alloc.misses[l];
      values[l] = {u.w + xl, lr * miss, lw, u.r_d * (alloc.direct ? sl + u.writes - xl : miss + u.writes)};
      if (xl == 0 && u.movable > 0) {  // mirrored weights read over the link: the lines where the step sits
        cost::StepCounts c;
        c.reads = s[l];
        c.writes = m.writes_per_step;
        const double y = (m.weight_bytes_per_layer - cost::step_bytes(m, c).hbm_weights) / m.kv_entry_bytes;
        if (y > 0) values[l] = {u.w - y, u.r_lr * (sl * u.miss_link() + y), lw, u.r_d * (sl + y + u.writes)};
      }
      const double f = *std::max_element(values[l].begin(), values[l].end());
      left[l] = 1e300;
      right[l] = -1e300;
      for (int k = 0; k < 4; ++k) {
        if (values[l][k] >= f - 1e-9 * std::max(1.0, f)) {
          left[l] = std::min(left[l], slope[k]);
          right[l] = std::max(right[l], slope[k]);
        }
      }
      if (xl < sl - 1e-9) price = std::max(price, -right[l] * density[l]);
    }
    // Capacity that the hits leave unused has no price, however the lines above were told apart.
    if (!alloc.capacity_binds) price = 0;
    d.capacity[j] = price;
    for (std::uint32_t l = 0; l < L; ++l) {
      // Weights on the active lines with the steepest and the flattest slope, mixed so that the
      // combined slope per hit is -price / density (price per entry of C, density hits per entry)
      // where the active lines allow it (the knapsack's optimality).
      const double tau = std::clamp(-price / density[l], left[l], right[l]);
      const double theta = right[l] > left[l] ? (right[l] - tau) / (right[l] - left[l]) : 1.0;
      const double f = *std::max_element(values[l].begin(), values[l].end());
      std::size_t steep = 4, flat = 4;
      for (std::size_t k = 0; k < 4; ++k) {
        if (values[l][k] < f - 1e-9 * std::max(1.0, f)) continue;
        if (steep == 4 && slope[k] == left[l]) steep = k;
        if (flat == 4 && slope[k] == right[l]) flat = k;
      }
      std::array<double, 4> mu{};
      mu[steep] += theta;
      mu[flat] += 1 - theta;
      const std::size_t k = static_cast<std::size_t>(j) * L + l;
      d.hbm[k] = mu[0];
      d.link[k] = mu[1];
      d.dram[k] = mu[3];  // the link-write line's weight goes to T's floor, which is >= it
      project_weights(d.hbm[k], d.link[k], d.dram[k]);
    }
  }
  return d;
}

bool kernel_available(PathKernel k) { return detail::kernel_supported(k); }

std::vector<core::Word> lagrangian_paths(const StepMajorReads& reads, const cost::MemorySystem& m,
                                         const LagrangianDuals& duals, bool parallel) {
  check_duals(reads, duals);
  std::vector<core::Word> held(static_cast<std::size_t>(reads.shape().layers) * reads.shape().decode_tokens * reads.words(), 0);
  PathCounts counts;
  Pools pools;
  solve_paths<double>(reads, Units(m), duals, counts, parallel, PathKernel::kAuto, pools, &held);
  return held;
}

double lagrangian_value(const StepMajorReads& reads, const cost::MemorySystem& m, const LagrangianDuals& duals,
                        PathCounts& counts, bool precise, bool parallel, PathKernel kernel) {
  check_duals(reads, duals);
  const Units u(m);
  const std::vector<double> lo = step_floors(reads, m, u);
  Subgradient g;
  Pools pools;
  return evaluate(reads, u, static_cast<double>(m.capacity_entries), lo, duals, counts, g, precise, parallel, kernel,
                  pools);
}

LagrangianResult lagrangian_bound(const StepMajorReads& reads, const cost::MemorySystem& m,
                                  const LagrangianOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const Units u(m);
  const double capacity = static_cast<double>(m.capacity_entries);
  const std::vector<double> lo = step_floors(reads, m, u);
  const std::size_t n = steps_of(reads);
  const std::uint32_t D = reads.shape().decode_tokens;

  LagrangianResult r;
  Pools pools;
  LagrangianDuals centre = free_migration_duals(reads, m);
  PathCounts counts;
  Subgradient g, avg;
  double best = evaluate(reads, u, capacity, lo, centre, counts, g, false, o.parallel, o.kernel, pools);
  r.start_s = best;
  avg = g;
  r.passes = 1;
  r.value_by_pass_s.push_back(best);
  r.best_by_pass_s.push_back(best);
  r.wall_by_pass_s.push_back(elapsed());
  if (o.progress) o.progress(1, best, best);

  // The volume algorithm. The target is the best known schedule (or 1 % above the bound); f scales
  // the Polyak step and adapts: x 1.1 after an improving step whose new subgradient agrees with the
  // direction ("green"), x 0.66 after `patience` steps in a row without improvement ("red").
  double f = o.step_scale, alpha = o.average_weight;
  const double kappa2 = o.capacity_scale / reads.shape().layers;
  const std::uint32_t red_limit = o.patience;
  std::uint32_t reds = 0;
  LagrangianDuals trial = centre;
  std::vector<double> dir_cap(D), dir_hbm(n), dir_link(n), dir_dram(n);
  while (r.passes < o.max_passes) {
    if (o.max_wall_s > 0 && elapsed() >= o.max_wall_s) {
      r.stop_reason = "wall";
      break;
    }
    // (Only a positive value can be within a gap of a schedule: below zero the ratio turns over.)
    if (o.upper_bound_s > 0 && best > 0 && o.upper_bound_s / best - 1 <= o.stop_gap) {
      r.stop_reason = "gap";
      break;
    }
    if (r.passes >= o.average_switch) alpha = o.late_average_weight;
    const double target = o.upper_bound_s > best ? o.upper_bound_s : best * 1.01;
    // The direction: the averaged subgradient projected on the feasible set's tangent cone at the
    // centre (weights at 0 that would go negative stay; on the face sum = 1, only moves along it).
    double norm2 = 0;
    for (std::size_t k = 0; k < n; ++k) {
      tangent(centre.hbm[k], centre.link[k], centre.dram[k], avg.hbm[k], avg.link[k], avg.dram[k], dir_hbm[k],
              dir_link[k], dir_dram[k]);
      norm2 += dir_hbm[k] * dir_hbm[k] + dir_link[k] * dir_link[k] + dir_dram[k] * dir_dram[k];
    }
    for (std::uint32_t i = 0; i < D; ++i) {
      dir_cap[i] = centre.capacity[i] <= 0 && avg.capacity[i] < 0 ? 0.0 : avg.capacity[i];
      norm2 += kappa2 * dir_cap[i] * dir_cap[i];
    }
    if (norm2 <= 0) {
      r.stop_reason = "step";
      break;
    }
    const double step = f * (target - best) / u.unit_s / norm2;
    for (std::size_t k = 0; k < n; ++k) {
      trial.hbm[k] = centre.hbm[k] + step * dir_hbm[k];
      trial.link[k] = centre.link[k] + step * dir_link[k];
      trial.dram[k] = centre.dram[k] + step * dir_dram[k];
      project_weights(trial.hbm[k], trial.link[k], trial.dram[k]);
    }
    for (std::uint32_t i = 0; i < D; ++i) trial.capacity[i] = std::max(0.0, centre.capacity[i] + step * kappa2 * dir_cap[i]);

    const double value = evaluate(reads, u, capacity, lo, trial, counts, g, false, o.parallel, o.kernel, pools);
    ++r.passes;
    r.value_by_pass_s.push_back(value);
    r.wall_by_pass_s.push_back(elapsed());
    // Agreement of the new subgradient with the direction taken.
    double agree = 0;
    for (std::size_t k = 0; k < n; ++k) agree += g.hbm[k] * dir_hbm[k] + g.link[k] * dir_link[k] + g.dram[k] * dir_dram[k];
    for (std::uint32_t i = 0; i < D; ++i) agree += g.capacity[i] * dir_cap[i];
    auto mix = [&](std::vector<double>& a, const std::vector<double>& b) {
      for (std::size_t k = 0; k < a.size(); ++k) a[k] = alpha * b[k] + (1 - alpha) * a[k];
    };
    mix(avg.hbm, g.hbm);
    mix(avg.link, g.link);
    mix(avg.dram, g.dram);
    mix(avg.capacity, g.capacity);
    if (value > best) {
      best = value;
      centre = trial;
      reds = 0;
      if (agree >= 0) f = std::min(2.0, f * 1.1);
    } else if (++reds >= red_limit) {
      f *= 0.66;
      reds = 0;
    }
    r.best_by_pass_s.push_back(best);
    if (o.progress) o.progress(r.passes, value, best);
    if (f < 1e-6) {
      r.stop_reason = "step";
      break;
    }
  }
  // The certificate: the best duals in double precision (the float passes' memory released first).
  pools.f.clear();
  r.bound_s = evaluate(reads, u, capacity, lo, centre, counts, g, true, o.parallel, o.kernel, pools);
  r.best = std::move(centre);
  r.wall_s = elapsed();
  return r;
}

}  // namespace kvsweep::bound
