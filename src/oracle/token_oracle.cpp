#include "kvsweep/oracle/token_oracle.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <chrono>
#include <memory>

#include "kvsweep/sim/simulate.hpp"
#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::oracle {

double oracle_memory_bytes(const trace::TraceShape& shape, std::uint32_t replicas) {
  // Entries are (token, layer), or in a batch or with blocks (block, layer) over the token space.
  const bool general = shape.batched() || shape.block_tokens > 1;
  const double units = general ? std::ceil(static_cast<double>(shape.space()) / shape.block_tokens) : shape.total_tokens();
  const double entries = units * shape.layers;
  const double words = static_cast<double>(core::words_for(shape.decode_tokens + 1));
  const double bits_bytes = entries * words * 8.0;  // one bit per entry and state, per copy
  // Reads once, a schedule per replica plus the best copy, counts and times per (step, layer); blocks
  // keep their reads token by token too.
  const double per_step = static_cast<double>(shape.decode_tokens) * shape.layers * (sizeof(cost::StepCounts) + 8.0);
  const double token_reads = shape.block_tokens > 1 ? static_cast<double>(shape.decode_tokens) * shape.layers *
                                                          static_cast<double>(core::words_for(shape.space())) * 8.0
                                                    : 0.0;
  return bits_bytes * (1.0 + replicas + 1.0) + per_step * (replicas + 1.0) + token_reads;
}

ScheduleState record_schedule(const OracleInstance& inst, const std::string& policy,
                              const config::PolicyParams& params, trace::TraceSource& source,
                              const policy::ResidencyPlan* plan) {
  ScheduleState state(inst);
  // States arrive one by one; they are loaded 64 at a time (entry-major words, see load_states).
  std::vector<cost::Residency> block;
  std::vector<const cost::Residency*> pointers;
  std::uint32_t loaded = 0;
  auto load = [&] {
    pointers.clear();
    for (const auto& r : block) pointers.push_back(&r);
    state.load_states(loaded, pointers);
    loaded += static_cast<std::uint32_t>(block.size());
    block.clear();
  };
  sim::SimulationOptions opt;
  opt.parallel = false;
  opt.observer = [&](std::size_t, std::uint32_t, const cost::Residency& r, std::span<const core::TokenBitset>) {
    block.push_back(r);
    if (block.size() == core::kWordBits) load();
  };
  std::vector<std::unique_ptr<policy::Policy>> one;
  one.push_back(policy::make_policy(policy, policy::PolicyContext{inst.shape(), inst.memory(), params, plan}));
  sim::simulate(source, inst.memory(), one, opt);
  if (!block.empty()) load();
  state.recount();
  return state;
}

OracleResult anneal_schedule(const OracleInstance& inst, const ScheduleState& start, const std::string& start_name,
                             const OracleOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const ScheduleProblem problem(inst);
  auto result = temper(problem, start, options.tempering);
  // Never worse than the seed, even if rounding made the engine keep a state a hair worse.
  const bool improved = result.best.exact_total() <= start.exact_total();
  OracleResult out{start_name, start.exact_total(), improved ? std::move(result.best) : start, 0.0,
                   std::move(result.diagnostics), 0.0, {}};
  // The exact MILP knows tokens of a lone sequence only.
  if (!inst.general()) out.polish = polish_windows(inst, out.best, options.polish);
  out.total_time_s = out.best.exact_total();
  out.diagnostics.best_cost = out.total_time_s;
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

cost::ScheduleTotals judge_schedule(const OracleInstance& inst, const ScheduleState& s, trace::TraceSource& source,
                                   const std::function<void(std::uint32_t, const cost::Residency&)>& observe) {
  const auto& sh = inst.shape();
  cost::Judge judge(inst.memory(), sh, true);
  std::vector<core::TokenBitset> reads(sh.layers, core::TokenBitset(sh.space()));
  std::vector<cost::Residency> block;
  for (std::size_t w = 0; w * core::kWordBits < inst.states(); ++w) {
    s.state_block(w, sh.space(), block);
    for (std::uint32_t k = 0; k < block.size(); ++k) {
      const std::uint32_t i = static_cast<std::uint32_t>(w * core::kWordBits) + k;
      if (observe) observe(i, block[k]);
      if (i == 0) {
        judge.begin(block[k]);
        continue;
      }
      const std::uint32_t n = sh.prompt_tokens + i - 1;
      source.read_step(n, reads);
      judge.score_step(n, reads, block[k]);
    }
  }
  return judge.totals();
}

}  // namespace kvsweep::oracle
