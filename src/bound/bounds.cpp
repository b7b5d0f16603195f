#include "kvsweep/bound/bounds.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "kvsweep/cost/cost_model.hpp"

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

// A batch writes B entries per step: link-write (e + O) B. With resident reads every entry the link
// carries is a miss, part of a transfer of at most k tokens: at least e + O / k each. With balanced
// reads it need not be: a schedule may keep the read entries resident and stream some of them from
// DRAM's copy (x), which carries no O, so only e per entry is certain (charging O / k there put both
// bounds above the exhaustive optimum). (B = 1, O = 0: every coefficient is exactly what it was for one
// sequence.)
double miss_link_bytes(const cost::MemorySystem& m) {
  if (m.hbm_reads == config::HbmReads::kBalanced) return m.kv_entry_bytes;
  return m.kv_entry_bytes + m.transfer_overhead_bytes / m.block_tokens;
}
double write_link_bytes(const cost::MemorySystem& m) {
  return (m.kv_entry_bytes + m.transfer_overhead_bytes) * m.writes_per_step;
}

Lines lines_for(const cost::MemorySystem& m, double s) {
  const double e = m.kv_entry_bytes, el = miss_link_bytes(m), B = m.writes_per_step;
  Lines f;
  f.a = {m.weight_bytes_per_layer / m.hbm_bw, el * s / m.link_read_bw, write_link_bytes(m) / m.link_write_bw,
         e * (s + B) / m.dram_bw};
  f.b = {e / m.hbm_bw, -el / m.link_read_bw, 0.0, -e / m.dram_bw};
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

// The direct form above writes the link and DRAM terms as e s / B + (-e / B) x. Near the minimum x is
// close to s and the two parts cancel: the result keeps an absolute error of about 1e-16 e s / B, and
// the knapsack below, which starts from f(0) and adds what each bought hit saves, the same error on
// sum f(0). Against a step's time (at least e s / (B_hbm + B)) that is 1e-16 (1 + B_hbm / B): below
// 1e-13 while HBM is at most kDirectRatio times faster than the link and DRAM, which is where every
// result so far was computed, and kept there bit for bit. Beyond it (a link of 1e-6 GB/s beside 3400
// GB/s of HBM: the error was 10^4 times the bound, which came out negative) every term is written in
// the hits x or the misses m = s - x it grows with, each found from its own formula: no term is ever a
// difference of two large ones.
constexpr double kDirectRatio = 1e3;

// With weights_in_dram: mirror, a step may also read weight bytes from DRAM's copy: x extends below 0,
// down to -W / e, where f continues the same lines (HBM W + e x, link and DRAM e (s - x)). Reading
// weights over the link only pays where HBM is the bottleneck at x = 0, and then f rises over [0, s]: the
// step's least time is f's minimum over [-W / e, 0], which is the judge's own balanced step without hits
// (cost::balance_hits, closed form). Returns it there, and nothing elsewhere, so that every bound is what
// it was without the mirror wherever the mirror does not help, bit for bit.
std::optional<double> mirrored_floor(const cost::MemorySystem& m, double s) {
  if (m.movable_weight_entries() <= 0) return std::nullopt;
  cost::StepCounts c;
  c.reads = static_cast<std::uint64_t>(s);
  c.writes = m.writes_per_step;
  // No transfers: the reads may all be resident hits streamed from DRAM's copy (balanced reads, as the
  // mirror needs), which carry no O.
  const cost::StepBytes b = cost::step_bytes(m, c);
  if (!(b.hbm_weights < m.weight_bytes_per_layer)) return std::nullopt;  // HBM not the bottleneck: no move
  return cost::step_time_s(m, b);
}

bool direct_is_accurate(const cost::MemorySystem& m) {
  return m.hbm_bw <= kDirectRatio * m.link_read_bw && m.hbm_bw <= kDirectRatio * m.dram_bw;
}

// A point of [0, s]: x hits and m = s - x misses.
struct Split {
  double hits = 0;
  double misses = 0;
};

// f in hits and misses, seconds: H = w_h + e_h x, LR = e_lr m, LW = lw, DR = e_d (m + B).
struct Terms {
  double w_h, e_h, e_lr, lw, e_d, B;
  explicit Terms(const cost::MemorySystem& m)
      : w_h(m.weight_bytes_per_layer / m.hbm_bw), e_h(m.kv_entry_bytes / m.hbm_bw),
        e_lr(miss_link_bytes(m) / m.link_read_bw), lw(write_link_bytes(m) / m.link_write_bw),
        e_d(m.kv_entry_bytes / m.dram_bw), B(m.writes_per_step) {}
  double eval(Split p) const { return std::max({w_h + e_h * p.hits, e_lr * p.misses, lw, e_d * (p.misses + B)}); }
  // The value of the falling part G(m) = max(LR, LW, DR) at m misses (f where G >= H).
  double falling(double m) const { return std::max({e_lr * m, lw, e_d * (m + B)}); }

  // Where f is least over [0, s]: H falls as misses grow, each of LR, LW, DR (c + d m) rises or stays,
  // so the minimum is where H meets the first of them, at m = (w_h + e_h s - c) / (e_h + d) and
  // x = (c + d s - w_h) / (e_h + d) (clamped to [0, s]).
  Split minimum(double s) const {
    const std::array<std::array<double, 2>, 3> lines{{{0.0, e_lr}, {lw, 0.0}, {e_d * B, e_d}}};  // (c, d)
    Split best{0, s};
    bool first = true;
    for (const auto& [c, d] : lines) {
      const double m = (w_h + e_h * s - c) / (e_h + d);
      if (!first && m >= best.misses) continue;
      first = false;
      if (m <= 0) {
        best = {s, 0};
      } else if (m >= s) {
        best = {0, s};
      } else {
        best = {(c + d * s - w_h) / (e_h + d), m};
      }
    }
    return best;
  }
};

// One stretch of hits a layer can buy, and what each saves (seconds per hit, < 0).
struct Segment {
  double slope;
  double width;        // hits
  double misses_after;  // the layer's misses once the whole stretch is bought
  std::uint32_t layer;
};

// The stretches of f over x in [0, min(s, cap)], from x = 0 to the minimum: f there is G(m), linear
// between G's own breakpoints (LR = DR, LR = LW, DR = LW), with the slope of its largest line.
void stable_segments(const Terms& t, double s, double cap, std::uint32_t layer, std::vector<Segment>& out) {
  const double floor_m = std::max(t.minimum(s).misses, s - std::min(s, cap));
  std::vector<double> ms{s};
  for (const double m : {t.e_lr > t.e_d ? t.e_d * t.B / (t.e_lr - t.e_d) : -1.0, t.e_lr > 0 ? t.lw / t.e_lr : -1.0,
                         t.lw / t.e_d - t.B}) {
    if (m > floor_m && m < s) ms.push_back(m);
  }
  ms.push_back(floor_m);
  std::sort(ms.begin(), ms.end(), std::greater<>());
  for (std::size_t i = 0; i + 1 < ms.size(); ++i) {
    const double hi = ms[i], lo = ms[i + 1];
    if (!(hi > lo)) continue;
    const double mid = 0.5 * (hi + lo);
    const double lr = t.e_lr * mid, dr = t.e_d * (mid + t.B);
    if (t.lw >= lr && t.lw >= dr) break;  // flat from here on: nothing left to save
    out.push_back({-(lr >= dr ? t.e_lr : t.e_d), hi - lo, lo, layer});
  }
}

// Capacity per hit of layer l: entries_per_hit[l], or 1 (a hit holds one entry).
double per_hit(std::span<const double> entries_per_hit, std::uint32_t l) {
  return l < entries_per_hit.size() ? entries_per_hit[l] : 1.0;
}

double stable_allocation(const cost::MemorySystem& m, std::span<const std::uint32_t> reads, std::span<double> hits,
                         std::span<const std::uint32_t> caps, AllocationDetail* detail,
                         std::span<const double> entries_per_hit) {
  const Terms t(m);
  std::vector<Segment> segments;
  std::vector<double> misses(reads.size());
  for (std::uint32_t l = 0; l < reads.size(); ++l) {
    const double s = reads[l];
    misses[l] = s;
    stable_segments(t, s, l < caps.size() ? static_cast<double>(caps[l]) : s, l, segments);
  }
  // Cheapest time per entry of capacity first (per hit when a hit holds one entry).
  std::stable_sort(segments.begin(), segments.end(), [&](const Segment& a, const Segment& b) {
    return a.slope / per_hit(entries_per_hit, a.layer) < b.slope / per_hit(entries_per_hit, b.layer);
  });
  double budget = static_cast<double>(m.capacity_entries);
  bool binds = false;
  for (const Segment& seg : segments) {
    if (budget <= 0) {
      binds = true;
      break;
    }
    const double cost = per_hit(entries_per_hit, seg.layer);
    if (seg.width * cost <= budget) {
      misses[seg.layer] = seg.misses_after;
      budget -= seg.width * cost;
    } else {
      misses[seg.layer] = seg.misses_after + (seg.width - budget / cost);
      budget = 0;
      binds = true;
    }
  }
  double total = 0;
  for (std::uint32_t l = 0; l < reads.size(); ++l) {
    const double x = static_cast<double>(reads[l]) - misses[l];
    const std::optional<double> mirrored = x == 0 ? mirrored_floor(m, reads[l]) : std::nullopt;
    total += mirrored ? *mirrored : t.eval({x, misses[l]});
    if (l < hits.size()) hits[l] = x;
  }
  if (detail != nullptr) {
    detail->misses = std::move(misses);
    detail->direct = false;
    detail->capacity_binds = binds;
  }
  return total;
}

}  // namespace

double step_time_lower(const cost::MemorySystem& m, double s, double x) { return lines_for(m, s).eval(x); }

double bandwidth_split_step(const cost::MemorySystem& m, std::uint64_t s) {
  const double sd = static_cast<double>(s);
  if (const std::optional<double> mirrored = mirrored_floor(m, sd)) return *mirrored;  // f rises over [0, s]
  if (!direct_is_accurate(m)) {
    const Terms t(m);
    return t.eval(t.minimum(sd));
  }
  const Lines f = lines_for(m, sd);
  double best = f.eval(0.0);
  for (double x : breakpoints(f, sd)) best = std::min(best, f.eval(x));
  return best;
}

double free_migration_allocation(const cost::MemorySystem& m, std::span<const std::uint32_t> reads,
                                 std::span<double> hits, std::span<const std::uint32_t> caps,
                                 AllocationDetail* detail, std::span<const double> entries_per_hit) {
  if (!direct_is_accurate(m)) return stable_allocation(m, reads, hits, caps, detail, entries_per_hit);
  // Start every layer at x = 0 and buy hits along the most negative slopes first (a continuous
  // knapsack over convex functions): exact for the relaxation. Ties go to the lower layer.
  struct DirectSegment {
    double slope;  // seconds per hit, < 0
    double width;  // hits
    std::uint32_t layer;
  };
  std::vector<DirectSegment> segments;
  std::vector<double> x(reads.size(), 0.0);
  double total = 0;
  for (std::uint32_t l = 0; l < reads.size(); ++l) {
    const double sd = static_cast<double>(reads[l]);
    const Lines f = lines_for(m, sd);
    const std::optional<double> mirrored = mirrored_floor(m, sd);  // then f rises: no hit is worth buying
    total += mirrored ? *mirrored : f.eval(0.0);
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
  // Cheapest time per entry of capacity first (per hit when a hit holds one entry).
  std::stable_sort(segments.begin(), segments.end(), [&](const DirectSegment& a, const DirectSegment& b) {
    return a.slope / per_hit(entries_per_hit, a.layer) < b.slope / per_hit(entries_per_hit, b.layer);
  });
  double budget = static_cast<double>(m.capacity_entries);
  bool binds = false;
  for (const DirectSegment& seg : segments) {
    if (budget <= 0) {
      binds = true;
      break;
    }
    const double cost = per_hit(entries_per_hit, seg.layer);
    const double take = std::min(budget / cost, seg.width);
    total += seg.slope * take;
    budget = take < seg.width ? 0 : budget - take * cost;
    x[seg.layer] += take;
    if (take < seg.width) binds = true;
  }
  for (std::uint32_t l = 0; l < reads.size() && l < hits.size(); ++l) hits[l] = x[l];
  if (detail != nullptr) {
    detail->misses.resize(reads.size());
    for (std::uint32_t l = 0; l < reads.size(); ++l) detail->misses[l] = static_cast<double>(reads[l]) - x[l];
    detail->direct = true;
    detail->capacity_binds = binds;
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
