#include "kvsweep/sim/simulate.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <string>

namespace kvsweep::sim {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the calling thread: what a policy's task really cost, even on a loaded machine.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Ring of look-ahead steps: slot (n - P) % size holds S(n, ·) and its counts.
class TraceRing {
 public:
  TraceRing(const trace::TraceShape& shape, std::uint32_t slots)
      : shape_(shape), slots_(slots),
        rows_(static_cast<std::size_t>(slots) * shape.layers, core::TokenBitset(shape.space())),
        counts_(static_cast<std::size_t>(slots) * shape.layers, 0) {}

  void fill(trace::TraceSource& source, std::uint32_t n) {
    const std::size_t base = slot(n) * shape_.layers;
    std::span<core::TokenBitset> out(rows_.data() + base, shape_.layers);
    source.read_step(n, out);
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      // A batch reads in every segment; a lone sequence only below n.
      counts_[base + l] = static_cast<std::uint32_t>(shape_.batched() ? rows_[base + l].count() : rows_[base + l].count_below(n));
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
  if (shape.prompt_tokens == 0 || shape.decode_tokens == 0 || shape.layers == 0) {
    // Trace readers refuse such shapes; a policy would index R(P - 1) or the window past its end.
    throw std::invalid_argument(
        "simulate: P, D and L must be at least 1, got P = " + std::to_string(shape.prompt_tokens) +
        ", D = " + std::to_string(shape.decode_tokens) + ", L = " + std::to_string(shape.layers));
  }
  const std::uint32_t first = shape.prompt_tokens;
  const std::uint32_t end = shape.total_tokens();
  std::uint32_t lookahead = 0;
  for (const auto& p : policies) {
    if (p->information() == policy::Information::kOnline && p->lookahead() != 0) {
      throw std::logic_error("simulate: policy " + std::string(p->name()) + " is online but asks for look-ahead");
    }
    lookahead = std::max(lookahead, p->lookahead());
  }
  lookahead = std::min(lookahead, shape.decode_tokens - 1);
  // Steps are handled in chunks: each policy runs a whole chunk in one task (its state stays in cache
  // and the tasks balance over the cores), while the trace of the next chunk is produced.
  const std::uint32_t chunk = std::max<std::uint32_t>(1, options.chunk_steps);
  TraceRing ring(shape, 2 * chunk + lookahead);

  SimulationResult result;
  std::vector<cost::Judge> judges;
  std::vector<cost::Residency> residency;
  for (const auto& p : policies) {
    judges.emplace_back(memory, shape, p->respects_capacity());
    judges.back().record_steps(options.record_steps);
    residency.emplace_back(shape.layers, shape.space());
    result.policies.push_back({std::string(p->name()), {}, 0.0});
  }
  bound::BoundAccumulator bounds(memory);

  // Wall time: the source may use several threads.
  auto fill = [&](std::uint32_t from, std::uint32_t to) {
    const auto t = Clock::now();
    for (std::uint32_t n = from; n < to; ++n) ring.fill(source, n);
    return seconds_since(t);
  };
  std::uint32_t filled = std::min(end, first + chunk + lookahead);
  result.trace_s += fill(first, filled);

  // Policies differ tenfold in cost, so a chunk's tasks are handed out greedily, dearest first (by the
  // CPU time each took in the previous chunk): the longest policy starts at once and the cheap ones
  // fill in around it and around the trace reader. The order never changes a result.
  const std::size_t count = policies.size();
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  std::vector<double> last_cpu_s(count, 0.0);
  auto run_policies = [&](auto&& body) {
    if (!options.parallel) {
      for (std::size_t i = 0; i < count; ++i) body(i);
      return;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return last_cpu_s[a] > last_cpu_s[b]; });
    std::atomic<std::size_t> next{0};
    const std::size_t workers = std::min<std::size_t>(count, tbb::this_task_arena::max_concurrency());
    tbb::parallel_for(
        std::size_t{0}, workers,
        [&](std::size_t) {
          for (std::size_t k = next++; k < count; k = next++) body(order[k]);
        },
        tbb::simple_partitioner{});
  };
  // Each policy sees what it asked for and no more (its information contract: policy.hpp).
  auto window_at = [&](std::size_t i, std::uint32_t n, std::vector<const core::TokenBitset*>& rows,
                       std::vector<std::uint32_t>& counts) {
    const std::uint32_t available = std::min({policies[i]->lookahead(), lookahead, end - 1 - n});
    ring.view(n, available, rows, counts);
    return policy::StepWindow(n, available, shape, rows, counts);
  };

  // Prefill placement: R(P-1, ·) may look at S(P, ·) onwards; an online policy at nothing.
  run_policies([&](std::size_t i) {
    const double t = thread_cpu_s();
    std::vector<const core::TokenBitset*> rows;
    std::vector<std::uint32_t> counts;
    const bool online = policies[i]->information() == policy::Information::kOnline;
    policies[i]->place_prefill(online ? policy::StepWindow::blind(first, shape, rows, counts) : window_at(i, first, rows, counts),
                               residency[i]);
    judges[i].begin(residency[i]);
    if (options.observer) options.observer(i, first - 1, residency[i], {});
    result.policies[i].cpu_s += thread_cpu_s() - t;
  });

  for (std::uint32_t c0 = first; c0 < end; c0 += chunk) {
    const std::uint32_t c1 = std::min(end, c0 + chunk);
    const std::uint32_t fill_to = std::min(end, c1 + chunk + lookahead);
    auto decide = [&] {
      run_policies([&](std::size_t i) {
        const double t = thread_cpu_s();
        std::vector<const core::TokenBitset*> rows;
        std::vector<std::uint32_t> counts;
        for (std::uint32_t n = c0; n < c1; ++n) {
          policies[i]->step(window_at(i, n, rows, counts), residency[i]);
          judges[i].score_step(n, ring.step(n), residency[i]);
          if (options.observer) options.observer(i, n, residency[i], ring.step(n));
        }
        last_cpu_s[i] = thread_cpu_s() - t;
        result.policies[i].cpu_s += last_cpu_s[i];
      });
    };
    if (options.parallel && fill_to > filled) {
      double read_s = 0;
      tbb::task_group group;
      group.run([&] { read_s = fill(filled, fill_to); });
      decide();
      group.wait();
      result.trace_s += read_s;
    } else {
      decide();
      result.trace_s += fill(filled, fill_to);
    }
    for (std::uint32_t n = c0; n < c1; ++n) bounds.add_step(ring.step_counts(n));
    filled = std::max(filled, fill_to);
    if (options.progress) options.progress(c1 - first, shape.decode_tokens);
  }

  for (std::size_t i = 0; i < count; ++i) {
    result.policies[i].totals = judges[i].totals();
    if (records != nullptr) records->push_back(judges[i].records());
  }
  result.bounds = bounds.totals();
  result.wall_s = seconds_since(t_start);
  return result;
}

}  // namespace kvsweep::sim
