#include "kvsweep/oracle/sa_tuning.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include "kvsweep/policy/policies.hpp"
#include "kvsweep/sim/simulate.hpp"

namespace kvsweep::oracle {

namespace {

constexpr std::uint32_t kMaxTenths = 10;  // R = 1.0
constexpr double kWindowMoveShare = 0.4;  // paper: W alone 40 %, R alone 40 %, both 20 %
constexpr double kFractionMoveShare = 0.4;
constexpr double kUphillAcceptance = 0.8;         // paper: initial temperature for 80 % uphill acceptance
constexpr double kCooling = 0.9;                  // paper: geometric cooling
constexpr double kNoMoveTemperatureShare = 0.05;  // t_max / starting time when no delta was seen
constexpr int kMaxRedraws = 64;

// A point of the (W, R) domain; R in tenths so that points compare exactly and key the memo.
struct Knobs {
  std::uint32_t window = 1;
  std::uint32_t tenths = 1;
  auto operator<=>(const Knobs&) const = default;
};

double fraction_of(std::uint32_t tenths) { return static_cast<double>(tenths) / 10.0; }

// The paper's move from `from`, redrawn while it leaves the domain. An R move alone is always legal
// (R has ten values), so a legal move is found with overwhelming probability; if not, `from`.
Knobs propose(const Knobs& from, std::uint32_t w_max, core::Rng& rng) {
  static constexpr std::int64_t kWindowSteps[4] = {-2, -1, 1, 2};
  for (int attempt = 0; attempt < kMaxRedraws; ++attempt) {
    const double u = rng.uniform();
    std::int64_t w = from.window;
    std::int64_t r = from.tenths;
    const bool move_window = u < kWindowMoveShare || u >= kWindowMoveShare + kFractionMoveShare;
    const bool move_fraction = u >= kWindowMoveShare;
    if (move_window) w += kWindowSteps[rng.below(4)];
    if (move_fraction) r += rng.below(2) == 0 ? -1 : 1;
    if (w >= 1 && w <= w_max && r >= 1 && r <= kMaxTenths) {
      return {static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(r)};
    }
  }
  return from;
}

// Memoised scores of (W, R) points; a batch of new points is simulated in one pass over the trace.
// Tracks the best point in `result` (ties: the first evaluated) and appends to result.evaluated.
class Evaluator {
 public:
  Evaluator(const std::function<std::unique_ptr<trace::TraceSource>()>& make_source,
            const cost::MemorySystem& memory, const config::PolicyParams& start, bool parallel,
            SaTuningResult& result, SaCompanions* companions)
      : make_source_(make_source), memory_(memory), start_(start), parallel_(parallel), result_(result),
        companions_(companions) {}

  void evaluate(const std::vector<Knobs>& points) {
    std::vector<Knobs> fresh;
    for (const Knobs& p : points) {
      if (!memo_.contains(p) && std::find(fresh.begin(), fresh.end(), p) == fresh.end()) fresh.push_back(p);
    }
    if (fresh.empty()) return;
    std::unique_ptr<trace::TraceSource> source = make_source_();
    if (!source) throw std::invalid_argument("tune_sa_guided: make_source returned no source");
    const trace::TraceShape shape = source->shape();
    std::vector<std::unique_ptr<policy::Policy>> policies;
    for (const Knobs& k : fresh) {
      config::PolicyParams params = start_;
      params.sa_window = k.window;
      params.sa_fraction = fraction_of(k.tenths);
      policies.push_back(policy::make_sa_guided(policy::PolicyContext{shape, memory_, params}));
    }
    sim::SimulationOptions sim_options;
    sim_options.parallel = parallel_;
    SaCompanions* riding = std::exchange(companions_, nullptr);  // the first pass only
    if (riding != nullptr) {
      for (auto& p : riding->policies) policies.push_back(std::move(p));
      riding->policies.clear();
      sim_options.progress = riding->progress;
    }
    sim::SimulationResult run = sim::simulate(*source, memory_, policies, sim_options);
    ++result_.passes;
    if (riding != nullptr) {
      riding->runs.assign(std::make_move_iterator(run.policies.begin() + static_cast<std::ptrdiff_t>(fresh.size())),
                          std::make_move_iterator(run.policies.end()));
      riding->bounds = run.bounds;
      riding->trace_s = run.trace_s;
      riding->wall_s = run.wall_s;
    }
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      const cost::ScheduleTotals& totals = run.policies[i].totals;
      memo_.emplace(fresh[i], totals);
      ++result_.evaluations;
      result_.evaluated.emplace_back(fresh[i].window, fraction_of(fresh[i].tenths), totals.total_time_s);
      if (result_.evaluations == 1 || totals.total_time_s < result_.best_total_time_s) {
        result_.best_window = fresh[i].window;
        result_.best_fraction = fraction_of(fresh[i].tenths);
        result_.best_total_time_s = totals.total_time_s;
        result_.best_totals = totals;
        result_.best_cpu_s = run.policies[i].cpu_s;
      }
    }
  }

  double time_s(const Knobs& k) const { return memo_.at(k).total_time_s; }

 private:
  const std::function<std::unique_ptr<trace::TraceSource>()>& make_source_;
  const cost::MemorySystem& memory_;
  const config::PolicyParams& start_;
  bool parallel_;
  SaTuningResult& result_;
  SaCompanions* companions_;  // until the first pass has taken them
  std::map<Knobs, cost::ScheduleTotals> memo_;
};

void check_options(const SaTuningOptions& o) {
  if (o.replicas == 0) throw std::invalid_argument("tune_sa_guided: replicas must be at least 1");
  if (o.w_max == 0) throw std::invalid_argument("tune_sa_guided: w_max must be at least 1");
  if (!(o.min_improvement >= 0)) throw std::invalid_argument("tune_sa_guided: min_improvement must be >= 0");
  if (!(o.coldest_ratio > 0 && o.coldest_ratio <= 1)) {
    throw std::invalid_argument("tune_sa_guided: coldest_ratio must be in (0, 1]");
  }
  if (!(o.max_wall_s >= 0)) throw std::invalid_argument("tune_sa_guided: max_wall_s must be >= 0");
}

// The hottest temperature from the first round's deltas against the start: 80 % of its uphill moves
// pass (paper). When every proposal went downhill, the same rule on the mean |delta| (the size of a
// typical move, which is what the paper's rule measures); 0.05 x the starting time only when nothing
// moved at all (a fixed share of the time would be far hotter than moves of 0.1 % need).
double first_t_max(const std::vector<double>& deltas, double start_time_s) {
  double uphill_sum = 0, size_sum = 0;
  std::size_t uphill = 0, moved = 0;
  for (double d : deltas) {
    if (d > 0) {
      uphill_sum += d;
      ++uphill;
    }
    if (d != 0) {
      size_sum += std::abs(d);
      ++moved;
    }
  }
  if (uphill > 0) return uphill_temperature(uphill_sum / static_cast<double>(uphill), kUphillAcceptance);
  if (moved > 0) return uphill_temperature(size_sum / static_cast<double>(moved), kUphillAcceptance);
  return kNoMoveTemperatureShare * std::abs(start_time_s) + 1e-30;
}

}  // namespace

SaTuningResult tune_sa_guided(const std::function<std::unique_ptr<trace::TraceSource>()>& make_source,
                              const cost::MemorySystem& memory, const config::PolicyParams& start,
                              const SaTuningOptions& options, SaCompanions* companions) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - t_start).count(); };
  check_options(options);

  SaTuningResult result;
  TemperingDiagnostics& d = result.diagnostics;
  Evaluator evaluator(make_source, memory, start, options.parallel, result, companions);
  const Knobs first{std::clamp<std::uint32_t>(start.sa_window, 1, options.w_max),
                    static_cast<std::uint32_t>(std::clamp<long>(std::lround(start.sa_fraction * 10.0), 1,
                                                                static_cast<long>(kMaxTenths)))};
  const std::size_t n = options.replicas;
  std::vector<Knobs> current(n, first);  // by state number; slots point into it through `exchange`
  std::vector<core::Rng> rngs;           // by slot
  for (std::size_t k = 0; k < n; ++k) rngs.emplace_back(core::derive_seed({options.seed, kStreamMoves, k}));
  std::optional<ReplicaExchange> exchange;  // the ladder needs the first round's deltas
  std::vector<double> energy(n, 0.0);       // by slot: time of the slot's current point
  std::vector<Knobs> proposal(n);
  std::vector<double> best_after;  // best_after[r]: best time after r rounds
  d.slot_moves_proposed.assign(n, 0);
  d.slot_moves_accepted.assign(n, 0);
  auto state_at = [&](std::size_t k) {
    return exchange ? exchange->state_at(k) : static_cast<std::uint32_t>(k);
  };
  auto record_start = [&] {
    d.initial_cost = evaluator.time_s(first);
    d.best_vs_moves.emplace_back(0, d.initial_cost);
    d.best_vs_time.emplace_back(0.0, d.initial_cost);
    best_after.push_back(d.initial_cost);
  };

  if (options.max_rounds == 0) {
    evaluator.evaluate({first});
    record_start();
    d.stop_reason = "rounds";
  }
  for (std::uint32_t round = 0; round < options.max_rounds;) {
    for (std::size_t k = 0; k < n; ++k) proposal[k] = propose(current[state_at(k)], options.w_max, rngs[k]);
    std::vector<Knobs> batch = proposal;
    if (round == 0) batch.insert(batch.begin(), first);  // the start rides along in the first pass
    evaluator.evaluate(batch);
    if (round == 0) {
      record_start();
      std::vector<double> deltas;
      for (const Knobs& p : proposal) deltas.push_back(evaluator.time_s(p) - d.initial_cost);
      const double t_max = first_t_max(deltas, d.initial_cost);
      // One replica is the paper's single chain, which starts at the 80 % temperature.
      const double t_min = n == 1 ? t_max : t_max * options.coldest_ratio;
      exchange.emplace(geometric_ladder(t_min, t_max, options.replicas), options.seed);
      energy.assign(n, d.initial_cost);
    }
    for (std::size_t k = 0; k < n; ++k) {
      ++d.slot_moves_proposed[k];
      Knobs& here = current[exchange->state_at(k)];
      if (proposal[k] == here) continue;  // no legal move was found: a rejected proposal
      const double time = evaluator.time_s(proposal[k]);
      if (metropolis_accept(time - energy[k], 1.0 / exchange->temperature(k), rngs[k])) {
        here = proposal[k];
        energy[k] = time;
        ++d.slot_moves_accepted[k];
        ++d.moves_accepted;
      }
    }
    d.moves_proposed += n;
    if (result.best_total_time_s < best_after.back()) {
      d.best_vs_moves.emplace_back(d.moves_proposed, result.best_total_time_s);
      d.best_vs_time.emplace_back(elapsed_s(), result.best_total_time_s);
    }
    exchange->exchange(round, energy);
    exchange->scale_temperatures(kCooling);
    ++round;
    best_after.push_back(result.best_total_time_s);
    if (round >= options.patience) {
      const double before = best_after[round - options.patience];
      if (before - result.best_total_time_s < options.min_improvement * before) {
        d.stop_reason = "patience";
        break;
      }
    }
    if (options.max_wall_s > 0 && elapsed_s() >= options.max_wall_s) {
      d.stop_reason = "wall";
      break;
    }
    if (round == options.max_rounds) d.stop_reason = "rounds";
  }

  result.rounds = static_cast<std::uint32_t>(best_after.size() - 1);
  d.rounds = result.rounds;
  d.best_cost = result.best_total_time_s;
  if (exchange) exchange->report(d);
  d.wall_s = elapsed_s();
  return result;
}

}  // namespace kvsweep::oracle
