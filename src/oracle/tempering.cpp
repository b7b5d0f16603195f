#include "kvsweep/oracle/tempering.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace kvsweep::oracle {

namespace {

// Initial gain of the ladder feedback (log-gap multiplier per unit of acceptance outside the band)
// and the clamp on one step. The gain decays as calls^-0.75 (a Robbins-Monro schedule: the steps sum
// to infinity, so the ladder can still travel, but their squares do not, so noise averages out).
constexpr double kAdaptGain = 4.0;
constexpr double kAdaptGainDecay = 0.75;
constexpr double kAdaptMaxFactor = 2.0;
// Swap statistics of older windows count half as much per window: adapt() is called every few
// rounds, when each pair has only a few fresh samples.
constexpr double kRecentDecay = 0.5;

void check_ladder(const std::vector<double>& t) {
  if (t.empty()) throw std::invalid_argument("tempering: the temperature ladder is empty");
  for (std::size_t k = 0; k < t.size(); ++k) {
    if (!(t[k] > 0) || !std::isfinite(t[k])) {
      throw std::invalid_argument("tempering: temperatures must be positive and finite");
    }
    if (k > 0 && t[k] < t[k - 1]) {
      throw std::invalid_argument("tempering: temperatures must be ordered coldest first");
    }
  }
}

}  // namespace

double uphill_temperature(double mean_uphill, double acceptance) {
  if (!(mean_uphill > 0) || !(acceptance > 0 && acceptance < 1)) {
    throw std::invalid_argument("uphill_temperature: need mean_uphill > 0 and 0 < acceptance < 1");
  }
  return -mean_uphill / std::log(acceptance);
}

std::vector<double> geometric_ladder(double t_min, double t_max, std::uint32_t n) {
  if (n == 0 || !(t_min > 0) || !(t_max >= t_min) || !std::isfinite(t_max)) {
    throw std::invalid_argument("geometric_ladder: need n > 0 and 0 < t_min <= t_max");
  }
  std::vector<double> t(n, t_min);
  if (n == 1) return t;
  const double log_ratio = std::log(t_max / t_min);
  for (std::uint32_t k = 1; k + 1 < n; ++k) {
    t[k] = t_min * std::exp(log_ratio * static_cast<double>(k) / static_cast<double>(n - 1));
  }
  t[n - 1] = t_max;  // exactly, not through exp(log(.))
  return t;
}

void validate(const TemperingOptions& o) {
  auto fail = [](const char* what) { throw std::invalid_argument(std::string("tempering: ") + what); };
  if (o.ladder.empty() && o.replicas == 0) fail("replicas must be at least 1");
  if (o.moves_per_round == 0) fail("moves_per_round must be at least 1");
  if (!(o.t_max >= 0) || !std::isfinite(o.t_max)) fail("t_max must be finite and >= 0");
  if (!(o.t_min >= 0) || !std::isfinite(o.t_min)) fail("t_min must be finite and >= 0");
  if (!(o.max_wall_s >= 0)) fail("max_wall_s must be >= 0");
  if (!(o.swap_low >= 0 && o.swap_low <= o.swap_high && o.swap_high <= 1)) {
    fail("need 0 <= swap_low <= swap_high <= 1");
  }
  if (!o.ladder.empty()) {
    check_ladder(o.ladder);
    for (std::size_t k = 1; k < o.ladder.size(); ++k) {
      if (!(o.ladder[k] > o.ladder[k - 1])) fail("an explicit ladder must be strictly increasing");
    }
  }
}

std::vector<double> resolve_ladder(const TemperingOptions& o, double probed_t_max) {
  if (!o.ladder.empty()) return o.ladder;
  double t_max = o.t_max > 0 ? o.t_max : probed_t_max;
  const double t_min = o.t_min > 0 ? o.t_min : t_max * 1e-4;
  t_max = std::max(t_max, t_min);
  return geometric_ladder(t_min, t_max, o.replicas);
}

ReplicaExchange::ReplicaExchange(std::vector<double> temperatures, std::uint64_t seed)
    : temperatures_(std::move(temperatures)), seed_(seed) {
  check_ladder(temperatures_);
  const std::size_t n = temperatures_.size();
  state_at_.resize(n);
  for (std::size_t k = 0; k < n; ++k) state_at_[k] = static_cast<std::uint32_t>(k);
  label_.assign(n, Label::kNone);
  const std::size_t pairs = n - 1;
  attempts_.assign(pairs, 0);
  accepted_.assign(pairs, 0);
  recent_samples_.assign(pairs, 0.0);
  recent_probability_.assign(pairs, 0.0);
  update_labels();
}

void ReplicaExchange::scale_temperatures(double factor) {
  if (!(factor > 0)) throw std::invalid_argument("ReplicaExchange: scale factor must be positive");
  for (double& t : temperatures_) t *= factor;
}

void ReplicaExchange::set_temperatures(std::vector<double> temperatures) {
  check_ladder(temperatures);
  if (temperatures.size() != temperatures_.size()) {
    throw std::invalid_argument("ReplicaExchange: a new ladder must keep the number of slots");
  }
  temperatures_ = std::move(temperatures);
}

void ReplicaExchange::exchange(std::uint64_t round, std::span<double> energy) {
  const std::size_t n = slots();
  if (energy.size() != n) throw std::invalid_argument("ReplicaExchange::exchange: one energy per slot");
  // log of the acceptance ratio of pair k; >= 0 when the colder slot holds the worse state.
  auto log_ratio = [&](std::size_t k) {
    return (1.0 / temperatures_[k] - 1.0 / temperatures_[k + 1]) * (energy[k] - energy[k + 1]);
  };
  // The ladder feedback averages the swap probability of every pair, attempted or not: far less noisy
  // than the 0/1 outcomes of the half of the pairs attempted this round.
  for (std::size_t k = 0; k + 1 < n; ++k) {
    recent_samples_[k] += 1.0;
    recent_probability_[k] += std::exp(std::min(0.0, log_ratio(k)));
  }
  core::Rng rng(core::derive_seed({seed_, kStreamSwaps, round}));
  for (std::size_t k = round % 2; k + 1 < n; k += 2) {
    const double r = log_ratio(k);
    const double u = rng.uniform();  // drawn for every pair so the stream does not depend on energies
    ++attempts_[k];
    if (r >= 0 || u < std::exp(r)) {
      ++accepted_[k];
      std::swap(state_at_[k], state_at_[k + 1]);
      std::swap(energy[k], energy[k + 1]);
    }
  }
  update_labels();
}

void ReplicaExchange::update_labels() {
  const std::size_t n = slots();
  if (n < 2) return;
  Label& cold = label_[state_at_[0]];
  if (cold == Label::kFromHotAfterCold) ++round_trips_;
  cold = Label::kFromCold;
  Label& hot = label_[state_at_[n - 1]];
  if (hot == Label::kFromCold) {
    hot = Label::kFromHotAfterCold;
  } else if (hot == Label::kNone) {
    hot = Label::kFromHotOnly;
  }
}

void ReplicaExchange::adapt(double swap_low, double swap_high) {
  const std::size_t n = slots();
  if (n < 3) return;
  const std::size_t pairs = n - 1;
  const double log_t0 = std::log(temperatures_.front());
  const double span = std::log(temperatures_.back()) - log_t0;
  if (!(span > 0)) return;
  const double gain = kAdaptGain / std::pow(1.0 + static_cast<double>(adaptations_), kAdaptGainDecay);
  std::vector<double> gap(pairs);
  double total = 0;
  for (std::size_t k = 0; k < pairs; ++k) {
    gap[k] = std::log(temperatures_[k + 1]) - std::log(temperatures_[k]);
    // A pair squeezed to nothing could never grow back multiplicatively.
    gap[k] = std::max(gap[k], 1e-6 * span);
    if (recent_samples_[k] > 0) {
      const double a = recent_probability_[k] / recent_samples_[k];
      const double outside = a - std::clamp(a, swap_low, swap_high);  // < 0 too few swaps, > 0 too many
      gap[k] *= std::clamp(std::exp(gain * outside), 1.0 / kAdaptMaxFactor, kAdaptMaxFactor);
    }
    total += gap[k];
  }
  const double scale = span / total;
  double log_t = log_t0;
  for (std::size_t k = 1; k + 1 < n; ++k) {
    log_t += gap[k - 1] * scale;
    temperatures_[k] = std::exp(log_t);
  }
  for (std::size_t k = 0; k < pairs; ++k) {
    recent_samples_[k] *= kRecentDecay;
    recent_probability_[k] *= kRecentDecay;
  }
  ++adaptations_;
}

void ReplicaExchange::report(TemperingDiagnostics& d) const {
  d.temperatures = temperatures_;
  d.swap_attempts = attempts_;
  d.swap_acceptance.assign(attempts_.size(), 0.0);
  for (std::size_t k = 0; k < attempts_.size(); ++k) {
    if (attempts_[k] > 0)
      d.swap_acceptance[k] = static_cast<double>(accepted_[k]) / static_cast<double>(attempts_[k]);
  }
  d.round_trips = round_trips_;
}

}  // namespace kvsweep::oracle
