#include <algorithm>
#include <bit>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "kvsweep/oracle/tempering_engine.hpp"
#include "kvsweep/oracle/token_oracle.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/sim/simulate.hpp"

namespace kvsweep::oracle {

std::uint32_t window_for_memory(const trace::TraceShape& shape, std::uint32_t replicas, double max_memory_gb) {
  const double entries = static_cast<double>(shape.total_tokens()) * shape.layers;
  // Reads, one schedule per replica, the best copy and the seed: words of 64 states each; plus the
  // buffered residencies and reads of the window (two bitsets per step).
  const double per_word = entries * 8.0 * (replicas + 3.0) + 2.0 * 64.0 * entries / 8.0;
  const double words = std::floor(max_memory_gb * 1e9 / per_word);
  if (words < 1) return 63;
  const double steps = words * 64.0 - 1.0;
  return static_cast<std::uint32_t>(std::min<double>(steps, shape.decode_tokens));
}

namespace {

// One window's inputs, gathered while the seed policy runs.
struct WindowBuffer {
  std::uint32_t first_step = 0;                 // j0
  std::uint32_t used = 0;                       // steps buffered (the vectors may hold more, from before)
  std::vector<cost::Residency> states;          // seed states after each step of the window
  std::vector<std::vector<core::TokenBitset>> reads;  // S(n, ·) of each step
};

class WindowedRunner {
 public:
  WindowedRunner(const trace::TraceShape& shape, const cost::MemorySystem& memory, std::uint32_t window,
                 const OracleOptions& options)
      : shape_(shape), memory_(memory), window_(window), options_(options), judge_(memory, shape, true) {}

  void prefill(const cost::Residency& r) { start_ = r; }

  // The buffer's bitsets are kept from window to window and copied into (allocating ~0.6 GB of small
  // blocks afresh for every window had the kernel zeroing pages for a tenth of the oracle's time).
  void step(std::uint32_t n, const cost::Residency& r, std::span<const core::TokenBitset> reads) {
    if (buffer_.used < buffer_.states.size()) {
      buffer_.states[buffer_.used] = r;
      buffer_.reads[buffer_.used].assign(reads.begin(), reads.end());
    } else {
      buffer_.states.push_back(r);
      buffer_.reads.emplace_back(reads.begin(), reads.end());
    }
    ++buffer_.used;
    if (buffer_.used == window_ || n + 1 == shape_.total_tokens()) flush();
  }

  const cost::ScheduleTotals& totals() const { return judge_.totals(); }
  std::uint32_t windows() const { return windows_; }
  const TemperingDiagnostics& diagnostics() const { return diag_; }

 private:
  void flush() {
    const std::uint32_t steps = buffer_.used;
    const std::uint32_t j0 = buffer_.first_step;
    const trace::TraceShape local{shape_.prompt_tokens + j0, steps, shape_.layers};
    // Both ends of an inner window stay the seed's: evicting at the end state costs nothing inside the
    // window but would be paid by the next one, so the ends are not the window's to change.
    const bool last_window = j0 + steps == shape_.decode_tokens;
    OracleInstance inst(local, memory_, windows_ == 0 ? 0 : 1, !last_window);
    for (std::uint32_t k = 0; k < steps; k += core::kWordBits) {
      inst.add_steps(k, std::span(buffer_.reads).subspan(k, std::min<std::size_t>(core::kWordBits, steps - k)));
    }
    ScheduleState seed(inst);
    std::vector<const cost::Residency*> states{&start_};  // state 0, then the state after each step
    for (std::uint32_t i = 0; i < steps; ++i) states.push_back(&buffer_.states[i]);
    for (std::uint32_t i = 0; i < states.size(); i += core::kWordBits) {
      seed.load_states(i, std::span(states).subspan(i, std::min<std::size_t>(core::kWordBits, states.size() - i)));
    }
    seed.recount();
    TemperingOptions t = options_.tempering;
    t.seed = core::derive_seed({options_.tempering.seed, windows_});
    t.max_moves = std::max<std::uint64_t>(1, options_.tempering.max_moves / windows_total_);
    const ScheduleProblem problem(inst);
    auto result = temper(problem, seed, t);
    const ScheduleState& best = result.best.exact_total() <= seed.exact_total() ? result.best : seed;
    accumulate(result.diagnostics);
    judge_window(best, j0, steps);
    buffer_.used = 0;
    buffer_.first_step = j0 + steps;
    ++windows_;
  }

  // Feeds the window's states to the judge (state 0 only for the first window: later ones are the
  // previous window's end state, already judged).
  void judge_window(const ScheduleState& s, std::uint32_t j0, std::uint32_t steps) {
    for (std::size_t w = 0; w * core::kWordBits <= steps; ++w) {
      s.state_block(w, shape_.total_tokens(), block_);
      const std::vector<cost::Residency>& block = block_;
      for (std::uint32_t k = 0; k < block.size(); ++k) {
        const std::uint32_t i = static_cast<std::uint32_t>(w * core::kWordBits) + k;  // local state
        if (i == 0) {
          if (windows_ == 0) judge_.begin(block[k]);
          continue;
        }
        judge_.score_step(shape_.prompt_tokens + j0 + i - 1, buffer_.reads[i - 1], block[k]);
        if (i == steps) start_ = block[k];
      }
    }
  }

  void accumulate(const TemperingDiagnostics& d) {
    diag_.moves_proposed += d.moves_proposed;
    diag_.moves_accepted += d.moves_accepted;
    if (diag_.move_kinds.empty()) {
      diag_.move_kinds = d.move_kinds;
    } else {
      for (std::size_t m = 0; m < d.move_kinds.size(); ++m) {
        diag_.move_kinds[m].proposed += d.move_kinds[m].proposed;
        diag_.move_kinds[m].accepted += d.move_kinds[m].accepted;
        diag_.move_kinds[m].improvement += d.move_kinds[m].improvement;
      }
    }
    diag_.rounds += d.rounds;
    diag_.round_trips += d.round_trips;
    diag_.wall_s += d.wall_s;
    diag_.temperatures = d.temperatures;
    diag_.swap_acceptance = d.swap_acceptance;
    diag_.swap_attempts = d.swap_attempts;
    diag_.stop_reason = d.stop_reason;
  }

 public:
  std::uint32_t windows_total_ = 1;

 private:
  trace::TraceShape shape_;
  cost::MemorySystem memory_;
  std::uint32_t window_;
  OracleOptions options_;
  cost::Judge judge_;
  cost::Residency start_;
  WindowBuffer buffer_;
  std::vector<cost::Residency> block_;  // judge_window's states, storage kept
  std::uint32_t windows_ = 0;
  TemperingDiagnostics diag_;
};

}  // namespace

WindowedResult anneal_windowed(trace::TraceSource& source, const cost::MemorySystem& memory,
                               const std::string& seed_policy, const config::PolicyParams& params,
                               std::uint32_t window_steps, const OracleOptions& options,
                               const policy::ResidencyPlan* plan) {
  const auto t0 = std::chrono::steady_clock::now();
  const trace::TraceShape shape = source.shape();
  if (shape.batched() || shape.block_tokens > 1) {
    throw std::invalid_argument("anneal_windowed: windows hold one sequence's tokens; not a batch or blocks");
  }
  const std::uint32_t window = std::max<std::uint32_t>(1, std::min(window_steps, shape.decode_tokens));
  WindowedRunner runner(shape, memory, window, options);
  runner.windows_total_ = (shape.decode_tokens + window - 1) / window;
  sim::SimulationOptions opt;
  // The seed policy runs as a task while the next steps of the trace are produced beside it; the
  // observer anneals each window with TBB inside that task.
  opt.parallel = options.tempering.parallel;
  opt.observer = [&](std::size_t, std::uint32_t n, const cost::Residency& r, std::span<const core::TokenBitset> reads) {
    if (n + 1 == shape.prompt_tokens) {
      runner.prefill(r);
    } else {
      runner.step(n, r, reads);
    }
  };
  std::vector<std::unique_ptr<policy::Policy>> one;
  one.push_back(policy::make_policy(seed_policy, policy::PolicyContext{shape, memory, params, plan}));
  const auto seed_run = sim::simulate(source, memory, one, opt);

  WindowedResult out;
  out.seed_time_s = seed_run.policies[0].totals.total_time_s;
  out.windows = runner.windows();
  out.window_steps = window;
  out.diagnostics = runner.diagnostics();
  out.improved = runner.totals().total_time_s < out.seed_time_s;
  out.totals = out.improved ? runner.totals() : seed_run.policies[0].totals;
  out.diagnostics.initial_cost = out.seed_time_s;
  out.diagnostics.best_cost = out.totals.total_time_s;
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace kvsweep::oracle
