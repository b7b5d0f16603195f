#include "kvsweep/cli/result_printer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace kvsweep::cli {

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// v with `decimals` decimals, as %.*f prints it, while that stays short; past 1e12 (or inf, nan) in
// %.4g: a table cell never grows to the 300 digits %f gives 1e300.
std::string num(double v, int decimals) {
  char buf[64];
  if (std::isfinite(v) && std::abs(v) < 1e12) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

// GB/s as whole numbers, as before; below 1 GB/s (or past 1e12) in %.4g, so that 0.1 GB/s is not "0".
std::string gbps(double bytes_per_s) {
  const double v = bytes_per_s / 1e9;
  return v >= 1 ? num(v, 0) : fmt("%.4g", v);
}
}  // namespace

// --misses: each policy's misses per reuse-distance class, as a share of every read of the point (a
// row sums to the policy's miss rate); first the share of reads in each class.
void print_miss_profiles(std::ostream& out, const eval::PointResult& r) {
  const cost::MissProfile* any = nullptr;
  for (const auto& p : r.policies) {
    if (p.misses) any = &*p.misses;
  }
  if (any == nullptr) return;
  std::uint64_t reads = 0;
  for (const std::uint64_t x : any->reads) reads += x;
  const auto share = [&](std::uint64_t x) { return reads > 0 ? fmt("%.2f%%", 100.0 * static_cast<double>(x) / static_cast<double>(reads)) : std::string("n/a"); };
  out << "  misses by reuse distance (decode steps since the entry's last read; % of all " << reads << " reads):\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-14s", "");
  out << line;
  for (const auto name : cost::MissProfile::kNames) {
    std::snprintf(line, sizeof line, " %8s", std::string(name).c_str());
    out << line;
  }
  out << "     all\n";
  const auto row = [&](const std::string& label, const std::array<std::uint64_t, cost::MissProfile::kClasses>& x) {
    std::snprintf(line, sizeof line, "  %-14s", label.c_str());
    out << line;
    std::uint64_t all = 0;
    for (const std::uint64_t v : x) {
      std::snprintf(line, sizeof line, " %8s", share(v).c_str());
      out << line;
      all += v;
    }
    std::snprintf(line, sizeof line, " %7s\n", share(all).c_str());
    out << line;
  };
  row("(reads)", any->reads);
  for (const auto& p : r.policies) {
    if (p.misses) row(p.name, p.misses->misses);
  }
}

void print_point_table(std::ostream& out, const eval::PointResult& r) {
  const auto& m = r.memory;
  out << "point " << r.point_id;
  if (!r.name.empty()) out << " (" << r.name << ")";
  out << "  from " << r.source << "\n";
  if (r.shape.batched()) {
    std::uint32_t lo = r.shape.prompt(0), hi = lo;
    for (std::uint32_t b = 1; b < r.shape.batch_size(); ++b) {
      lo = std::min(lo, r.shape.prompt(b));
      hi = std::max(hi, r.shape.prompt(b));
    }
    out << "  B=" << r.shape.batch_size() << " sequences, P=" << lo;
    if (hi != lo) out << ".." << hi;
  } else {
    out << "  P=" << r.shape.prompt_tokens;
  }
  if (r.shape.block_tokens > 1) out << " k=" << r.shape.block_tokens;
  if (m.transfer_overhead_bytes != 0) out << " O=" << num(m.transfer_overhead_bytes, 0) << " B";
  out << " D=" << r.shape.decode_tokens << " L=" << r.shape.layers
      << "  e=" << num(m.kv_entry_bytes, 0) << " B  W=" << fmt("%.4g", m.weight_bytes_per_layer)
      << " B  C=" << m.capacity_entries << " entries ("
      << fmt("%.1f", 100.0 * static_cast<double>(m.capacity_entries) / static_cast<double>(r.footprint_entries))
      << "% of the final KV footprint)\n";
  out << "  HBM " << gbps(m.hbm_bw) << " GB/s, link " << gbps(m.link_read_bw) << "/" << gbps(m.link_write_bw)
      << " GB/s, DRAM " << gbps(m.dram_bw)
      << " GB/s, hbm_reads " << config::to_string(m.hbm_reads)
      << (m.weights_in_dram == config::WeightsInDram::kMirror ? ", weights mirrored in DRAM" : "") << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-14s %12s %12s %9s %8s %8s %11s %10s %8s %6s\n", "policy", "total_time_s",
                "tok/s", "vs static", "HBM hit", "KV hit", "migrated GB", "link GB", "cpu_s", "sees");
  out << line;
  for (const auto& p : r.policies) {
    const auto& x = p.metrics;
    // "sees": past = an online policy (decides from the reads so far), future = offline.
    std::snprintf(line, sizeof line, "  %-14s %12s %12s %8sx %7.2f%% %7.2f%% %11s %10s %8.2f %6s\n", p.name.c_str(),
                  num(x.total_time_s, 6).c_str(), num(x.throughput_tok_s, 2).c_str(), num(x.speedup_vs_static, 3).c_str(),
                  100 * x.hbm_hit_rate, 100 * x.kv_hit_rate, num(x.migrated_bytes / 1e9, 3).c_str(),
                  num(x.link_bytes / 1e9, 3).c_str(), p.cpu_s, p.online ? "past" : "future");
    out << line;
  }
  out << "  lower bounds: bandwidth_split " << num(r.bounds.bandwidth_split_s, 6) << " s, free_migration "
      << num(r.bounds.free_migration_s, 6) << " s";
  if (r.lagrangian && r.lagrangian->computed) out << ", lagrangian " << num(r.lagrangian->bound_s, 6) << " s";
  if (r.exact) out << ", exact " << num(r.exact->bound_s, 6) << " s";
  out << "\n";
  if (const eval::PolicyResult* best = r.best_schedule()) {
    // Within eval::kGapTolerance of the bound the gap is exactly 0 (never "-0.0000%").
    out << "  best schedule: " << best->name << " " << num(best->metrics.total_time_s, 6) << " s, certified gap "
        << num(100 * r.best_gap(), 4) << "% (to " << r.lower_bound().kind << ")\n";
  }
  if (const eval::PolicyResult* online = r.best_online()) {
    const double captured = r.headroom_captured();
    out << "  best online: " << online->name << " " << num(online->metrics.total_time_s, 6) << " s, certified gap "
        << num(100 * r.online_gap(), 4) << "%, captures "
        << (std::isfinite(captured) ? num(100 * captured, 1) + "%" : std::string("n/a")) << " of the headroom (static to bound)\n";
  }
  print_miss_profiles(out, r);
  if (r.lagrangian) {
    const auto& g = *r.lagrangian;
    if (g.computed) {
      std::snprintf(line, sizeof line, "  lagrangian: %s s at free_migration's duals, %s s after %u passes (stop: %s), %.2f s; best by pass:",
                    num(g.start_s, 6).c_str(), num(g.bound_s, 6).c_str(), g.passes, g.stop_reason.c_str(), g.wall_s);
      out << line;
      for (const auto& [pass, value] : g.best_by_pass) {
        std::snprintf(line, sizeof line, " %u:%.7g", pass, value);
        out << line;
      }
      out << "\n";
    } else {
      out << "  lagrangian: " << g.note << "\n";
    }
  }
  if (r.exact) {
    const auto& x = *r.exact;
    std::snprintf(line, sizeof line, "  exact: %s; %llu binaries, %llu rows, %llu nodes, %.2f s\n",
                  x.proven_optimal ? "proven optimal" : "NOT proven optimal (oracle.exact_max_nodes ran out)",
                  static_cast<unsigned long long>(x.binaries), static_cast<unsigned long long>(x.rows),
                  static_cast<unsigned long long>(x.nodes), x.wall_s);
    out << line;
  }
  if (r.oracle && r.oracle->sa_tuned) {
    const auto& o = *r.oracle;
    std::snprintf(line, sizeof line,
                  "  sa_guided tuned (paper's SA over W, R): W* = %u, R* = %.1f; %u points in %u trace passes, %.2f s\n",
                  o.sa_window, o.sa_fraction, o.sa_evaluations, o.sa_passes, o.sa_wall_s);
    out << line;
  }
  if (r.oracle) {
    const auto& o = *r.oracle;
    const auto& d = o.diagnostics;
    if (o.annealed) {
      std::snprintf(line, sizeof line,
                    "  oracle: gap to bound %s%%, from %s (%s s); %llu moves (%.1f%% accepted), %u rounds, "
                    "%llu round trips, stop: %s, %.2f s%s%s\n",
                    num(100 * o.gap_to_bound, 4).c_str(), o.seed_policy.c_str(), num(o.seed_time_s, 6).c_str(),
                    static_cast<unsigned long long>(d.moves_proposed),
                    d.moves_proposed > 0 ? 100.0 * static_cast<double>(d.moves_accepted) / static_cast<double>(d.moves_proposed) : 0.0,
                    d.rounds, static_cast<unsigned long long>(d.round_trips), d.stop_reason.c_str(), o.wall_s,
                    o.note.empty() ? "" : "; ", o.note.c_str());
    } else {
      std::snprintf(line, sizeof line, "  oracle: gap to bound %s%%; %s\n", num(100 * o.gap_to_bound, 4).c_str(), o.note.c_str());
    }
    out << line;
    if (!d.move_kinds.empty()) {
      out << "  oracle moves (proposed / accepted / time removed):";
      for (const auto& k : d.move_kinds) {
        std::snprintf(line, sizeof line, " %s %llu/%llu/%.3g s;", k.name.c_str(),
                      static_cast<unsigned long long>(k.proposed), static_cast<unsigned long long>(k.accepted),
                      k.improvement);
        out << line;
      }
      out << "\n";
    }
    if (o.polish.windows > 0) {
      std::snprintf(line, sizeof line, "  oracle exact window polish: %u windows, %u improved, %.3g s removed, %.2f s\n",
                    o.polish.windows, o.polish.improved, o.polish.gain_s, o.polish.wall_s);
      out << line;
    }
  }
  std::snprintf(line, sizeof line, "  wall %.2f s (trace %.2f s)\n", r.wall_s, r.trace_s);
  out << line;
}

void write_point_json(io::JsonWriter& json, const eval::PointResult& r) {
  json.begin_object();
  json.field("point_id", r.point_id);
  json.field("name", r.name);
  json.field("source", r.source);
  json.field("prompt_tokens", r.shape.prompt_tokens);
  json.field("decode_tokens", r.shape.decode_tokens);
  json.field("layers", r.shape.layers);
  json.field("kv_bytes_per_token_layer", r.memory.kv_entry_bytes);
  json.field("weight_bytes_per_layer", r.memory.weight_bytes_per_layer);
  json.field("hbm_kv_capacity_entries", r.memory.capacity_entries);
  json.field("hbm_reads", std::string(config::to_string(r.memory.hbm_reads)));
  json.field("weights_in_dram", std::string(config::to_string(r.memory.weights_in_dram)));
  json.field("kv_footprint_entries", r.footprint_entries);
  json.field("batch_size", r.shape.batch_size());
  json.key("batch_prompt_tokens").begin_array();
  for (std::uint32_t b = 0; b < r.shape.batch_size(); ++b) json.value(r.shape.prompt(b));
  json.end_array();
  json.field("kv_block_tokens", r.shape.block_tokens);
  json.field("link_transfer_overhead_bytes", r.memory.transfer_overhead_bytes);
  // The best online policy and the headroom it captures (null where not defined).
  const eval::PolicyResult* online = r.best_online();
  json.key("best_online");
  if (online != nullptr) {
    json.value(online->name);
  } else {
    json.null();
  }
  const auto finite_or_null = [&json](const char* key, double v) {
    json.key(key);
    if (std::isfinite(v)) {
      json.value(v);
    } else {
      json.null();
    }
  };
  finite_or_null("best_online_s", online != nullptr ? online->metrics.total_time_s : std::nan(""));
  finite_or_null("online_gap", r.online_gap());
  finite_or_null("headroom_captured", r.headroom_captured());
  json.key("policies").begin_object();
  for (const auto& p : r.policies) {
    const auto& x = p.metrics;
    json.key(p.name).begin_object();
    json.field("total_time_s", x.total_time_s);
    json.field("throughput_tok_s", x.throughput_tok_s);
    json.key("speedup_vs_static");
    if (std::isfinite(x.speedup_vs_static)) {
      json.value(x.speedup_vs_static);
    } else {
      json.null();
    }
    json.field("hbm_hit_rate", x.hbm_hit_rate);
    json.field("kv_hit_rate", x.kv_hit_rate);
    json.field("migrated_bytes", x.migrated_bytes);
    json.field("link_bytes", x.link_bytes);
    json.field("hbm_bytes", x.hbm_bytes);
    json.field("dram_bytes", x.dram_bytes);
    json.field("reads", x.reads);
    json.field("hits", x.hits);
    json.field("hbm_hits", x.hbm_hits);
    json.field("promotions", x.promotions);
    json.field("prefetches", x.prefetches);
    json.field("peak_resident_entries", x.peak_resident_entries);
    json.field("hbm_bound_share", x.hbm_bound_share);
    json.field("link_bound_share", x.link_bound_share);
    json.field("dram_bound_share", x.dram_bound_share);
    json.field("cpu_s", p.cpu_s);
    json.field("online", p.online);
    if (p.misses) {  // --misses: reads and misses per reuse-distance class
      for (const auto* part : {"reads_by_reuse", "misses_by_reuse"}) {
        const auto& counts = part[0] == 'r' ? p.misses->reads : p.misses->misses;
        json.key(part).begin_object();
        for (std::size_t c = 0; c < cost::MissProfile::kClasses; ++c) json.field(std::string(cost::MissProfile::kNames[c]), counts[c]);
        json.end_object();
      }
    }
    json.end_object();
  }
  json.end_object();
  json.key("bounds").begin_object();
  json.field("bandwidth_split_s", r.bounds.bandwidth_split_s);
  json.field("free_migration_s", r.bounds.free_migration_s);
  if (r.lagrangian && r.lagrangian->computed) json.field("lagrangian_s", r.lagrangian->bound_s);
  json.end_object();
  json.field("lower_bound_s", r.lower_bound().value_s);
  json.field("lower_bound_kind", std::string(r.lower_bound().kind));
  if (const eval::PolicyResult* best = r.best_schedule()) {
    json.field("best_schedule", best->name);
    json.field("best_time_s", best->metrics.total_time_s);
    json.field("best_gap", r.best_gap());
  }
  if (r.lagrangian) {
    const auto& g = *r.lagrangian;
    json.key("lagrangian").begin_object();
    json.field("computed", g.computed);
    json.field("note", g.note);
    json.field("bound_s", g.bound_s);
    json.field("start_s", g.start_s);
    json.field("passes", g.passes);
    json.field("wall_s", g.wall_s);
    json.field("stop_reason", g.stop_reason);
    json.key("best_by_pass").begin_array();
    for (const auto& [pass, value] : g.best_by_pass) {
      json.begin_array();
      json.value(pass);
      json.value(value);
      json.end_array();
    }
    json.end_array();
    json.end_object();
  }
  if (r.exact) {
    const auto& x = *r.exact;
    json.key("exact").begin_object();
    json.field("proven_optimal", x.proven_optimal);
    json.field("bound_s", x.bound_s);
    json.field("binaries", x.binaries);
    json.field("rows", x.rows);
    json.field("nodes", x.nodes);
    json.field("wall_s", x.wall_s);
    json.end_object();
  }
  if (r.oracle) {
    const auto& o = *r.oracle;
    const auto& d = o.diagnostics;
    json.field("gap_to_bound", o.gap_to_bound);
    json.key("oracle").begin_object();
    json.field("annealed", o.annealed);
    json.field("note", o.note);
    json.field("seed_policy", o.seed_policy);
    json.field("seed_time_s", o.seed_time_s);
    json.field("wall_s", o.wall_s);
    json.field("moves_proposed", d.moves_proposed);
    json.field("moves_accepted", d.moves_accepted);
    json.field("rounds", d.rounds);
    json.field("round_trips", d.round_trips);
    json.field("stop_reason", d.stop_reason);
    json.key("move_kinds").begin_array();
    for (const auto& k : d.move_kinds) {
      json.begin_object();
      json.field("name", k.name);
      json.field("proposed", k.proposed);
      json.field("accepted", k.accepted);
      json.field("improvement_s", k.improvement);
      json.end_object();
    }
    json.end_array();
    json.key("polish").begin_object();
    json.field("windows", o.polish.windows);
    json.field("improved", o.polish.improved);
    json.field("gain_s", o.polish.gain_s);
    json.field("wall_s", o.polish.wall_s);
    json.end_object();
    json.field("sa_tuned", o.sa_tuned);
    json.field("sa_window", o.sa_window);
    json.field("sa_fraction", o.sa_fraction);
    json.field("sa_evaluations", o.sa_evaluations);
    json.field("sa_passes", o.sa_passes);
    json.field("sa_wall_s", o.sa_wall_s);
    json.field("sa_rounds", o.sa_diagnostics.rounds);
    json.field("sa_stop_reason", o.sa_diagnostics.stop_reason);
    json.key("temperatures").begin_array();
    for (double t : d.temperatures) json.value(t);
    json.end_array();
    json.key("swap_acceptance").begin_array();
    for (double a : d.swap_acceptance) json.value(a);
    json.end_array();
    json.key("best_vs_moves").begin_array();
    for (const auto& [m, c] : d.best_vs_moves) json.begin_array().value(m).value(c).end_array();
    json.end_array();
    json.key("best_vs_time").begin_array();
    for (const auto& [t, c] : d.best_vs_time) json.begin_array().value(t).value(c).end_array();
    json.end_array();
    json.end_object();
  }
  json.field("trace_s", r.trace_s);
  json.field("wall_s", r.wall_s);
  json.end_object();
}

void print_points_json(std::ostream& out, const std::vector<eval::PointResult>& results) {
  io::JsonWriter json(out);
  json.begin_object();
  json.key("points").begin_array();
  for (const auto& r : results) write_point_json(json, r);
  json.end_array();
  json.end_object();
  out << "\n";
}

}  // namespace kvsweep::cli
