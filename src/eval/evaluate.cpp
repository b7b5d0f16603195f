#include "kvsweep/eval/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/bound/lagrangian.hpp"
#include "kvsweep/core/huge_pages.hpp"
#include "kvsweep/core/rng.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "kvsweep/oracle/exact.hpp"
#include "kvsweep/oracle/sa_tuning.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/schedule/schedule_file.hpp"
#include "kvsweep/trace/batch.hpp"
#include "kvsweep/trace/synthetic.hpp"
#include "kvsweep/trace/trace_cache.hpp"
#include "kvsweep/trace/trace_file.hpp"

namespace kvsweep::eval {

const PolicyResult* PointResult::find(const std::string& policy) const {
  for (const auto& p : policies) {
    if (p.name == policy) return &p;
  }
  return nullptr;
}

LowerBound PointResult::lower_bound() const {
  LowerBound b{bounds.bandwidth_split_s, "bandwidth_split"};
  if (bounds.free_migration_s >= b.value_s) b = {bounds.free_migration_s, "free_migration"};
  if (lagrangian && lagrangian->computed && lagrangian->bound_s > b.value_s) b = {lagrangian->bound_s, "lagrangian"};
  if (exact && exact->bound_s > b.value_s) b = {exact->bound_s, "exact"};
  return b;
}

const PolicyResult* PointResult::best_schedule() const {
  const PolicyResult* best = nullptr;
  for (const auto& p : policies) {
    if (!p.respects_capacity) continue;
    if (best == nullptr || p.metrics.total_time_s < best->metrics.total_time_s) best = &p;
  }
  return best;
}

const PolicyResult* PointResult::best_online() const {
  const PolicyResult* best = nullptr;
  for (const auto& p : policies) {
    if (!p.respects_capacity || !p.online) continue;
    if (best == nullptr || p.metrics.total_time_s < best->metrics.total_time_s) best = &p;
  }
  return best;
}

double PointResult::online_gap() const {
  const PolicyResult* best = best_online();
  return best != nullptr ? certified_gap(best->metrics.total_time_s, lower_bound().value_s) : std::nan("");
}

double PointResult::headroom_captured() const {
  const PolicyResult* best = best_online();
  const PolicyResult* fixed = find("static");
  const double bound = lower_bound().value_s;
  if (best == nullptr || fixed == nullptr || !(fixed->metrics.total_time_s / bound - 1 > kGapTolerance)) return std::nan("");
  return (fixed->metrics.total_time_s - best->metrics.total_time_s) / (fixed->metrics.total_time_s - bound);
}

double PointResult::best_gap() const {
  const PolicyResult* best = best_schedule();
  return best != nullptr ? certified_gap(best->metrics.total_time_s, lower_bound().value_s) : std::nan("");
}

std::string point_id(const config::PointSpec& p) { return config::point_id(p); }

std::unique_ptr<trace::TraceSource> make_trace_source(const config::PointSpec& point) {
  const bool plain = point.batch_size == 1 && point.kv_block_tokens == 1 && point.trace.files.empty() &&
                     point.prompt_tokens_spread == 0;
  if (plain) {  // one sequence, token by token: exactly the source it always was
    if (!point.trace.file.empty()) return trace::open_trace_file(point.trace.file);
    const trace::TraceShape shape{point.prompt_tokens, point.decode_tokens, point.model.layers};
    return trace::make_synthetic_source(point.trace.synthetic, shape, point.seed);
  }
  // A batch: one source per sequence. Synthetic sequence b draws from its own stream (sequence 0 from the
  // point's seed: the lone point's trace), a recorded one from its own file.
  std::vector<std::unique_ptr<trace::TraceSource>> sequences;
  if (!point.trace.file.empty()) {
    sequences.push_back(trace::open_trace_file(point.trace.file));
  } else if (!point.trace.files.empty()) {
    for (const auto& f : point.trace.files) sequences.push_back(trace::open_trace_file(f));
  } else {
    const std::vector<std::uint32_t> prompts = config::batch_prompts(point);
    for (std::uint32_t b = 0; b < prompts.size(); ++b) {
      const trace::TraceShape shape{prompts[b], point.decode_tokens, point.model.layers};
      const std::uint64_t seed = b == 0 ? point.seed : core::derive_seed({point.seed, 0xba7c5ULL, b});
      sequences.push_back(trace::make_synthetic_source(point.trace.synthetic, shape, seed));
    }
  }
  const trace::TraceShape first = sequences[0]->shape();
  for (std::size_t b = 1; b < sequences.size(); ++b) {
    const trace::TraceShape s = sequences[b]->shape();
    if (s.decode_tokens != first.decode_tokens || s.layers != first.layers) {
      throw core::InputError(point.trace.files.at(b), "has D = " + std::to_string(s.decode_tokens) + ", L = " +
                                                          std::to_string(s.layers) + " but " + point.trace.files[0] +
                                                          " (the batch's first sequence) has D = " +
                                                          std::to_string(first.decode_tokens) + ", L = " +
                                                          std::to_string(first.layers) + "; a batch decodes in lockstep");
    }
  }
  return trace::make_batch_source(std::move(sequences), point.kv_block_tokens,
                                  point.read_unit == config::ReadUnit::kBlock);
}

namespace {

using Writers = std::vector<std::unique_ptr<schedule::ScheduleWriter>>;

// --record-schedule: the writer of <dir>/<policy>.h5 (null when not recording).
std::unique_ptr<schedule::ScheduleWriter> schedule_writer(const EvalOptions& options, const PointResult& result,
                                                          const std::string& policy, bool respects_capacity) {
  if (options.record_schedule_dir.empty()) return nullptr;
  return std::make_unique<schedule::ScheduleWriter>(
      (std::filesystem::path(options.record_schedule_dir) / (policy + ".h5")).string(), result.shape,
      schedule::ScheduleInfo{policy, result.point_id, respects_capacity});
}

// The simulator's observer that hands policy i's states to writers[i] (which may be null).
sim::ScheduleObserver recording_observer(Writers& writers, std::uint32_t prompt_tokens) {
  return [&writers, prompt_tokens](std::size_t i, std::uint32_t n, const cost::Residency& r,
                                   std::span<const core::TokenBitset>) {
    if (writers[i]) writers[i]->record(n + 1 - prompt_tokens, r);  // prefill: n = P - 1, state 0
  };
}

void finish(Writers& writers) {
  for (auto& w : writers) {
    if (w) w->finish();
  }
}

// A policy by name; "schedule" replays options.schedule_file.
std::unique_ptr<policy::Policy> make_named(const std::string& name, const policy::PolicyContext& ctx,
                                           const EvalOptions& options) {
  if (name == "schedule") return schedule::make_replay_policy(options.schedule_file, ctx);
  return policy::make_policy(name, ctx);
}

// The paper's SA-guided bound: anneal sa_guided's (W, R); `params` gets (W*, R*). `companions` ride
// along in the first pass.
oracle::SaTuningResult tune_sa(const config::PointSpec& point, const EvalOptions& options,
                               const cost::MemorySystem& memory, trace::TraceCache& cache,
                               config::PolicyParams& params, OracleReport& report,
                               oracle::SaCompanions* companions) {
  const auto t0 = std::chrono::steady_clock::now();
  oracle::SaTuningOptions opt;
  opt.replicas = point.oracle.sa_replicas;
  opt.max_rounds = point.oracle.sa_rounds;
  opt.w_max = point.oracle.sa_w_max;
  opt.seed = core::derive_seed({point.seed, 0x5a7e5ULL});
  opt.parallel = options.parallel;
  auto r = oracle::tune_sa_guided([&] { return cache.source(); }, memory, params, opt, companions);
  params.sa_window = r.best_window;
  params.sa_fraction = r.best_fraction;
  report.sa_tuned = true;
  report.sa_window = r.best_window;
  report.sa_fraction = r.best_fraction;
  report.sa_evaluations = r.evaluations;
  report.sa_passes = r.passes;
  report.sa_diagnostics = r.diagnostics;
  report.sa_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// The token-level oracle on a point already evaluated by the baselines: seed from the best
// capacity-respecting baseline, anneal (whole or in windows), re-judge. Adds an "oracle" PolicyResult
// and the report.
void run_oracle(const config::PointSpec& point, const config::PolicyParams& params, const EvalOptions& options,
                double static_time, OracleReport report, const policy::ResidencyPlan* plan, PointResult& result) {
  const auto t0 = std::chrono::steady_clock::now();
  const PolicyResult* seed = nullptr;
  for (const auto& p : result.policies) {
    if (!p.respects_capacity || p.name == "exact" || p.name == "schedule") continue;  // it starts from a policy
    if (seed == nullptr || p.metrics.total_time_s < seed->metrics.total_time_s) seed = &p;
  }
  const std::string seed_name = seed != nullptr ? seed->name : "static";
  report.seed_policy = seed_name;

  oracle::OracleOptions opt;
  const auto& os = point.oracle;
  opt.tempering.replicas = options.oracle_replicas.value_or(os.replicas);
  opt.tempering.max_moves = static_cast<std::uint64_t>(options.oracle_moves.value_or(os.moves));
  opt.tempering.moves_per_round = os.moves_per_round;
  opt.tempering.patience_rounds = os.patience_rounds;
  opt.tempering.max_wall_s = options.oracle_wall_s.value_or(os.max_wall_s);
  opt.tempering.seed = core::derive_seed({point.seed, 0x0bac1eULL});
  opt.tempering.parallel = options.parallel;
  opt.max_memory_gb = os.max_memory_gb;
  if (seed_name != "fm_dual") plan = nullptr;
  if (plan != nullptr) {  // fm_dual's plan stays in memory while its schedule seeds the annealer
    const double plan_gb = static_cast<double>(plan->layers) * plan->states * static_cast<double>(plan->words) * 8 / 1e9;
    opt.max_memory_gb = std::max(0.5, opt.max_memory_gb - plan_gb - 0.3);
  }

  const double need_gb = oracle::oracle_memory_bytes(result.shape, opt.tempering.replicas) / 1e9;
  const bool general = result.shape.batched() || result.shape.block_tokens > 1;
  cost::ScheduleTotals totals;
  if (need_gb > opt.max_memory_gb && general) {
    // Windows hand one sequence's tokens from window to window: a batch too large to hold whole keeps
    // its seed, judged again.
    char buf[200];
    std::snprintf(buf, sizeof buf, "not annealed: the whole point needs %.1f GB > %.1f, and a batch or blocks are not annealed in windows",
                  need_gb, opt.max_memory_gb);
    report.note = buf;
    auto source = make_trace_source(point);
    std::vector<std::unique_ptr<policy::Policy>> one;
    one.push_back(policy::make_policy(seed_name, policy::PolicyContext{result.shape, result.memory, params, plan}));
    sim::SimulationOptions sim_opt;
    sim_opt.parallel = options.parallel;
    Writers writers;
    writers.push_back(schedule_writer(options, result, "oracle", true));
    if (writers[0]) sim_opt.observer = recording_observer(writers, result.shape.prompt_tokens);
    totals = sim::simulate(*source, result.memory, one, sim_opt).policies[0].totals;
    finish(writers);
    report.seed_time_s = totals.total_time_s;
    report.diagnostics.initial_cost = report.diagnostics.best_cost = totals.total_time_s;
  } else if (need_gb > opt.max_memory_gb) {
    // Too large to hold whole: anneal window by window, each window as large as the memory allows.
    const std::uint32_t window = oracle::window_for_memory(result.shape, opt.tempering.replicas, opt.max_memory_gb);
    auto source = make_trace_source(point);
    const oracle::WindowedResult r = oracle::anneal_windowed(*source, result.memory, seed_name, params, window, opt, plan);
    char buf[200];
    std::snprintf(buf, sizeof buf, "annealed in %u windows of %u steps (the whole point needs %.1f GB > %.1f)",
                  r.windows, r.window_steps, need_gb, opt.max_memory_gb);
    report.note = buf;
    if (!options.record_schedule_dir.empty()) report.note += "; its schedule is not recorded (annealed in windows)";
    report.annealed = true;
    report.seed_time_s = r.seed_time_s;
    report.diagnostics = r.diagnostics;
    totals = r.totals;
  } else {
    // Three streams of the same trace (regenerating a synthetic one is cheaper than holding it).
    auto source = make_trace_source(point);
    const oracle::OracleInstance inst(*source, result.memory);
    auto seed_source = make_trace_source(point);
    const oracle::ScheduleState start = oracle::record_schedule(inst, seed_name, params, *seed_source, plan);
    const oracle::OracleResult r = oracle::anneal_schedule(inst, start, seed_name, opt);
    report.annealed = true;
    report.seed_time_s = r.seed_time_s;
    report.diagnostics = r.diagnostics;
    report.polish = r.polish;
    // The one judge scores the final schedule from scratch (and checks capacity again).
    auto judge_source = make_trace_source(point);
    const auto writer = schedule_writer(options, result, "oracle", true);
    totals = oracle::judge_schedule(inst, r.best, *judge_source, [&](std::uint32_t i, const cost::Residency& state) {
      if (writer) writer->record(i, state);
    });
    if (writer) writer->finish();
  }
  PolicyResult pr{"oracle", cost::summarise(totals, result.memory, result.shape.decode_tokens * result.shape.batch_size()), 0.0};
  pr.metrics.speedup_vs_static = static_time / totals.total_time_s;
  report.gap_to_bound = certified_gap(totals.total_time_s, result.lower_bound().value_s);
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  pr.cpu_s = report.wall_s;
  result.policies.push_back(std::move(pr));
  result.oracle = std::move(report);
}

// The exact MILP on a point already evaluated by the baselines: refused above the point's size limit
// (an input error: the point asks for what it cannot have), solved within its node budget, re-judged.
// A batch, blocks or a per-transfer cost go to the block model (oracle/exact.hpp).
void run_exact(const config::PointSpec& point, const EvalOptions& options, double static_time, PointResult& result) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& os = point.oracle;
  const auto& sh = result.shape;
  const bool blocks = oracle::needs_block_model(sh, result.memory);
  // Every entry of every state would be a variable: past this a quick refusal, before the trace is held.
  const std::uint64_t upper = sh.footprint_tokens() * sh.layers * (sh.decode_tokens + 1);
  auto refuse = [&](const std::string& size) {
    const std::string batch = sh.batched() || sh.block_tokens > 1 ? " B=" + std::to_string(sh.batch_size()) +
                                                                        " k=" + std::to_string(sh.block_tokens)
                                                                  : std::string();
    throw core::InputError(point.source, "policies: exact needs " + size + " binary variables for P=" +
                                             std::to_string(sh.prompt_tokens) + " D=" +
                                             std::to_string(sh.decode_tokens) + " L=" + std::to_string(sh.layers) +
                                             batch + ", above oracle.exact_max_binaries = " +
                                             std::to_string(os.exact_max_binaries) +
                                             "; drop exact for this point or make it smaller");
  };
  if (upper > 64ULL * os.exact_max_binaries) refuse("up to " + std::to_string(upper));
  oracle::ExactOptions opt;
  opt.max_binaries = os.exact_max_binaries;
  opt.max_nodes = os.exact_max_nodes;
  opt.max_wall_s = 0;
  oracle::ExactResult r;
  cost::ScheduleTotals totals;
  auto source = make_trace_source(point);
  if (blocks) {
    const oracle::BlockInstance inst(*source, result.memory);
    const std::uint64_t binaries = oracle::exact_binaries(inst);
    if (binaries > os.exact_max_binaries) refuse(std::to_string(binaries));
    r = oracle::solve_exact(inst, opt);
    auto judge_source = make_trace_source(point);
    totals = oracle::judge_states(r.states, result.memory, *judge_source);
  } else {
    const oracle::OracleInstance inst(*source, result.memory);
    const std::uint64_t binaries = oracle::exact_binaries(inst);
    if (binaries > os.exact_max_binaries) refuse(std::to_string(binaries));
    r = oracle::solve_exact(inst, opt);
    const oracle::ScheduleState schedule(inst, r.states);
    auto judge_source = make_trace_source(point);
    totals = oracle::judge_schedule(inst, schedule, *judge_source);
  }
  if (const auto writer = schedule_writer(options, result, "exact", true)) {
    for (std::uint32_t i = 0; i < r.states.size(); ++i) writer->record(i, r.states[i]);
    writer->finish();
  }
  ExactReport report{r.proven_optimal, r.bound_s, r.binaries, r.rows, r.nodes, 0.0};
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PolicyResult pr{"exact", cost::summarise(totals, result.memory, sh.decode_tokens * sh.batch_size()), report.wall_s};
  pr.metrics.speedup_vs_static = static_time / totals.total_time_s;
  result.policies.push_back(std::move(pr));
  result.exact = report;
}

// A policy's per-(n, l) records summed over layers: one time per decode step.
std::vector<double> per_step_times(const std::vector<cost::StepRecord>& records, const trace::TraceShape& shape) {
  std::vector<double> steps(shape.decode_tokens, 0.0);
  for (const cost::StepRecord& r : records) steps[r.n - shape.prompt_tokens] += r.time_s;
  return steps;
}

// fm_dual's plan: the Lagrangian bound's cheapest paths, in the layout policy::ResidencyPlan views.
struct DualPlan {
  std::vector<core::Word> bits;
  policy::ResidencyPlan view;
};

// The Lagrangian bound, where the certified gap after the baselines is above the point's threshold;
// then fm_dual, if asked for, guided by the bound's paths. Returns the plan (for the oracle, should
// fm_dual seed it), or null.
std::unique_ptr<DualPlan> run_lagrangian(const config::PointSpec& point, const EvalOptions& options,
                                         const config::PolicyParams& params, double static_time, PointResult& result) {
  const auto& os = point.oracle;
  const bool want_dual = std::find(point.policies.begin(), point.policies.end(), "fm_dual") != point.policies.end();
  const PolicyResult* best = result.best_schedule();
  // The ratio itself decides (lagrangian_gap: 0 computes it over any round-off); the note says the
  // certified gap.
  const double gap = best != nullptr ? best->metrics.total_time_s / result.lower_bound().value_s - 1 : 0.0;
  LagrangianReport report;
  if (os.lagrangian_passes == 0) {
    if (want_dual) {  // say why fm_dual has no result
      report.note = "not computed: oracle.lagrangian_passes is 0 (fm_dual follows the bound's paths)";
      result.lagrangian = std::move(report);
    }
    return nullptr;
  }
  if (!(gap > os.lagrangian_gap)) {
    if (want_dual) {  // say why fm_dual has no result
      char buf[160];
      std::snprintf(buf, sizeof buf, "not computed: certified gap %.4g %% after the baselines, at most oracle.lagrangian_gap",
                    100 * result.best_gap());
      report.note = buf;
      result.lagrangian = std::move(report);
    }
    return nullptr;
  }
  const auto& sh = result.shape;
  const double need_gb =
      static_cast<double>(sh.layers) * sh.decode_tokens * static_cast<double>(core::words_for(sh.space())) * 8 / 1e9;
  if (need_gb > os.max_memory_gb) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "not computed: its reads need %.1f GB > oracle.max_memory_gb %.1f", need_gb,
                  os.max_memory_gb);
    report.note = buf;
    result.lagrangian = std::move(report);
    return nullptr;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto plan = std::make_unique<DualPlan>();
  if (options.lagrangian_progress) options.lagrangian_progress(0, os.lagrangian_passes, gap);
  {
    auto source = make_trace_source(point);
    const bound::StepMajorReads reads(*source);
    bound::LagrangianOptions o;
    o.max_passes = os.lagrangian_passes;
    o.max_wall_s = os.lagrangian_wall_s;
    o.upper_bound_s = best != nullptr ? best->metrics.total_time_s : 0.0;
    o.stop_gap = os.lagrangian_gap;
    o.parallel = options.parallel;
    if (options.lagrangian_progress) {
      o.progress = [&](std::uint32_t pass, double, double best_s) {
        options.lagrangian_progress(pass, os.lagrangian_passes, best_s > 0 ? o.upper_bound_s / best_s - 1 : std::nan(""));
      };
    }
    const bound::LagrangianResult r = bound::lagrangian_bound(reads, result.memory, o);
    report.computed = true;
    report.bound_s = r.bound_s;
    report.start_s = r.start_s;
    report.passes = r.passes;
    report.wall_s = r.wall_s;
    report.stop_reason = r.stop_reason;
    for (std::uint32_t k = 1; k <= r.passes; k = k < 2 ? 2 : k < 5 ? 5 : k < 10 ? 10 : k * 2) {
      report.best_by_pass.emplace_back(k, r.best_by_pass_s[k - 1]);
    }
    if (report.best_by_pass.back().first != r.passes) report.best_by_pass.emplace_back(r.passes, r.best_by_pass_s.back());
    if (want_dual) plan->bits = bound::lagrangian_paths(reads, result.memory, r.best, options.parallel);
  }
  result.lagrangian = std::move(report);
  if (!want_dual) return nullptr;
  plan->view = policy::ResidencyPlan{plan->bits.data(), sh.layers, sh.decode_tokens, core::words_for(sh.space())};
  std::vector<std::unique_ptr<policy::Policy>> one;
  one.push_back(policy::make_policy("fm_dual", policy::PolicyContext{sh, result.memory, params, &plan->view}));
  sim::SimulationOptions sim_opt;
  sim_opt.parallel = options.parallel;
  sim_opt.record_steps = options.step_detail;
  Writers writers;
  writers.push_back(schedule_writer(options, result, "fm_dual", true));
  if (writers[0]) sim_opt.observer = recording_observer(writers, sh.prompt_tokens);
  std::vector<std::vector<cost::StepRecord>> records;
  auto source = make_trace_source(point);
  const sim::SimulationResult run =
      sim::simulate(*source, result.memory, one, sim_opt, options.step_detail ? &records : nullptr);
  finish(writers);
  const auto& p = run.policies.at(0);
  if (!records.empty()) result.step_detail.push_back({p.name, per_step_times(records[0], sh)});
  PolicyResult pr{p.name, cost::summarise(p.totals, result.memory, sh.decode_tokens * sh.batch_size()),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - result.lagrangian->wall_s};
  pr.metrics.speedup_vs_static = static_time / p.totals.total_time_s;
  result.policies.push_back(std::move(pr));
  return plan;
}

}  // namespace

PointResult evaluate_point(const config::PointSpec& point, const EvalOptions& options) {
  auto source = make_trace_source(point);
  const trace::TraceShape shape = source->shape();
  if (!point.trace.file.empty() && shape.layers != point.model.layers) {
    throw core::InputError(point.source, "trace file " + point.trace.file + " has " +
                                             std::to_string(shape.layers) + " layers but model " +
                                             point.model_name + " has " + std::to_string(point.model.layers));
  }
  PointResult result;
  result.point_id = config::point_id(point);
  result.name = point.name;
  result.source = point.source;
  result.shape = shape;
  result.memory = cost::make_memory_system(point, shape);
  result.footprint_entries = shape.footprint_tokens() * shape.layers;

  const bool want_oracle =
      std::find(point.policies.begin(), point.policies.end(), "oracle") != point.policies.end();
  const bool want_sa = std::find(point.policies.begin(), point.policies.end(), "sa_guided") != point.policies.end();
  config::PolicyParams params = point.policy_params;
  // The (W, R) tuning passes over the trace sa_rounds times, and the policies once more: those passes
  // replay it from memory when it fits the point's memory budget (released before the bound and the
  // oracle, which have the budget to themselves).
  trace::TraceCache cache([&] { return make_trace_source(point); }, shape,
                          want_oracle && want_sa ? point.oracle.max_memory_gb * 1e9 : 0.0);
  std::optional<OracleReport> report;
  if (want_oracle) report.emplace();
  auto runs_policy = [](const std::string& name) { return name != "oracle" && name != "exact" && name != "fm_dual"; };
  std::vector<sim::PolicyRun> runs;  // of the policies that run in a pass, in the point's order
  std::vector<bool> respects;  // of `runs`
  std::vector<cost::MissProfiler> profilers;  // of `runs`, with options.miss_profile
  if (want_oracle && want_sa && !options.step_detail && options.record_schedule_dir.empty() && !options.miss_profile) {
    // The other policies ride along in the tuning's first pass (they do not depend on (W, R)), and
    // sa_guided's result is the tuning's best point: no pass of their own.
    oracle::SaCompanions companions;
    const policy::PolicyContext ctx{shape, result.memory, params};
    std::vector<bool> companion_respects;  // the tuning takes the policies over
    for (const auto& name : point.policies) {
      if (!runs_policy(name) || name == "sa_guided") continue;
      companions.policies.push_back(make_named(name, ctx, options));
      companion_respects.push_back(companions.policies.back()->respects_capacity());
    }
    companions.progress = options.progress;
    const oracle::SaTuningResult tuned = tune_sa(point, options, result.memory, cache, params, *report, &companions);
    std::size_t next = 0;
    for (const auto& name : point.policies) {
      if (name == "sa_guided") {
        runs.push_back({name, tuned.best_totals, tuned.best_cpu_s});
        respects.push_back(true);
      } else if (runs_policy(name)) {
        respects.push_back(companion_respects.at(next));
        runs.push_back(std::move(companions.runs.at(next++)));
      }
    }
    result.bounds = companions.bounds;
    result.trace_s = companions.trace_s;
    result.policies_wall_s = companions.wall_s;
    result.policies_in_tuning = true;
    source.reset();
  } else {
    if (want_oracle && want_sa) tune_sa(point, options, result.memory, cache, params, *report, nullptr);
    const policy::PolicyContext ctx{shape, result.memory, params};
    std::vector<std::unique_ptr<policy::Policy>> policies;
    Writers writers;
    for (const auto& name : point.policies) {
      if (!runs_policy(name)) continue;
      policies.push_back(make_named(name, ctx, options));
      respects.push_back(policies.back()->respects_capacity());
      writers.push_back(schedule_writer(options, result, name, respects.back()));
    }
    sim::SimulationOptions sim_opt;
    sim_opt.parallel = options.parallel;
    sim_opt.progress = options.progress;
    sim_opt.record_steps = options.step_detail;
    if (!options.record_schedule_dir.empty()) sim_opt.observer = recording_observer(writers, shape.prompt_tokens);
    if (options.miss_profile) {
      for (std::size_t i = 0; i < policies.size(); ++i) profilers.emplace_back(shape.layers, shape.space(), shape.prompt_tokens);
      sim_opt.observer = [&profilers, record = std::move(sim_opt.observer)](std::size_t i, std::uint32_t n, const cost::Residency& r,
                                                                         std::span<const core::TokenBitset> reads) {
        profilers[i].observe(n, r, reads);
        if (record) record(i, n, r, reads);
      };
    }
    std::vector<std::vector<cost::StepRecord>> records;
    if (cache.complete()) source = cache.source();
    sim::SimulationResult run =
        sim::simulate(*source, result.memory, policies, sim_opt, options.step_detail ? &records : nullptr);
    finish(writers);
    for (std::size_t i = 0; i < records.size(); ++i) {
      result.step_detail.push_back({run.policies[i].name, per_step_times(records[i], shape)});
    }
    runs = std::move(run.policies);
    result.bounds = run.bounds;
    result.trace_s = run.trace_s;
    result.policies_wall_s = run.wall_s;
  }
  cache.release();

  double static_time = std::nan("");
  for (const auto& p : runs) {
    if (p.name == "static") static_time = p.totals.total_time_s;
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const sim::PolicyRun& p = runs[i];
    PolicyResult r{p.name, cost::summarise(p.totals, result.memory, shape.decode_tokens * shape.batch_size()), p.cpu_s};
    r.metrics.speedup_vs_static = static_time / p.totals.total_time_s;
    r.respects_capacity = respects[i];
    r.online = p.name != "schedule" && policy::information_of(p.name) == policy::Information::kOnline;
    if (i < profilers.size()) r.misses = profilers[i].profile();
    result.policies.push_back(std::move(r));
  }
  // The MILP first: its bound is then part of the oracle's gap.
  if (std::find(point.policies.begin(), point.policies.end(), "exact") != point.policies.end()) {
    run_exact(point, options, static_time, result);
  }
  // The Lagrangian bound (and fm_dual) before the annealer, which may then start from fm_dual.
  const std::unique_ptr<DualPlan> plan = run_lagrangian(point, options, params, static_time, result);
  if (want_oracle) {
    run_oracle(point, params, options, static_time, std::move(*report), plan ? &plan->view : nullptr, result);
  }
  result.wall_s = (result.policies_in_tuning ? 0.0 : result.policies_wall_s) +
                  (result.oracle ? result.oracle->wall_s + result.oracle->sa_wall_s : 0.0) +
                  (result.exact ? result.exact->wall_s : 0.0) + (result.lagrangian ? result.lagrangian->wall_s : 0.0);
  core::release_huge_blocks();  // the phases' large arrays, whose memory went from one to the next
  check_bounds(result);
  return result;
}

PointResult judge_point(const config::PointSpec& point, const std::string& schedule_file, EvalOptions options) {
  config::PointSpec judged = point;
  judged.policies = {"static", "schedule"};
  options.schedule_file = schedule_file;
  options.record_schedule_dir.clear();
  PointResult result = evaluate_point(judged, options);
  result.point_id = config::point_id(point);
  return result;
}

}  // namespace kvsweep::eval
