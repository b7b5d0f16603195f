#pragma once
// What the Lagrangian bound's tests share: a trace's reads as the bound sweeps them, the two simple
// bounds over them, and random feasible dual points.

#include <cstdint>
#include <random>
#include <vector>

#include "kvsweep/bound/bounds.hpp"
#include "kvsweep/bound/lagrangian.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::testing {

inline bound::BoundTotals bounds_of(const bound::StepMajorReads& reads, const cost::MemorySystem& m) {
  bound::BoundAccumulator acc(m);
  std::vector<std::uint32_t> s(reads.shape().layers);
  for (std::uint32_t j = 0; j < reads.shape().decode_tokens; ++j) {
    for (std::uint32_t l = 0; l < reads.shape().layers; ++l) s[l] = reads.count(j, l);
    acc.add_step(s);
  }
  return acc.totals();
}

inline bound::StepMajorReads reads_of(const trace::ExplicitTrace& trace) {
  auto source = trace::make_explicit_source(trace);
  return bound::StepMajorReads(*source);
}

// A random feasible dual point: weights on the simplex's inside, capacity prices up to r_lr.
inline bound::LagrangianDuals random_duals(const bound::StepMajorReads& reads, const cost::MemorySystem& m,
                                           std::mt19937_64& rng) {
  bound::LagrangianDuals d = bound::zero_duals(reads);
  std::uniform_real_distribution<double> u(0, 1);
  for (std::size_t k = 0; k < d.hbm.size(); ++k) {
    double a = u(rng), b = u(rng), c = u(rng) * 0.3, rest = u(rng);
    const double sum = a + b + c + rest;
    d.hbm[k] = a / sum;
    d.link[k] = b / sum;
    d.dram[k] = c / sum;
  }
  for (double& c : d.capacity) c = u(rng) * m.hbm_bw / m.link_read_bw;
  return d;
}

}  // namespace kvsweep::testing
