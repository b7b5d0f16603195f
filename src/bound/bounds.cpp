#include "kvsweep/bound/bounds.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace kvsweep::bound {

namespace {

// f(x) = max_i (a_i + b_i x) over the four terms of the cost model, with beta = 0 and no promotions.
struct Lines {
  std::array<double, 4> a;
  std::array<double, 4> b;
  double eval(double x) const {
    double v = a[0] + b[0] * x;
    for (int i = 1; i < 4; ++i) v = std::max(v, a[i] + b[i] * x);
    return v;
  }
};

Lines lines_for(const cost::MemorySystem& m, double s) {
  const double e = m.kv_entry_bytes;
  Lines f;
  f.a = {m.weight_bytes_per_layer / m.hbm_bw, e * s / m.link_read_bw, e / m.link_write_bw, e * (s + 1) / m.dram_bw};
  f.b = {e / m.hbm_bw, -e / m.link_read_bw, 0.0, -e / m.dram_bw};
  return f;
}

// The breakpoints of f inside [0, s], sorted, with both ends: between two consecutive breakpoints f is
// linear, so its minimum and its slopes can be read off them.
std::vector<double> breakpoints(const Lines& f, double s) {
  std::vector<double> xs{0.0, s};
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) {
      if (f.b[i] == f.b[j]) continue;
      const double x = (f.a[j] - f.a[i]) / (f.b[i] - f.b[j]);
      if (x > 0 && x < s) xs.push_back(x);
    }
  }
  std::sort(xs.begin(), xs.end());
  return xs;
}

}  // namespace

double step_time_lower(const cost::MemorySystem& m, double s, double x) { return lines_for(m, s).eval(x); }

double bandwidth_split_step(const cost::MemorySystem& m, std::uint64_t s) {
  const double sd = static_cast<double>(s);
  const Lines f = lines_for(m, sd);
  double best = f.eval(0.0);
  for (double x : breakpoints(f, sd)) best = std::min(best, f.eval(x));
  return best;
}

double free_migration_allocation(const cost::MemorySystem& m, std::span<const std::uint32_t> reads,
                                 std::span<double> hits, std::span<const std::uint32_t> caps) {
  // Start every layer at x = 0 and buy hits along the most negative slopes first (a continuous
  // knapsack over convex functions): exact for the relaxation. Ties go to the lower layer.
  struct Segment {
    double slope;  // seconds per hit, < 0
    double width;  // hits
    std::uint32_t layer;
  };
  std::vector<Segment> segments;
  double total = 0;
  for (std::uint32_t l = 0; l < reads.size(); ++l) {
    const double sd = static_cast<double>(reads[l]);
    const Lines f = lines_for(m, sd);
    total += f.eval(0.0);
    if (l < hits.size()) hits[l] = 0;
    const std::vector<double> xs = breakpoints(f, sd);
    const double cap = l < caps.size() ? std::min(sd, static_cast<double>(caps[l])) : sd;
    for (std::size_t i = 0; i + 1 < xs.size() && xs[i] < cap; ++i) {
      const double hi = std::min(xs[i + 1], cap);
      const double w = hi - xs[i];
      if (w <= 0) continue;
      const double slope = (f.eval(hi) - f.eval(xs[i])) / w;
      if (slope >= 0) break;  // convex: past the minimum
      segments.push_back({slope, w, l});
    }
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.slope < b.slope; });
  double budget = static_cast<double>(m.capacity_entries);
  for (const Segment& seg : segments) {
    if (budget <= 0) break;
    const double take = std::min(budget, seg.width);
    total += seg.slope * take;
    budget -= take;
    if (seg.layer < hits.size()) hits[seg.layer] += take;
  }
  return total;
}

double free_migration_step(const cost::MemorySystem& m, std::span<const std::uint32_t> reads) {
  return free_migration_allocation(m, reads, {});
}

void BoundAccumulator::add_step(std::span<const std::uint32_t> reads) {
  for (std::uint32_t s : reads) totals_.bandwidth_split_s += bandwidth_split_step(memory_, s);
  totals_.free_migration_s += free_migration_step(memory_, reads);
}

}  // namespace kvsweep::bound
