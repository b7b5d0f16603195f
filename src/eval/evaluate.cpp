#include "kvsweep/eval/evaluate.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/rng.hpp"
#include "kvsweep/eval/simulate.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/trace/synthetic.hpp"
#include "kvsweep/trace/trace_file.hpp"

namespace kvsweep::eval {

const PolicyResult* PointResult::find(const std::string& policy) const {
  for (const auto& p : policies) {
    if (p.name == policy) return &p;
  }
  return nullptr;
}

std::string point_id(const config::PointSpec& p) {
  // Canonical text of every parameter that changes the numbers; %.17g keeps doubles exact.
  std::ostringstream s;
  auto num = [&](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    s << buf << ';';
  };
  s << "model=" << p.model_name << ';' << p.model.layers << ';';
  num(p.model.kv_bytes_per_token_layer);
  num(p.model.weight_bytes_per_layer);
  num(p.model.resident_weight_bytes);
  s << "hw=";
  num(p.hardware.hbm_bw_gbps);
  num(p.hardware.link_read_gbps);
  num(p.hardware.link_write_gbps);
  num(p.hardware.dram_bw_gbps);
  s << "cap=" << static_cast<int>(p.capacity.kind) << ';';
  num(p.capacity.value);
  s << "P=" << p.prompt_tokens << ";D=" << p.decode_tokens << ';';
  if (!p.trace.file.empty()) {
    s << "file=" << p.trace.file << ';';
  } else {
    const auto& t = p.trace.synthetic;
    for (double v : {t.sparsity, t.target_jaccard, static_cast<double>(t.sink_tokens), t.recent_share,
                     t.heavy_share, t.heavy_lifetime_steps, t.span_tokens, t.recall_prob, t.layer_spread,
                     t.cross_layer_share, static_cast<double>(t.dense_layers)}) {
      num(v);
    }
  }
  const auto& pp = p.policy_params;
  for (double v : {static_cast<double>(pp.page_tokens), static_cast<double>(pp.streaming_sinks),
                   pp.h2o_recent_share, static_cast<double>(pp.belady_lookahead),
                   static_cast<double>(pp.sa_window), pp.sa_fraction}) {
    num(v);
  }
  s << "seed=" << p.seed;
  const std::string text = s.str();
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(core::splitmix64(h)));
  return out;
}

std::unique_ptr<trace::TraceSource> make_trace_source(const config::PointSpec& point) {
  if (!point.trace.file.empty()) return trace::open_trace_file(point.trace.file);
  const trace::TraceShape shape{point.prompt_tokens, point.decode_tokens, point.model.layers};
  return trace::make_synthetic_source(point.trace.synthetic, shape, point.seed);
}

PointResult evaluate_point(const config::PointSpec& point, const EvalOptions& options) {
  auto source = make_trace_source(point);
  const trace::TraceShape shape = source->shape();
  if (!point.trace.file.empty() && shape.layers != point.model.layers) {
    throw core::InputError(point.source, "trace file " + point.trace.file + " has " +
                                             std::to_string(shape.layers) + " layers but model " +
                                             point.model_name + " has " + std::to_string(point.model.layers));
  }
  PointResult result;
  result.point_id = point_id(point);
  result.name = point.name;
  result.source = point.source;
  result.shape = shape;
  result.memory = cost::make_memory_system(point, shape);
  result.footprint_entries = static_cast<std::uint64_t>(shape.total_tokens()) * shape.layers;

  const policy::PolicyContext ctx{shape, result.memory, point.policy_params};
  std::vector<std::unique_ptr<policy::Policy>> policies;
  for (const auto& name : point.policies) policies.push_back(policy::make_policy(name, ctx));

  SimulationOptions sim;
  sim.parallel = options.parallel;
  sim.progress = options.progress;
  const SimulationResult run = simulate(*source, result.memory, policies, sim);

  double static_time = std::nan("");
  for (const auto& p : run.policies) {
    if (p.name == "static") static_time = p.totals.total_time_s;
  }
  for (const auto& p : run.policies) {
    PolicyResult r{p.name, cost::summarise(p.totals, result.memory, shape.decode_tokens), p.cpu_s};
    r.metrics.speedup_vs_static = static_time / p.totals.total_time_s;
    result.policies.push_back(std::move(r));
  }
  result.bounds = run.bounds;
  result.trace_s = run.trace_s;
  result.wall_s = run.wall_s;
  return result;
}

}  // namespace kvsweep::eval
