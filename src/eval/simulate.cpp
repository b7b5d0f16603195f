#include "kvsweep/eval/simulate.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <chrono>

namespace kvsweep::eval {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Ring of look-ahead steps: slot (n - P) % size holds S(n, ·) and its counts.
class TraceRing {
 public:
  TraceRing(const trace::TraceShape& shape, std::uint32_t slots)
      : shape_(shape), slots_(slots),
        rows_(static_cast<std::size_t>(slots) * shape.layers, core::TokenBitset(shape.total_tokens())),
        counts_(static_cast<std::size_t>(slots) * shape.layers, 0) {}

  void fill(trace::TraceSource& source, std::uint32_t n) {
    const std::size_t base = slot(n) * shape_.layers;
    std::span<core::TokenBitset> out(rows_.data() + base, shape_.layers);
    source.read_step(n, out);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      counts_[base + l] = static_cast<std::uint32_t>(rows_[base + l].count_below(n));
    }
  }
  // Window at n with `available` future steps.
  void view(std::uint32_t n, std::uint32_t available, std::vector<const core::TokenBitset*>& rows,
            std::vector<std::uint32_t>& counts) const {
    rows.resize(static_cast<std::size_t>(available + 1) * shape_.layers);
    counts.resize(rows.size());
    for (std::uint32_t k = 0; k <= available; ++k) {
      const std::size_t base = slot(n + k) * shape_.layers;
      for (std::uint32_t l = 0; l < shape_.layers; ++l) {
        rows[static_cast<std::size_t>(k) * shape_.layers + l] = &rows_[base + l];
        counts[static_cast<std::size_t>(k) * shape_.layers + l] = counts_[base + l];
      }
    }
  }
  std::span<const core::TokenBitset> step(std::uint32_t n) const {
    return {rows_.data() + slot(n) * shape_.layers, shape_.layers};
  }
  std::span<const std::uint32_t> step_counts(std::uint32_t n) const {
    return {counts_.data() + slot(n) * shape_.layers, shape_.layers};
  }

 private:
  std::size_t slot(std::uint32_t n) const { return (n - shape_.prompt_tokens) % slots_; }
  trace::TraceShape shape_;
  std::uint32_t slots_;
  std::vector<core::TokenBitset> rows_;
  std::vector<std::uint32_t> counts_;
};

}  // namespace

SimulationResult simulate(trace::TraceSource& source, const cost::MemorySystem& memory,
                          std::vector<std::unique_ptr<policy::Policy>>& policies,
                          const SimulationOptions& options,
                          std::vector<std::vector<cost::StepRecord>>* records) {
  const auto t_start = Clock::now();
  const trace::TraceShape shape = source.shape();
  const std::uint32_t first = shape.prompt_tokens;
  const std::uint32_t end = shape.total_tokens();
  std::uint32_t lookahead = 0;
  for (const auto& p : policies) lookahead = std::max(lookahead, p->lookahead());
  lookahead = std::min(lookahead, shape.decode_tokens - 1);
  // One more slot than the window so that step n + lookahead + 1 is read while step n is decided.
  TraceRing ring(shape, lookahead + 2);

  SimulationResult result;
  std::vector<cost::Judge> judges;
  std::vector<cost::Residency> residency;
  for (const auto& p : policies) {
    judges.emplace_back(memory, shape, p->respects_capacity());
    judges.back().record_steps(options.record_steps);
    residency.emplace_back(shape.layers, shape.total_tokens());
    result.policies.push_back({std::string(p->name()), {}, 0.0});
  }
  bound::BoundAccumulator bounds(memory);

  auto t0 = Clock::now();
  for (std::uint32_t n = first; n < std::min(end, first + lookahead + 1); ++n) ring.fill(source, n);
  result.trace_s += seconds_since(t0);

  const std::size_t count = policies.size();
  auto run_policies = [&](auto&& body) {
    if (options.parallel) {
      tbb::parallel_for(std::size_t{0}, count, body);
    } else {
      for (std::size_t i = 0; i < count; ++i) body(i);
    }
  };

  // Prefill placement.
  {
    std::vector<const core::TokenBitset*> rows;
    std::vector<std::uint32_t> counts;
    const std::uint32_t available = std::min(lookahead, end - 1 - first);
    ring.view(first, available, rows, counts);
    const policy::StepWindow window(first, available, shape, rows, counts);
    run_policies([&](std::size_t i) {
      const auto t = Clock::now();
      policies[i]->place_prefill(window, residency[i]);
      judges[i].begin(residency[i]);
      if (options.observer) options.observer(i, first - 1, residency[i]);
      result.policies[i].cpu_s += seconds_since(t);
    });
  }

  std::vector<const core::TokenBitset*> rows;
  std::vector<std::uint32_t> counts;
  for (std::uint32_t n = first; n < end; ++n) {
    const std::uint32_t available = std::min(lookahead, end - 1 - n);
    ring.view(n, available, rows, counts);
    const policy::StepWindow window(n, available, shape, rows, counts);
    const std::uint32_t next = n + lookahead + 1;
    auto decide = [&] {
      run_policies([&](std::size_t i) {
        const auto t = Clock::now();
        policies[i]->step(window, residency[i]);
        judges[i].score_step(n, ring.step(n), residency[i]);
        if (options.observer) options.observer(i, n, residency[i]);
        result.policies[i].cpu_s += seconds_since(t);
      });
      bounds.add_step(ring.step_counts(n));
    };
    if (next < end && options.parallel) {
      double read_s = 0;
      tbb::task_group group;
      group.run([&] {
        const auto t = Clock::now();
        ring.fill(source, next);
        read_s = seconds_since(t);
      });
      decide();
      group.wait();
      result.trace_s += read_s;
    } else {
      decide();
      if (next < end) {
        const auto t = Clock::now();
        ring.fill(source, next);
        result.trace_s += seconds_since(t);
      }
    }
    if (options.progress) options.progress(n - first + 1, shape.decode_tokens);
  }

  for (std::size_t i = 0; i < count; ++i) {
    result.policies[i].totals = judges[i].totals();
    if (records != nullptr) records->push_back(judges[i].records());
  }
  result.bounds = bounds.totals();
  result.wall_s = seconds_since(t_start);
  return result;
}

}  // namespace kvsweep::eval
