#include "support/checker.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>
#include <cmath>
#include <memory>
#include <optional>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/bound/lagrangian.hpp"
#include "kvsweep/sim/simulate.hpp"

namespace kvsweep::testing {

namespace {

// T(n, l) from docs/cost-model.md's formulas, written out again. With balanced reads, x of the hits are read
// from DRAM's copy (with mirrored weights, also up to W / e entries' worth of weight bytes): T(x) is the
// maximum of four lines in x, so its minimum over [0, cap] lies at an end or where two lines cross; every
// candidate is tried (no closed form, unlike cost_model.hpp).
// A batch writes B new entries per step (writes), and with a per-transfer cost O each block crossing
// towards the GPU adds O to link-read, each write O to link-write; DRAM's term carries no O.
double independent_step_time(const cost::MemorySystem& m, double reads, double hits, double a1, double a2,
                             double beta, double writes = 1, double transfers = 0) {
  const double e = m.kv_entry_bytes;
  const double o = m.transfer_overhead_bytes;
  auto at = [&](double x) {
    const double hbm = m.weight_bytes_per_layer + e * (hits - x + a1 + a2 + beta);
    const double link_read = e * (reads - hits + x + a2) + o * transfers;
    const double link_write = (e + o) * writes;
    const double dram = e * (reads - hits + x + a2) + e * writes;
    return std::max({hbm / m.hbm_bw, link_read / m.link_read_bw, link_write / m.link_write_bw, dram / m.dram_bw});
  };
  const bool mirrored = m.weights_in_dram == config::WeightsInDram::kMirror;
  const double cap = hits + (mirrored ? m.weight_bytes_per_layer / e : 0.0);
  if (m.hbm_reads == config::HbmReads::kResident || cap == 0) return at(0);
  // Line i: a[i] + b[i] x, in seconds.
  const double w = m.weight_bytes_per_layer;
  const double a[4] = {(w + e * (hits + a1 + a2 + beta)) / m.hbm_bw,
                       (e * (reads - hits + a2) + o * transfers) / m.link_read_bw, (e + o) * writes / m.link_write_bw,
                       e * (reads - hits + a2 + writes) / m.dram_bw};
  const double b[4] = {-e / m.hbm_bw, e / m.link_read_bw, 0, e / m.dram_bw};
  double best = std::min(at(0), at(cap));
  for (int i = 0; i < 4; ++i) {
    for (int j = i + 1; j < 4; ++j) {
      if (b[i] == b[j]) continue;
      const double x = (a[j] - a[i]) / (b[i] - b[j]);
      if (x > 0 && x < cap) best = std::min(best, at(x));
    }
  }
  return best;
}

// Adds one (step, layer) to a checked schedule: its time and its counts.
void tally(CheckResult& r, const cost::MemorySystem& m, double reads, double hits, double a1, double a2, double beta,
           double writes = 1, double transfers = 0) {
  r.total_time_s += independent_step_time(m, reads, hits, a1, a2, beta, writes, transfers);
  r.reads += static_cast<std::uint64_t>(reads);
  r.hits += static_cast<std::uint64_t>(hits);
  r.piggyback += static_cast<std::uint64_t>(a1);
  r.prefetch += static_cast<std::uint64_t>(a2);
  r.kept_new += static_cast<std::uint64_t>(beta);
}

// Where each sequence of a batch sits, computed here from docs/design/batches.md's rule rather than taken
// from TraceShape::base: segments in order, each starting on a multiple of max(64, k); a lone sequence
// at 0.
struct Layout {
  std::uint32_t batch, block, decode;
  std::vector<std::uint32_t> prompts, base;
};
Layout layout_of(const trace::TraceShape& sh) {
  Layout lay{sh.prompts.empty() ? 1U : static_cast<std::uint32_t>(sh.prompts.size()), sh.block_tokens,
             sh.decode_tokens, {}, {}};
  const std::uint32_t align = std::max<std::uint32_t>(64, lay.block);
  for (std::uint32_t b = 0, at = 0; b < lay.batch; ++b) {
    lay.prompts.push_back(sh.prompts.empty() ? sh.prompt_tokens : sh.prompts[b]);
    lay.base.push_back(lay.batch == 1 ? 0 : at);
    at = (lay.base[b] + lay.prompts[b] + lay.decode + align - 1) / align * align;
  }
  return lay;
}

// A batch or blocks, written in (sequence, token) terms: position p of a layer is token p - base_b of
// the sequence b whose segment holds it; segments start on multiples of max(64, k) (docs/cost-model.md).
CheckResult check_batch_schedule(const trace::ExplicitTrace& trace, const cost::MemorySystem& m,
                                 const Schedule& schedule, bool enforce_capacity) {
  CheckResult r;
  const auto& sh = trace.shape;
  auto fail = [&](std::string why) {
    r.ok = false;
    r.problem = std::move(why);
    return r;
  };
  const Layout lay = layout_of(sh);
  const std::uint32_t B = lay.batch, k = lay.block, D = lay.decode;
  const std::vector<std::uint32_t>&P = lay.prompts, &base = lay.base;
  struct Token {
    std::uint32_t b, t;
    bool operator<(const Token& o) const { return b != o.b ? b < o.b : t < o.t; }
  };
  auto token_of = [&](std::uint32_t p) -> std::optional<Token> {
    for (std::uint32_t b = 0; b < B; ++b) {
      if (p >= base[b] && p < base[b] + P[b] + D) return Token{b, p - base[b]};
    }
    return std::nullopt;
  };
  auto tokens_of = [&](const std::set<std::uint32_t>& positions, std::set<Token>& out) {
    for (std::uint32_t p : positions) {
      const auto t = token_of(p);
      if (!t) return false;
      out.insert(*t);
    }
    return true;
  };
  if (schedule.size() != D + 1) return fail("schedule has the wrong number of steps");
  // State i (0: after prefill) holds tokens t < P_b + i of each sequence b.
  std::vector<std::vector<std::set<Token>>> states(D + 1, std::vector<std::set<Token>>(sh.layers));
  for (std::uint32_t i = 0; i <= D; ++i) {
    std::uint64_t held = 0;
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      if (!tokens_of(schedule[i][l], states[i][l])) return fail("a position outside every sequence is resident");
      std::set<std::pair<std::uint32_t, std::uint32_t>> blocks;
      for (const Token& t : states[i][l]) {
        if (t.t >= P[t.b] + i) return fail("future token resident in state " + std::to_string(i));
        blocks.insert({t.b, t.t / k});
      }
      for (const auto& [b, j] : blocks) {
        for (std::uint32_t t = j * k; t < std::min((j + 1) * k, P[b] + i); ++t) {
          if (!states[i][l].count({b, t})) return fail("part of a block resident in state " + std::to_string(i));
        }
      }
      held += std::uint64_t{k} * blocks.size();
    }
    if (enforce_capacity && held > m.capacity_entries) return fail("capacity exceeded in state " + std::to_string(i));
  }
  for (std::uint32_t i = 1; i <= D; ++i) {
    const std::uint32_t n = sh.prompt_tokens + i - 1;
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      const auto& before = states[i - 1][l];
      const auto& after = states[i][l];
      std::set<Token> s;
      if (!tokens_of({trace.reads(n, l).begin(), trace.reads(n, l).end()}, s)) return fail("a read outside every sequence");
      double hits = 0, a1 = 0, a2 = 0, beta = 0;
      std::set<std::pair<std::uint32_t, std::uint32_t>> crossing;
      for (const Token& t : s) {
        if (t.t >= P[t.b] + i - 1) return fail("a read of a token that does not exist yet");
        if (before.count(t)) {
          hits += 1;
        } else {
          crossing.insert({t.b, t.t / k});
        }
      }
      for (const Token& t : after) {
        if (t.t == P[t.b] + i - 1) {  // the sequence's new token
          beta += 1;
          continue;
        }
        if (before.count(t)) continue;
        (s.count(t) ? a1 : a2) += 1;
        crossing.insert({t.b, t.t / k});
      }
      const double transfers = m.transfer_overhead_bytes != 0 ? static_cast<double>(crossing.size()) : 0.0;
      tally(r, m, static_cast<double>(s.size()), hits, a1, a2, beta, B, transfers);
    }
  }
  return r;
}

}  // namespace

CheckResult check_schedule(const trace::ExplicitTrace& trace, const cost::MemorySystem& m,
                           const Schedule& schedule, bool enforce_capacity) {
  if (!trace.shape.prompts.empty() || trace.shape.block_tokens > 1 || m.transfer_overhead_bytes != 0) {
    return check_batch_schedule(trace, m, schedule, enforce_capacity);
  }
  CheckResult r;
  const auto& sh = trace.shape;
  auto fail = [&](std::string why) {
    r.ok = false;
    r.problem = std::move(why);
    return r;
  };
  if (schedule.size() != sh.decode_tokens + 1) return fail("schedule has the wrong number of steps");
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    const std::uint32_t n = sh.prompt_tokens - 1 + static_cast<std::uint32_t>(i);
    std::size_t total = 0;
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      for (std::uint32_t t : schedule[i][l]) {
        if (t > n) return fail("future token " + std::to_string(t) + " resident after step " + std::to_string(n));
      }
      total += schedule[i][l].size();
    }
    if (enforce_capacity && total > m.capacity_entries) {
      return fail("capacity exceeded after step " + std::to_string(n));
    }
  }
  for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
    const std::size_t i = n - sh.prompt_tokens + 1;
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      const auto& before = schedule[i - 1][l];
      const auto& after = schedule[i][l];
      const auto& reads = trace.reads(n, l);
      const std::set<std::uint32_t> s(reads.begin(), reads.end());
      double hits = 0, a1 = 0, a2 = 0;
      for (std::uint32_t t : s) hits += before.count(t) ? 1 : 0;
      for (std::uint32_t t : after) {
        if (t == n || before.count(t)) continue;
        (s.count(t) ? a1 : a2) += 1;
      }
      const double beta = after.count(n) ? 1 : 0;
      tally(r, m, static_cast<double>(s.size()), hits, a1, a2, beta);
    }
  }
  return r;
}

RecordedRun run_and_record(const std::string& name, const trace::ExplicitTrace& trace,
                           const cost::MemorySystem& m, const config::PolicyParams& params,
                           const policy::ResidencyPlan* given_plan) {
  policy::PolicyContext ctx{trace.shape, m, params, given_plan};
  // fm_dual follows the Lagrangian bound's paths, as kvsweep eval computes them (fewer passes).
  std::vector<core::Word> plan_bits;
  policy::ResidencyPlan plan;
  const bool needs_plan = name == "fm_dual" && given_plan == nullptr;
  if (needs_plan && (trace.shape.batched() || trace.shape.block_tokens > 1)) {
    // The Lagrangian bound has no batch paths yet: a hand-made plan over the batch's token space, state
    // i (R(P - 1 + i)) holding what step P + i reads.
    const std::size_t words = core::words_for(trace.shape.space());
    plan_bits.assign(static_cast<std::size_t>(trace.shape.layers) * trace.shape.decode_tokens * words, 0);
    plan = {plan_bits.data(), trace.shape.layers, trace.shape.decode_tokens, words};
    for (std::uint32_t l = 0; l < trace.shape.layers; ++l) {
      for (std::uint32_t i = 0; i < trace.shape.decode_tokens; ++i) {
        for (const std::uint32_t p : trace.reads(trace.shape.prompt_tokens + i, l)) {
          plan_bits[(static_cast<std::size_t>(l) * trace.shape.decode_tokens + i) * words + p / core::kWordBits] |=
              core::Word{1} << (p % core::kWordBits);
        }
      }
    }
    ctx.plan = &plan;
  } else if (needs_plan && trace.shape.decode_tokens > 0) {
    auto plan_source = trace::make_explicit_source(trace);
    const bound::StepMajorReads reads(*plan_source);
    bound::LagrangianOptions o;
    o.max_passes = 30;
    const bound::LagrangianResult r = bound::lagrangian_bound(reads, m, o);
    plan_bits = bound::lagrangian_paths(reads, m, r.best, false);
    plan = {plan_bits.data(), trace.shape.layers, trace.shape.decode_tokens, reads.words()};
    ctx.plan = &plan;
  }
  std::vector<std::unique_ptr<policy::Policy>> policies;
  policies.push_back(policy::make_policy(name, ctx));
  RecordedRun out;
  out.respects_capacity = policies[0]->respects_capacity();
  sim::SimulationOptions opt;
  opt.parallel = false;
  opt.observer = [&](std::size_t, std::uint32_t, const cost::Residency& r, std::span<const core::TokenBitset>) {
    std::vector<std::set<std::uint32_t>> step(r.layers());
    for (std::uint32_t l = 0; l < r.layers(); ++l) {
      r.layer(l).for_each([&](std::size_t t) { step[l].insert(static_cast<std::uint32_t>(t)); });
    }
    out.schedule.push_back(std::move(step));
  };
  auto source = trace::make_explicit_source(trace);
  const auto result = sim::simulate(*source, m, policies, opt);
  out.judged_time_s = result.policies[0].totals.total_time_s;
  out.judged_hits = result.policies[0].totals.hits;
  return out;
}

Schedule schedule_of(const oracle::ScheduleState& s, const oracle::OracleInstance& inst) {
  Schedule out;
  for (std::uint32_t i = 0; i < inst.states(); ++i) {
    const cost::Residency r = s.residency(i);
    std::vector<std::set<std::uint32_t>> step(r.layers());
    for (std::uint32_t l = 0; l < r.layers(); ++l) {
      r.layer(l).for_each([&](std::size_t t) { step[l].insert(static_cast<std::uint32_t>(t)); });
    }
    out.push_back(std::move(step));
  }
  return out;
}

namespace {

using Mask = std::uint32_t;

// T(n, l) for residency masks before/after, with the same formulas (a third, mask-based copy).
double step_cost(const cost::MemorySystem& m, Mask s, Mask before, Mask after, std::uint32_t n) {
  const Mask promoted = after & ~before & ~(Mask{1} << n);
  const double hits = std::popcount(s & before);
  const double a1 = std::popcount(promoted & s);
  const double a2 = std::popcount(promoted & ~s);
  const double beta = (after >> n) & 1U;
  return independent_step_time(m, std::popcount(s), hits, a1, a2, beta);
}

Mask to_mask(const std::vector<std::uint32_t>& tokens) {
  Mask x = 0;
  for (std::uint32_t t : tokens) x |= Mask{1} << t;
  return x;
}

}  // namespace

double exhaustive_optimum(const trace::ExplicitTrace& trace, const cost::MemorySystem& m) {
  const auto& sh = trace.shape;
  const double inf = std::numeric_limits<double>::infinity();
  const std::uint64_t cap = m.capacity_entries;
  if (sh.layers == 1) {
    // value[r] over masks r of tokens 0..n.
    std::vector<double> value(std::size_t{1} << sh.prompt_tokens, inf);
    for (Mask r = 0; r < value.size(); ++r) value[r] = static_cast<std::uint64_t>(std::popcount(r)) <= cap ? 0.0 : inf;
    for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
      const Mask s = to_mask(trace.reads(n, 0));
      std::vector<double> next(std::size_t{1} << (n + 1), inf);
      for (Mask c = 0; c < next.size(); ++c) {
        if (static_cast<std::uint64_t>(std::popcount(c)) > cap) continue;
        double best = inf;
        for (Mask p = 0; p < value.size(); ++p) {
          if (value[p] == inf) continue;
          best = std::min(best, value[p] + step_cost(m, s, p, c, n));
        }
        next[c] = best;
      }
      value = std::move(next);
    }
    return *std::min_element(value.begin(), value.end());
  }
  if (sh.layers != 2) throw std::invalid_argument("exhaustive_optimum: L must be 1 or 2");
  // value[p0 * size + p1]; two stages per step keep it at O(size^3) instead of O(size^4).
  std::size_t size = std::size_t{1} << sh.prompt_tokens;
  std::vector<double> value(size * size, inf);
  for (Mask a = 0; a < size; ++a) {
    for (Mask b = 0; b < size; ++b) {
      if (static_cast<std::uint64_t>(std::popcount(a) + std::popcount(b)) <= cap) value[a * size + b] = 0;
    }
  }
  for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
    const Mask s0 = to_mask(trace.reads(n, 0)), s1 = to_mask(trace.reads(n, 1));
    const std::size_t nsize = std::size_t{1} << (n + 1);
    // stage[c0 * size + p1] = min over p0 of value(p0, p1) + T0(p0, c0)
    std::vector<double> stage(nsize * size, inf);
    for (Mask c0 = 0; c0 < nsize; ++c0) {
      for (Mask p0 = 0; p0 < size; ++p0) {
        const double t0 = step_cost(m, s0, p0, c0, n);
        for (Mask p1 = 0; p1 < size; ++p1) {
          const double v = value[p0 * size + p1];
          if (v == inf) continue;
          double& d = stage[c0 * size + p1];
          d = std::min(d, v + t0);
        }
      }
    }
    std::vector<double> next(nsize * nsize, inf);
    for (Mask c0 = 0; c0 < nsize; ++c0) {
      for (Mask c1 = 0; c1 < nsize; ++c1) {
        if (static_cast<std::uint64_t>(std::popcount(c0) + std::popcount(c1)) > cap) continue;
        double best = inf;
        for (Mask p1 = 0; p1 < size; ++p1) {
          const double a = stage[c0 * size + p1];
          if (a == inf) continue;
          best = std::min(best, a + step_cost(m, s1, p1, c1, n));
        }
        next[c0 * nsize + c1] = best;
      }
    }
    value = std::move(next);
    size = nsize;
  }
  return *std::min_element(value.begin(), value.end());
}

Instance random_instance(std::uint64_t seed, std::uint32_t max_layers, std::uint32_t max_tokens,
                         ReadMode mode) {
  core::Rng rng(core::derive_seed({seed, 0x7e57}));
  Instance in;
  auto& sh = in.trace.shape;
  sh.layers = 1 + static_cast<std::uint32_t>(rng.below(max_layers));
  const std::uint32_t total = 2 + static_cast<std::uint32_t>(rng.below(max_tokens - 1));
  sh.prompt_tokens = 1 + static_cast<std::uint32_t>(rng.below(total - 1));
  sh.decode_tokens = total - sh.prompt_tokens;
  in.trace.tokens.resize(static_cast<std::size_t>(sh.decode_tokens) * sh.layers);
  const double density = 0.2 + 0.7 * rng.uniform();
  for (std::uint32_t n = sh.prompt_tokens; n < total; ++n) {
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      for (std::uint32_t t = 0; t < n; ++t) {
        if (rng.bernoulli(density)) in.trace.reads(n, l).push_back(t);
      }
    }
  }
  // Bandwidth ratios from link-starved to link-rich, so that every term of the max can win.
  auto& m = in.memory;
  m.kv_entry_bytes = 1000.0 * static_cast<double>(1 + rng.below(16));
  m.weight_bytes_per_layer = m.kv_entry_bytes * 4.0 * rng.uniform();
  m.hbm_bw = 1e9 * (1.0 + 9.0 * rng.uniform());
  m.link_read_bw = m.hbm_bw * (0.02 + 0.6 * rng.uniform());
  m.link_write_bw = m.hbm_bw * (0.02 + 0.6 * rng.uniform());
  m.dram_bw = m.hbm_bw * (0.05 + 0.8 * rng.uniform());
  m.capacity_entries = rng.below(static_cast<std::uint64_t>(total) * sh.layers + 1);
  mode.apply(m);
  return in;
}

double exhaustive_batch_optimum(const trace::ExplicitTrace& trace, const cost::MemorySystem& m) {
  const auto& sh = trace.shape;
  const Layout lay = layout_of(sh);
  const std::uint32_t B = lay.batch, k = lay.block, D = lay.decode, L = sh.layers;
  const std::vector<std::uint32_t>&P = lay.prompts, &base = lay.base;
  struct Entry {
    std::uint32_t b, t, l;
  };
  std::vector<Entry> entries;  // every entry of the final state, bit i of a mask
  for (std::uint32_t l = 0; l < L; ++l) {
    for (std::uint32_t b = 0; b < B; ++b) {
      for (std::uint32_t t = 0; t < P[b] + D; ++t) entries.push_back({b, t, l});
    }
  }
  if (entries.size() > 12) throw std::invalid_argument("exhaustive_batch_optimum: more than 12 entries");
  const std::size_t E = entries.size();
  auto index_of = [&](std::uint32_t b, std::uint32_t t, std::uint32_t l) {
    for (std::size_t i = 0; i < E; ++i) {
      if (entries[i].b == b && entries[i].t == t && entries[i].l == l) return i;
    }
    throw std::logic_error("no such entry");
  };
  // The masks state i may hold: existing entries only, whole blocks, at most C entries (k per block).
  auto valid = [&](Mask s, std::uint32_t i) {
    std::uint64_t held = 0;
    for (std::uint32_t l = 0; l < L; ++l) {
      for (std::uint32_t b = 0; b < B; ++b) {
        const std::uint32_t exist = P[b] + i;
        for (std::uint32_t t = exist; t < P[b] + D; ++t) {
          if (s >> index_of(b, t, l) & 1) return false;
        }
        for (std::uint32_t j = 0; j * k < exist; ++j) {
          std::uint32_t in = 0, all = 0;
          for (std::uint32_t t = j * k; t < std::min((j + 1) * k, exist); ++t, ++all) in += s >> index_of(b, t, l) & 1;
          if (in != 0 && in != all) return false;
          if (in != 0) held += k;
        }
      }
    }
    return held <= m.capacity_entries;
  };
  std::vector<std::vector<Mask>> read_masks(D + 1, std::vector<Mask>(L, 0));  // [i][l] of step i
  for (std::uint32_t i = 1; i <= D; ++i) {
    for (std::uint32_t l = 0; l < L; ++l) {
      for (const std::uint32_t p : trace.reads(sh.prompt_tokens + i - 1, l)) {
        for (std::uint32_t b = 0; b < B; ++b) {
          if (p >= base[b] && p < base[b] + P[b] + D) read_masks[i][l] |= Mask{1} << index_of(b, p - base[b], l);
        }
      }
    }
  }
  auto step_time = [&](Mask before, Mask after, std::uint32_t i) {  // step i: state i - 1 -> i
    double total = 0;
    for (std::uint32_t l = 0; l < L; ++l) {
      std::set<std::pair<std::uint32_t, std::uint32_t>> crossing;
      double reads = 0, hits = 0, a1 = 0, a2 = 0, beta = 0;
      const Mask read = read_masks[i][l];
      for (std::size_t e = 0; e < E; ++e) {
        if (entries[e].l != l) continue;
        const bool r = read >> e & 1, was = before >> e & 1, is = after >> e & 1;
        const auto block = std::make_pair(entries[e].b, entries[e].t / k);
        reads += r;
        if (r && was) hits += 1;
        if (r && !was) crossing.insert(block);
        if (is && !was) {
          if (entries[e].t == P[entries[e].b] + i - 1) {
            beta += 1;
          } else {
            (r ? a1 : a2) += 1;
            crossing.insert(block);
          }
        }
      }
      const double transfers = m.transfer_overhead_bytes != 0 ? static_cast<double>(crossing.size()) : 0.0;
      total += independent_step_time(m, reads, hits, a1, a2, beta, B, transfers);
    }
    return total;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::size_t states = std::size_t{1} << E;
  std::vector<double> value(states, inf);
  for (Mask s = 0; s < states; ++s) {
    if (valid(s, 0)) value[s] = 0;
  }
  for (std::uint32_t i = 1; i <= D; ++i) {
    std::vector<Mask> now;
    for (Mask s = 0; s < states; ++s) {
      if (valid(s, i)) now.push_back(s);
    }
    std::vector<double> next(states, inf);
    for (Mask p = 0; p < states; ++p) {
      if (value[p] == inf) continue;
      for (const Mask c : now) next[c] = std::min(next[c], value[p] + step_time(p, c, i));
    }
    value = std::move(next);
  }
  return *std::min_element(value.begin(), value.end());
}

Instance random_batch_instance(std::uint64_t seed, std::uint32_t batch, std::uint32_t max_prompt, std::uint32_t decode,
                               std::uint32_t layers, std::uint32_t block_tokens, double overhead_bytes, ReadMode mode) {
  core::Rng rng(core::derive_seed({seed, 0xba7c}));
  Instance in = random_instance(seed, 1, 3, mode);  // bandwidths and sizes only
  auto& sh = in.trace.shape;
  sh.layers = layers;
  sh.decode_tokens = decode;
  sh.block_tokens = block_tokens;
  sh.prompts.clear();
  for (std::uint32_t b = 0; b < batch; ++b) sh.prompts.push_back(1 + static_cast<std::uint32_t>(rng.below(max_prompt)));
  sh.prompt_tokens = sh.prompts[0];
  if (batch == 1) sh.prompts.clear();
  in.trace.tokens.assign(static_cast<std::size_t>(decode) * layers, {});
  const double density = 0.2 + 0.7 * rng.uniform();
  for (std::uint32_t i = 0; i < decode; ++i) {
    for (std::uint32_t l = 0; l < layers; ++l) {
      auto& reads = in.trace.reads(sh.prompt_tokens + i, l);
      for (std::uint32_t b = 0; b < batch; ++b) {
        for (std::uint32_t t = 0; t < sh.prompt(b) + i; ++t) {
          if (rng.bernoulli(density)) reads.push_back(static_cast<std::uint32_t>(sh.base(b) + t));
        }
      }
    }
  }
  in.memory.transfer_overhead_bytes = overhead_bytes;
  in.memory.writes_per_step = batch;
  in.memory.block_tokens = block_tokens;
  in.memory.capacity_entries = rng.below(sh.footprint_tokens() * layers + 1);
  return in;
}

Instance persistent_instance(std::uint64_t seed, std::uint32_t layers, std::uint32_t prompt, std::uint32_t decode,
                             ReadMode mode) {
  core::Rng rng(core::derive_seed({seed, 0x9e55}));
  Instance in = random_instance(seed, 1, 3, mode);  // bandwidths and sizes only
  auto& sh = in.trace.shape;
  sh.layers = layers;
  sh.prompt_tokens = prompt;
  sh.decode_tokens = decode;
  in.trace.tokens.assign(static_cast<std::size_t>(decode) * layers, {});
  const double read_share = 0.25 + 0.35 * rng.uniform();
  const double churn = 0.05 + 0.3 * rng.uniform();
  for (std::uint32_t l = 0; l < layers; ++l) {
    std::set<std::uint32_t> current;
    for (std::uint32_t t = 0; t < prompt; ++t) {
      if (rng.bernoulli(read_share)) current.insert(t);
    }
    for (std::uint32_t n = prompt; n < prompt + decode; ++n) {
      if (n > prompt && rng.bernoulli(0.7)) current.insert(n - 1);
      std::vector<std::uint32_t> members(current.begin(), current.end());
      for (std::uint32_t t : members) {
        if (!rng.bernoulli(churn)) continue;
        current.erase(t);
        current.insert(static_cast<std::uint32_t>(rng.below(n)));
      }
      auto& reads = in.trace.reads(n, l);
      reads.assign(current.begin(), current.end());
    }
  }
  const double need = read_share * (prompt + decode) * layers;
  in.memory.capacity_entries = static_cast<std::uint64_t>(need * (0.2 + 0.8 * rng.uniform()));
  return in;
}

std::string mode_name(const ReadMode& mode) {
  std::string name(config::to_string(mode.reads));
  if (mode.weights == config::WeightsInDram::kMirror) name += "_mirror";
  return name;
}

}  // namespace kvsweep::testing
