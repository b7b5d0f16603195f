// The result columns (per policy, bounds, annealers) and the run's bookkeeping columns.
#include <algorithm>
#include <cstdio>
#include <chrono>
#include <numeric>
#include <string>

#include "columns.hpp"

namespace kvsweep::result::detail {

namespace {

// <policy>_<metric>: NaN on a failed row and for a policy the point did not run.
template <class F>
ColumnDef metric(const std::string& policy, const std::string& suffix, std::string unit,
                 std::string description, F f) {
  return f64(policy + "_" + suffix, std::move(unit), std::move(description),
             [policy, f](const RowContext& c) {
               const eval::PolicyResult* p = c.result != nullptr ? c.result->find(policy) : nullptr;
               return p != nullptr ? static_cast<double>(f(*p)) : kNaN;
             });
}

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

const eval::PolicyResult* best_schedule(const eval::PointResult& r) { return r.best_schedule(); }

double min_of(const std::vector<double>& v) {
  return v.empty() ? kNaN : *std::min_element(v.begin(), v.end());
}
double mean_of(const std::vector<double>& v) {
  return v.empty() ? kNaN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double unix_s(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? std::chrono::duration<double>(t->time_since_epoch()).count() : kNaN;
}

std::vector<ColumnDef> bound_columns() {
  return {
      from_result("bandwidth_split_s", "s", "lower bound, capacity and migration ignored",
                  [](const eval::PointResult& r) { return r.bounds.bandwidth_split_s; }),
      from_result("free_migration_s", "s", "lower bound for capacity-respecting schedules, migration free",
                  [](const eval::PointResult& r) { return r.bounds.free_migration_s; }),
      from_result("lower_bound_s", "s", "the largest certified bound (the Lagrangian's and the exact MILP's too, when they ran)",
                  [](const eval::PointResult& r) { return r.lower_bound().value_s; }),
      str("lower_bound_kind", 16, "which bound lower_bound_s is: bandwidth_split, free_migration, lagrangian or exact",
          [](const RowContext& c) { return c.result == nullptr ? std::string() : std::string(c.result->lower_bound().kind); }),
      str("best_schedule", 24, "the fastest capacity-respecting policy of the point (oracle included)",
          [](const RowContext& c) {
            const eval::PolicyResult* b = c.result != nullptr ? best_schedule(*c.result) : nullptr;
            return b != nullptr ? b->name : std::string();
          }),
      from_result("best_time_s", "s", "its total time",
                  [](const eval::PointResult& r) {
                    const eval::PolicyResult* b = best_schedule(r);
                    return b != nullptr ? b->metrics.total_time_s : kNaN;
                  }),
      from_result("best_gap", "", "best_time_s / lower_bound_s - 1: the certified gap of the point (exactly 0 within 1e-9 of it)",
                  [](const eval::PointResult& r) { return r.best_gap(); }),
      str("best_online", 24, "the fastest capacity-respecting online policy of the point (one that decides from past reads only: attribute online_policies)",
          [](const RowContext& c) {
            const eval::PolicyResult* b = c.result != nullptr ? c.result->best_online() : nullptr;
            return b != nullptr ? b->name : std::string();
          }),
      from_result("best_online_s", "s", "its total time",
                  [](const eval::PointResult& r) {
                    const eval::PolicyResult* b = r.best_online();
                    return b != nullptr ? b->metrics.total_time_s : kNaN;
                  }),
      from_result("online_gap", "", "best_online_s / lower_bound_s - 1: how far the best online policy may be from optimal",
                  [](const eval::PointResult& r) { return r.online_gap(); }),
      from_result("headroom_captured", "", "(static - best online) / (static - lower bound): the share of the headroom the best online policy captures (NaN where static is at the bound)",
                  [](const eval::PointResult& r) { return r.headroom_captured(); }),
      from_oracle("gap_to_bound", "", "oracle_total_time_s / lower_bound_s - 1 (exactly 0 within 1e-9 of it)",
                  [](const eval::OracleReport& o) { return o.gap_to_bound; }),
  };
}

// The Lagrangian bound: NaN unless it was computed (the gap after every policy above
// oracle.lagrangian_gap).
template <class F>
ColumnDef from_lagrangian(std::string name, std::string unit, std::string description, F f) {
  return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
    const auto& l = c.result != nullptr ? c.result->lagrangian : std::nullopt;
    return l && l->computed ? static_cast<double>(f(*l)) : kNaN;
  });
}

std::vector<ColumnDef> lagrangian_columns() {
  using R = eval::LagrangianReport;
  return {
      from_lagrangian("lagrangian_s", "s", "the Lagrangian bound (LP relaxation from below), certified",
                      [](const R& r) { return r.bound_s; }),
      from_lagrangian("lagrangian_start_s", "s", "its value at free_migration's duals, where the ascent starts",
                      [](const R& r) { return r.start_s; }),
      from_lagrangian("lagrangian_passes", "passes", "passes over the trace", [](const R& r) { return r.passes; }),
      from_lagrangian("lagrangian_wall_s", "s", "its wall time", [](const R& r) { return r.wall_s; }),
      str("lagrangian_stop_reason", 16, "passes, wall, gap or step; empty when not computed",
          [](const RowContext& c) {
            return c.result != nullptr && c.result->lagrangian ? c.result->lagrangian->stop_reason : std::string();
          }),
      str("lagrangian_by_pass", 400, "the bound vs pass: 'pass:best_s' at passes 1, 2, 5, 10, 20, 40, ... and the last; or why not computed",
          [](const RowContext& c) {
            if (c.result == nullptr || !c.result->lagrangian) return std::string();
            const auto& l = *c.result->lagrangian;
            if (!l.computed) return l.note;
            std::string out;
            char buf[48];
            for (const auto& [pass, value] : l.best_by_pass) {
              std::snprintf(buf, sizeof buf, "%s%u:%.9g", out.empty() ? "" : ",", pass, value);
              out += buf;
            }
            return out;
          }),
  };
}

// The exact MILP: NaN unless `exact` ran.
std::vector<ColumnDef> exact_columns() {
  auto from_exact = [](std::string name, std::string unit, std::string description, auto f) {
    return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
      return c.result != nullptr && c.result->exact ? static_cast<double>(f(*c.result->exact)) : kNaN;
    });
  };
  using E = eval::ExactReport;
  return {
      from_exact("exact_proven", "", "1 when the MILP proved its schedule optimal within the node budget",
                 [](const E& e) { return e.proven_optimal ? 1 : 0; }),
      from_exact("exact_bound_s", "s", "the MILP's certified lower bound (its optimum when proven)",
                 [](const E& e) { return e.bound_s; }),
      from_exact("exact_binaries", "", "binary variables of the MILP", [](const E& e) { return e.binaries; }),
      from_exact("exact_nodes", "nodes", "branch-and-bound nodes Cbc explored", [](const E& e) { return e.nodes; }),
      from_exact("exact_wall_s", "s", "the MILP's wall time (build, solve, judge)", [](const E& e) { return e.wall_s; }),
  };
}

// Per move kind of the token-level oracle (oracle::ScheduleProblem::move_kinds()).
std::vector<ColumnDef> move_kind_columns() {
  std::vector<ColumnDef> out;
  const auto kinds = oracle::ScheduleProblem::move_kinds();
  for (std::size_t k = 0; k < kinds.size(); ++k) {
    const std::string name = std::string("oracle_") + kinds[k];
    auto stat = [k](auto f) {
      return [k, f](const eval::OracleReport& o) {
        return k < o.diagnostics.move_kinds.size() ? static_cast<double>(f(o.diagnostics.move_kinds[k])) : kNaN;
      };
    };
    using M = oracle::MoveKindStats;
    out.push_back(from_oracle(name + "_proposed", "proposals", std::string("moves of kind ") + kinds[k] + " proposed",
                              stat([](const M& m) { return m.proposed; })));
    out.push_back(from_oracle(name + "_accepted", "moves", "... accepted", stat([](const M& m) { return m.accepted; })));
    out.push_back(from_oracle(name + "_improvement_s", "s", "... summed time removed by the accepted downhill ones",
                              stat([](const M& m) { return m.improvement; })));
  }
  return out;
}

std::vector<ColumnDef> oracle_columns() {
  using O = eval::OracleReport;
  return {
      from_oracle("oracle_annealed", "", "1 when annealed, 0 when the seed schedule was kept",
                  [](const O& o) { return o.annealed ? 1.0 : 0.0; }),
      str("oracle_note", 128, "e.g. how the point was split into windows",
          [](const RowContext& c) { return c.oracle != nullptr ? c.oracle->note : std::string(); }),
      str("oracle_seed_policy", 24, "the baseline the annealer started from",
          [](const RowContext& c) { return c.oracle != nullptr ? c.oracle->seed_policy : std::string(); }),
      from_oracle("oracle_seed_time_s", "s", "that baseline's total time",
                  [](const O& o) { return o.seed_time_s; }),
      from_oracle("oracle_moves_proposed", "proposals", "over all replicas",
                  [](const O& o) { return o.diagnostics.moves_proposed; }),
      from_oracle("oracle_moves_accepted", "moves", "over all replicas",
                  [](const O& o) { return o.diagnostics.moves_accepted; }),
      from_oracle("oracle_acceptance", "", "accepted / proposed",
                  [](const O& o) {
                    return ratio(static_cast<double>(o.diagnostics.moves_accepted),
                                 static_cast<double>(o.diagnostics.moves_proposed));
                  }),
      from_oracle("oracle_polish_windows", "", "windows re-solved exactly after annealing (0: point too large)",
                  [](const O& o) { return o.polish.windows; }),
      from_oracle("oracle_polish_improved", "", "... of which improved the schedule",
                  [](const O& o) { return o.polish.improved; }),
      from_oracle("oracle_polish_gain_s", "s", "time the exact window polish removed",
                  [](const O& o) { return o.polish.gain_s; }),
      from_oracle("oracle_rounds", "rounds", "swap rounds run",
                  [](const O& o) { return o.diagnostics.rounds; }),
      from_oracle("oracle_round_trips", "", "cold -> hot -> cold journeys",
                  [](const O& o) { return o.diagnostics.round_trips; }),
      from_oracle("oracle_swap_acceptance_min", "", "over neighbour pairs; NaN with one replica",
                  [](const O& o) { return min_of(o.diagnostics.swap_acceptance); }),
      from_oracle("oracle_swap_acceptance_mean", "", "over neighbour pairs; NaN with one replica",
                  [](const O& o) { return mean_of(o.diagnostics.swap_acceptance); }),
      from_oracle("oracle_t_cold", "s", "final coldest temperature (cost units)",
                  [](const O& o) {
                    return o.diagnostics.temperatures.empty() ? kNaN : o.diagnostics.temperatures.front();
                  }),
      from_oracle("oracle_t_hot", "s", "final hottest temperature",
                  [](const O& o) {
                    return o.diagnostics.temperatures.empty() ? kNaN : o.diagnostics.temperatures.back();
                  }),
      str("oracle_stop_reason", 16, "moves, wall or patience",
          [](const RowContext& c) {
            return c.oracle != nullptr ? c.oracle->diagnostics.stop_reason : std::string();
          }),
      from_oracle("oracle_wall_s", "s", "the token-level oracle's wall time",
                  [](const O& o) { return o.wall_s; }),
  };
}

// The paper's SA over sa_guided's (W, R): NaN unless `oracle` and `sa_guided` both ran.
template <class F>
ColumnDef from_sa(std::string name, std::string unit, std::string description, F f) {
  return f64(std::move(name), std::move(unit), std::move(description), [f](const RowContext& c) {
    return c.oracle != nullptr && c.oracle->sa_tuned ? static_cast<double>(f(*c.oracle)) : kNaN;
  });
}

std::vector<ColumnDef> sa_columns() {
  using O = eval::OracleReport;
  return {
      from_sa("sa_window", "steps", "W*, the tuned look-ahead sa_guided is reported at",
              [](const O& o) { return o.sa_window; }),
      from_sa("sa_fraction", "", "R*, the tuned fraction", [](const O& o) { return o.sa_fraction; }),
      from_sa("sa_evaluations", "", "distinct (W, R) simulated", [](const O& o) { return o.sa_evaluations; }),
      from_sa("sa_passes", "", "passes over the trace", [](const O& o) { return o.sa_passes; }),
      from_sa("sa_rounds_run", "rounds", "rounds the tuning ran",
              [](const O& o) { return o.sa_diagnostics.rounds; }),
      str("sa_stop_reason", 16, "moves, wall, patience or rounds",
          [](const RowContext& c) {
            return c.oracle != nullptr && c.oracle->sa_tuned ? c.oracle->sa_diagnostics.stop_reason
                                                             : std::string();
          }),
      from_sa("sa_wall_s", "s", "the tuning's wall time", [](const O& o) { return o.sa_wall_s; }),
  };
}

}  // namespace

std::vector<ColumnDef> policy_columns(const std::string& p) {
  using R = eval::PolicyResult;
  return {
      metric(p, "total_time_s", "s", "T, the decode time", [](const R& r) { return r.metrics.total_time_s; }),
      metric(p, "throughput_tok_s", "tokens/s", "D / T",
             [](const R& r) { return r.metrics.throughput_tok_s; }),
      metric(p, "speedup_vs_static", "", "static's T / T; NaN without static",
             [](const R& r) { return r.metrics.speedup_vs_static; }),
      metric(p, "hbm_hit_rate", "", "bytes HBM served (weights + KV hits it served) / all bytes read",
             [](const R& r) { return r.metrics.hbm_hit_rate; }),
      metric(p, "kv_hit_rate", "", "KV hits / KV reads", [](const R& r) { return r.metrics.kv_hit_rate; }),
      metric(p, "migrated_bytes", "B", "e * (a1 + a2)", [](const R& r) { return r.metrics.migrated_bytes; }),
      metric(p, "link_bytes", "B", "link read + write", [](const R& r) { return r.metrics.link_bytes; }),
      metric(p, "link_read_bytes", "B", "link DRAM -> GPU",
             [](const R& r) { return r.metrics.link_read_bytes; }),
      metric(p, "hbm_bytes", "B", "HBM traffic: weights, hits, promotions, kept new KV",
             [](const R& r) { return r.metrics.hbm_bytes; }),
      metric(p, "dram_bytes", "B", "DRAM traffic: link read + write",
             [](const R& r) { return r.metrics.dram_bytes; }),
      metric(p, "reads", "entries", "KV entries read, over every (n, l)",
             [](const R& r) { return r.metrics.reads; }),
      metric(p, "hits", "entries", "reads of entries resident in HBM", [](const R& r) { return r.metrics.hits; }),
      metric(p, "hbm_hits", "entries", "hits HBM served (fewer than hits with balanced reads)",
             [](const R& r) { return r.metrics.hbm_hits; }),
      metric(p, "promotions", "entries", "a1 + a2", [](const R& r) { return r.metrics.promotions; }),
      metric(p, "prefetches", "entries", "a2", [](const R& r) { return r.metrics.prefetches; }),
      metric(p, "peak_resident_entries", "entries", "most entries held in HBM at once",
             [](const R& r) { return r.metrics.peak_resident_entries; }),
      metric(p, "hbm_bound_share", "", "share of T where HBM was the bottleneck",
             [](const R& r) { return r.metrics.hbm_bound_share; }),
      metric(p, "link_bound_share", "", "... the link",
             [](const R& r) { return r.metrics.link_bound_share; }),
      metric(p, "dram_bound_share", "", "... DRAM", [](const R& r) { return r.metrics.dram_bound_share; }),
      metric(p, "cpu_s", "s", "CPU time of the policy and its judge (oracle: its wall time)",
             [](const R& r) { return r.cpu_s; }),
  };
}

std::vector<ColumnDef> outcome_columns() {
  std::vector<ColumnDef> out = bound_columns();
  for (auto& d : lagrangian_columns()) out.push_back(std::move(d));
  for (auto& d : oracle_columns()) out.push_back(std::move(d));
  for (auto& d : move_kind_columns()) out.push_back(std::move(d));
  for (auto& d : exact_columns()) out.push_back(std::move(d));
  for (auto& d : sa_columns()) out.push_back(std::move(d));
  return out;
}

std::vector<ColumnDef> run_columns() {
  return {
      from_result("trace_s", "s", "time spent producing the trace",
                  [](const eval::PointResult& r) { return r.trace_s; }),
      from_result("eval_wall_s", "s", "evaluate_point's wall time",
                  [](const eval::PointResult& r) { return r.wall_s; }),
      str("host", 64, "host the attempt ran on", [](const RowContext& c) { return c.in.host; }),
      i64("worker_rank", "", "MPI rank of the worker (0 when serial)",
          [](const RowContext& c) { return c.in.rank; }),
      i64("attempt", "", "1 for a point's first try, 2 for its first retry, ...",
          [](const RowContext& c) { return c.in.attempt; }),
      f64("wall_s", "s", "the attempt's wall time as its worker measured it",
          [](const RowContext& c) { return c.in.wall_s; }),
      f64("start_time_unix_s", "s", "when the attempt started, seconds since 1970 UTC",
          [](const RowContext& c) { return unix_s(c.in.start_time); }),
      f64("end_time_unix_s", "s", "when it ended", [](const RowContext& c) { return unix_s(c.in.end_time); }),
  };
}

}  // namespace kvsweep::result::detail
