#pragma once
// A generic parallel-tempering (replica-exchange) annealer. It knows nothing of KV caches or MPI:
// a Problem supplies states, their costs and random moves; the engine runs R replicas on a
// temperature ladder, moves them in parallel with oneTBB, swaps neighbours in deterministic even/odd
// rounds, adapts the ladder, and keeps the best state seen at the end of a round.
// The engine itself, temper(), is the template in oracle/tempering_engine.hpp; this header holds the
// options, the results and the pieces shared with the (W, R) tuner of oracle/sa_tuning.hpp.
//
// Determinism: replica slot k draws from core::Rng(derive_seed({seed, kStreamMoves, k})) and the swap
// round r from derive_seed({seed, kStreamSwaps, r}); nothing depends on threads, so the same seed gives
// bit-identical results with 1 or N TBB threads (unless max_wall_s stops it early).
//
// Problem concept (all const member functions must be thread-safe; State is copyable):
//   using State = ...;
//   double cost(const State& s) const;
//   // Proposes one random move on s and computes its cost delta; if accept(delta) returns true the
//   // move is applied to s. Returns what happened.
//   template <class Accept> MoveOutcome step(State& s, core::Rng& rng, Accept&& accept) const;
// step() must leave s unchanged when accept returns false (the temperature probe relies on it), and
// must call accept at most once per call.

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kvsweep/core/rng.hpp"

namespace kvsweep::oracle {

// Purposes of the random streams, the second part of every derive_seed() key.
inline constexpr std::uint64_t kStreamMoves = 0x6d6f766573;  // per temperature slot: moves, Metropolis
inline constexpr std::uint64_t kStreamSwaps = 0x7377617073;  // per round: neighbour swaps
inline constexpr std::uint64_t kStreamProbe = 0x70726f6265;  // the initial-temperature probe

struct MoveOutcome {
  bool proposed = false;  // false: no legal move was found this time (counts as a rejected proposal)
  bool accepted = false;
  double delta = 0;  // cost change, when proposed
  std::uint8_t kind = 0;  // which of the problem's move_kinds() it was (always 0 without any)
};

// Per move kind, over all replicas and temperatures: proposals (refused ones included), accepted
// moves, and the summed cost decrease of the accepted downhill ones.
struct MoveKindStats {
  std::string name;
  std::uint64_t proposed = 0;
  std::uint64_t accepted = 0;
  double improvement = 0;
};

struct TemperingOptions {
  std::uint32_t replicas = 8;
  double t_max = 0;                       // hottest temperature; 0: chosen so ~80 % of uphill moves pass
  double t_min = 0;                       // coldest; 0: t_max * 1e-4
  std::uint64_t moves_per_round = 20000;  // per replica, between swap rounds
  std::uint64_t max_moves = 100000000;    // proposals over all replicas
  double max_wall_s = 0;                  // 0: no wall-clock limit (a limit makes results timing-dependent)
  std::uint32_t patience_rounds = 100;    // stop after this many rounds without a better best
  bool adapt_ladder = true;  // move temperatures so neighbour swaps land in [swap_low, swap_high]
  double swap_low = 0.2;
  double swap_high = 0.4;
  std::uint64_t seed = 1;
  bool parallel = true;  // false: replicas one after another on the calling thread
  // An explicit ladder, coldest first, strictly increasing and positive: when not empty it replaces
  // replicas, t_min and t_max (a ladder adapted by one run can be reused by the next).
  std::vector<double> ladder;
};

struct TemperingDiagnostics {
  std::vector<double> temperatures;          // final ladder, coldest first
  std::vector<double> swap_acceptance;       // per neighbour pair (k, k+1), over the whole run
  std::vector<std::uint64_t> swap_attempts;  // per neighbour pair
  std::uint64_t round_trips = 0;             // cold -> hot -> cold journeys completed by any state
  std::uint64_t moves_proposed = 0;
  std::uint64_t moves_accepted = 0;
  std::vector<std::uint64_t> slot_moves_proposed;  // per temperature slot; sums to moves_proposed
  std::vector<std::uint64_t> slot_moves_accepted;  // per temperature slot; sums to moves_accepted
  std::vector<MoveKindStats> move_kinds;           // empty when the problem does not name its moves
  std::uint32_t rounds = 0;
  std::string stop_reason;  // "moves", "wall", "patience"; the tuner adds "rounds"
  double wall_s = 0;
  double initial_cost = 0;
  double best_cost = 0;
  // (proposals so far, best) and (seconds, best): the first entry is the initial state, then one
  // entry per improvement.
  std::vector<std::pair<std::uint64_t, double>> best_vs_moves;
  std::vector<std::pair<double, double>> best_vs_time;
};

template <class State>
struct TemperingResult {
  State best;
  double best_cost = 0;
  TemperingDiagnostics diagnostics;
};

// Metropolis at inverse temperature inv_t: downhill always; uphill with probability exp(-delta/T).
// The uniform is drawn only for uphill moves. Shared by temper() and the tuner so both accept alike.
// Past x = 37, exp(-x) < 2^-53, the smallest step of uniform(): only u = 0 passes, and the answer is
// the same without the exponential (which underflows slowly through libm's error path). The uniform is
// still drawn, so the random stream, and with it every result, is what exp() would have given.
inline bool metropolis_accept(double delta, double inv_t, core::Rng& rng) {
  if (delta <= 0) return true;
  const double x = delta * inv_t;
  const double u = rng.uniform();
  return x > 37.0 ? u == 0.0 : u < std::exp(-x);
}

// The temperature at which an uphill move of size mean_uphill > 0 passes with probability
// `acceptance` (the paper's initial temperature uses 0.8): -mean_uphill / ln(acceptance).
double uphill_temperature(double mean_uphill, double acceptance = 0.8);

// t_min * (t_max / t_min)^(k / (n - 1)), k = 0..n-1; one slot holds t_min. Throws std::invalid_argument
// unless 0 < t_min <= t_max and n > 0.
std::vector<double> geometric_ladder(double t_min, double t_max, std::uint32_t n);

// Throws std::invalid_argument naming the first bad field (replicas or moves_per_round 0, negative or
// non-finite temperatures, swap band outside 0 <= swap_low <= swap_high <= 1, a bad explicit ladder).
void validate(const TemperingOptions& options);

// The ladder temper() runs: options.ladder when given; else geometric over options.replicas slots
// from t_min to t_max, where t_max = options.t_max, or `probed_t_max` when options.t_max is 0, and
// t_min = options.t_min, or t_max * 1e-4 when 0. A t_max below t_min is raised to t_min.
std::vector<double> resolve_ladder(const TemperingOptions& options, double probed_t_max);

// The exchange half of parallel tempering, shared by temper() and tune_sa_guided(): which state sits
// in which temperature slot, neighbour swaps, round trips, swap statistics and ladder adaptation.
// States are numbered 0..n-1 and start in the slot of the same number. Not thread-safe; O(n) per call.
class ReplicaExchange {
 public:
  // `temperatures`: coldest first, positive, non-decreasing (throws std::invalid_argument otherwise).
  ReplicaExchange(std::vector<double> temperatures, std::uint64_t seed);

  std::size_t slots() const { return temperatures_.size(); }
  const std::vector<double>& temperatures() const { return temperatures_; }
  double temperature(std::size_t slot) const { return temperatures_[slot]; }
  std::uint32_t state_at(std::size_t slot) const { return state_at_[slot]; }

  // Multiplies every temperature by `factor` > 0 (the tuner's geometric cooling).
  void scale_temperatures(double factor);
  // Replaces the ladder (same size and rules as the constructor); swap statistics are kept.
  void set_temperatures(std::vector<double> temperatures);

  // The swap phase of round `round`: pairs (k, k+1) with k of the round's parity, each swapped with
  // probability min(1, exp((1/T_k - 1/T_k+1)(E_k - E_k+1))), one uniform from the round's stream per
  // pair. `energy[k]` is the cost of the state in slot k; it is permuted along with the states.
  void exchange(std::uint64_t round, std::span<double> energy);

  // Feedback on the ladder from the swaps since the previous call (older ones decayed): log-gaps of
  // pairs whose mean swap probability is below swap_low shrink, of those above swap_high grow, then all are
  // rescaled so that the coldest and hottest temperatures stay put. The gain decays with every call so the
  // ladder settles. Deterministic: it uses only energies seen at swap phases. Does nothing with fewer than 3
  // slots.
  void adapt(double swap_low, double swap_high);

  std::uint64_t round_trips() const { return round_trips_; }
  // Fills temperatures, swap_acceptance, swap_attempts and round_trips.
  void report(TemperingDiagnostics& d) const;

 private:
  enum class Label : std::uint8_t { kNone, kFromCold, kFromHotAfterCold, kFromHotOnly };
  void update_labels();

  std::vector<double> temperatures_;
  std::uint64_t seed_;
  std::vector<std::uint32_t> state_at_;             // slot -> state
  std::vector<Label> label_;                        // state -> the last end it touched
  std::vector<std::uint64_t> attempts_, accepted_;  // per pair, whole run
  // Per pair, decayed, for adapt(): rounds seen and the sum of min(1, exp(log ratio)) over them.
  std::vector<double> recent_samples_, recent_probability_;
  std::uint64_t round_trips_ = 0;
  std::uint32_t adaptations_ = 0;
};

}  // namespace kvsweep::oracle
