#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include "kvsweep/oracle/exact.hpp"
#include "exact_model.hpp"

namespace kvsweep::oracle {

namespace {

using milp::check_size;
using milp::kInf;
using milp::Model;

constexpr std::uint32_t kNone = ~std::uint32_t{0};

// The states in which entry e has a variable: [first, last], last = its last read step (state j is H of
// step j). first > last: the entry is never read and stays out of HBM.
struct EntryVars {
  std::uint32_t first = 0;
  std::uint32_t last = kNone;
  int y0 = -1;  // column of y(e, first)
  int p0 = -1;  // column of p(e, first + 1)
  bool has(std::uint32_t i) const { return last != kNone && i >= first && i <= last; }
  int y(std::uint32_t i) const { return y0 + static_cast<int>(i - first); }
  int p(std::uint32_t i) const { return p0 + static_cast<int>(i - first - 1); }  // first < i <= last
};

std::uint32_t last_read(const OracleInstance& inst, std::uint64_t e) {
  for (std::size_t w = inst.words_per_entry(); w-- > 0;) {
    const core::Word word = inst.read_word(e, w);
    if (word != 0) return static_cast<std::uint32_t>(w * core::kWordBits) + 63U - std::countl_zero(word);
  }
  return kNone;
}

std::vector<EntryVars> entry_vars(const OracleInstance& inst) {
  std::vector<EntryVars> vars(inst.entries());
  const std::uint32_t steps = inst.shape().decode_tokens;
  for (std::uint64_t e = 0; e < inst.entries(); ++e) {
    EntryVars& v = vars[e];
    v.first = inst.first_state(e);
    const std::uint32_t last = last_read(inst, e);
    v.last = last != kNone && last < steps && last >= v.first ? last : kNone;
  }
  return vars;
}

std::uint64_t count_binaries(const std::vector<EntryVars>& vars) {
  std::uint64_t n = 0;
  for (const EntryVars& v : vars) {
    if (v.last != kNone) n += v.last - v.first + 1;
  }
  return n;
}

// Time unit of the model: e / B_hbm, so that every coefficient is a bandwidth ratio or W / e.
double time_unit(const OracleInstance& inst) { return inst.memory().kv_entry_bytes / inst.memory().hbm_bw; }

// The model of exact.hpp; with `relaxed`, y is continuous in [0, 1] and the dominance rows (which hold
// for some integer optimum, not for every fractional point) are left out: the LP relaxation.
Model build_model(const OracleInstance& inst, std::vector<EntryVars>& vars, const ExactOptions& options,
                  bool relaxed) {
  const auto& sh = inst.shape();
  const cost::MemorySystem& m = inst.memory();
  const std::uint32_t L = sh.layers, T = sh.total_tokens(), D = sh.decode_tokens;
  const double w_over_e = m.weight_bytes_per_layer / m.kv_entry_bytes;
  const double r_lr = m.hbm_bw / m.link_read_bw, r_lw = m.hbm_bw / m.link_write_bw,
               r_d = m.hbm_bw / m.dram_bw;
  const bool balanced = m.hbm_reads == config::HbmReads::kBalanced;
  const double movable = m.movable_weight_entries();  // mirrored weights: x may exceed the hits by W / e

  Model md;
  for (EntryVars& v : vars) {
    if (v.last == kNone) continue;
    v.y0 = static_cast<int>(md.obj.size());
    for (std::uint32_t i = v.first; i <= v.last; ++i) md.add_col(0, 1, 0, !relaxed);
    v.p0 = static_cast<int>(md.obj.size());
    for (std::uint32_t i = v.first + 1; i <= v.last; ++i) md.add_col(0, kInf, 0, false);
  }
  // p(e, i) - y(e, i) + y(e, i - 1) >= 0.
  for (const EntryVars& v : vars) {
    if (v.last == kNone) continue;
    for (std::uint32_t i = v.first + 1; i <= v.last; ++i) {
      const int r = md.add_row(0, kInf);
      md.add(r, v.p(i), 1);
      md.add(r, v.y(i), -1);
      md.add(r, v.y(i - 1), 1);
    }
  }
  // Fixed states keep their residency.
  if (options.fixed != nullptr) {
    for (std::uint64_t e = 0; e < vars.size(); ++e) {
      const EntryVars& v = vars[e];
      if (v.last == kNone) continue;
      for (std::uint32_t i = v.first; i <= v.last; ++i) {
        if (i >= options.free_begin && i < options.free_end) continue;
        const double held = options.fixed->resident(e, i) ? 1 : 0;
        md.col_lb[static_cast<std::size_t>(v.y(i))] = md.col_ub[static_cast<std::size_t>(v.y(i))] = held;
      }
    }
  }
  // Dominance: a run of residency ends in a state whose step reads the entry (evicting it one state
  // earlier otherwise frees capacity and changes nothing else), so y(e, i) <= y(e, i + 1) when step i
  // does not read e. Cuts the schedules that differ only in when an idle entry leaves.
  for (std::uint64_t e = 0; e < vars.size(); ++e) {
    const EntryVars& v = vars[e];
    if (v.last == kNone || options.fixed != nullptr || relaxed) continue;
    for (std::uint32_t i = v.first; i < v.last; ++i) {
      if (inst.read(e, i)) continue;
      const int r = md.add_row(0, kInf);
      md.add(r, v.y(i + 1), 1);
      md.add(r, v.y(i), -1);
    }
  }
  // Capacity of every state.
  std::vector<int> cap_row(D + 1);
  for (std::uint32_t i = 0; i <= D; ++i)
    cap_row[i] = md.add_row(-kInf, static_cast<double>(m.capacity_entries));
  for (const EntryVars& v : vars) {
    if (v.last == kNone) continue;
    for (std::uint32_t i = v.first; i <= v.last; ++i) md.add(cap_row[i], v.y(i), 1);
  }
  // The four terms of every step.
  for (std::uint32_t j = 0; j < D; ++j) {
    for (std::uint32_t l = 0; l < L; ++l) {
      const double s = inst.read_count(j, l);
      const int t = md.add_col(r_lw, kInf, 1, false);  // T >= e / B_lw as its lower bound
      const int x = balanced ? md.add_col(0, kInf, 0, false) : -1;
      const int hbm = md.add_row(w_over_e, kInf);  // T - h + x - a1 - a2 - beta >= W / e
      const int lr = md.add_row(r_lr * s, kInf);   // T + r (h - x - a2) >= r |S|
      const int dr = md.add_row(r_d * (s + 1), kInf);
      const int xh = balanced ? md.add_row(-kInf, movable) : -1;  // x - h <= 0 (<= W / e, mirrored)
      for (int r : {hbm, lr, dr}) md.add(r, t, 1);
      if (balanced) {
        md.add(hbm, x, 1);
        md.add(lr, x, -r_lr);
        md.add(dr, x, -r_d);
        md.add(xh, x, 1);
      }
      const std::uint32_t n = sh.prompt_tokens + j;
      for (std::uint32_t tok = 0; tok <= n && tok < T; ++tok) {
        const std::uint64_t e = static_cast<std::uint64_t>(l) * T + tok;
        const EntryVars& v = vars[e];
        if (tok == n) {  // the new entry: beta = y(e, j + 1)
          if (v.has(j + 1)) md.add(hbm, v.y(j + 1), -1);
          continue;
        }
        const bool read = inst.read(e, j);
        if (read && v.has(j)) {
          md.add(hbm, v.y(j), -1);
          md.add(lr, v.y(j), r_lr);
          md.add(dr, v.y(j), r_d);
          if (balanced) md.add(xh, v.y(j), -1);
        }
        if (v.has(j + 1) && j + 1 > v.first) {
          md.add(hbm, v.p(j + 1), -1);
          if (!read) {
            md.add(lr, v.p(j + 1), -r_lr);
            md.add(dr, v.p(j + 1), -r_d);
          }
        }
      }
    }
  }
  return md;
}

void load(const Model& md, OsiClpSolverInterface& solver) {
  const CoinPackedMatrix matrix(false, md.rows.data(), md.cols.data(), md.vals.data(),
                                static_cast<CoinBigIndex>(md.vals.size()));
  solver.loadProblem(matrix, md.col_lb.data(), md.col_ub.data(), md.obj.data(), md.row_lb.data(),
                     md.row_ub.data());
  for (std::size_t c = 0; c < md.integer.size(); ++c) {
    if (md.integer[c]) solver.setInteger(static_cast<int>(c));
  }
  solver.messageHandler()->setLogLevel(0);
}

// The per-entry model places a lone sequence token by token; a batch's positions past P + D are not
// even in an OracleInstance.
void check_lone(const OracleInstance& inst) {
  if (inst.shape().batched() || inst.shape().block_tokens > 1) {
    throw std::invalid_argument("exact: a batch or blocks of k > 1 tokens: the block model (BlockInstance) solves them");
  }
}

}  // namespace

namespace milp {

void check_size(std::uint64_t binaries, std::uint64_t limit) {
  if (binaries > limit) {
    throw std::invalid_argument("exact: the instance needs " + std::to_string(binaries) +
                                " binary variables, above the limit of " + std::to_string(limit));
  }
}

Solution solve(const Model& md, const ExactOptions& options) {
  OsiClpSolverInterface solver;
  load(md, solver);
  Solution out;
  // Cbc's driver keeps some state of its own: one solve at a time in this process.
  static std::mutex cbc_mutex;
  const std::lock_guard<std::mutex> lock(cbc_mutex);
  CbcModel model(solver);
  CbcSolverUsefulData data;
  CbcMain0(model, data);
  const std::string seconds = std::to_string(options.max_wall_s > 0 ? options.max_wall_s : 1e9);
  const std::string nodes = std::to_string(options.max_nodes > 0 ? options.max_nodes : 2000000000);
  // Optimal to a relative gap of 1e-9 (an absolute zero gap can stall on the LP's own tolerances).
  const char* argv[] = {"kvsweep",     "-log",   "0",    "-sec",   seconds.c_str(), "-maxN",
                        nodes.c_str(), "-ratio", "1e-9", "-solve", "-quit"};
  std::vector<const char*> args(std::begin(argv), std::end(argv));
  CbcMain1(
      static_cast<int>(args.size()), args.data(), model, [](CbcModel*, int) { return 0; }, data);
  out.proven_optimal = model.isProvenOptimal();
  out.nodes = static_cast<std::uint64_t>(model.getNodeCount());
  out.bound = model.getBestPossibleObjValue();
  if (model.bestSolution() == nullptr) {
    throw std::runtime_error("exact: Cbc found no schedule within " + seconds + " s");
  }
  out.objective = model.getObjValue();
  out.values.assign(model.bestSolution(), model.bestSolution() + model.getNumCols());
  return out;
}

}  // namespace milp

std::uint64_t exact_binaries(const OracleInstance& inst) { return count_binaries(entry_vars(inst)); }

ExactResult solve_exact(const OracleInstance& inst, const ExactOptions& options) {
  if (inst.frozen_states() != 0 || inst.free_end() != inst.states()) {
    throw std::invalid_argument("exact: the instance is a window of a longer trace");
  }
  check_lone(inst);
  const auto t0 = std::chrono::steady_clock::now();
  const auto& sh = inst.shape();
  const std::uint32_t L = sh.layers, T = sh.total_tokens(), D = sh.decode_tokens;
  std::vector<EntryVars> vars = entry_vars(inst);
  ExactResult out;
  out.binaries = count_binaries(vars);
  check_size(out.binaries, options.max_binaries);
  const double unit = time_unit(inst);
  const Model md = build_model(inst, vars, options, false);
  out.rows = md.row_lb.size();

  const milp::Solution sol = milp::solve(md, options);
  out.proven_optimal = sol.proven_optimal;
  out.nodes = sol.nodes;
  out.bound_s = sol.bound * unit;
  out.objective_s = sol.objective * unit;
  const std::vector<double>& solution = sol.values;

  out.states.assign(D + 1, cost::Residency(L, T));
  for (std::uint64_t e = 0; e < vars.size(); ++e) {
    const EntryVars& v = vars[e];
    if (v.last == kNone) continue;
    for (std::uint32_t i = v.first; i <= v.last; ++i) {
      if (solution[static_cast<std::size_t>(v.y(i))] > 0.5) {
        out.states[i].layer(inst.layer_of(e)).set(inst.unit_of(e));
      }
    }
  }
  out.total_time_s = ScheduleState(inst, out.states).exact_total();
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

LpRelaxation solve_lp_relaxation(const OracleInstance& inst, std::uint64_t max_binaries) {
  if (inst.frozen_states() != 0 || inst.free_end() != inst.states()) {
    throw std::invalid_argument("exact: the instance is a window of a longer trace");
  }
  check_lone(inst);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<EntryVars> vars = entry_vars(inst);
  LpRelaxation out;
  out.variables = count_binaries(vars);
  check_size(out.variables, max_binaries);
  const Model md = build_model(inst, vars, ExactOptions{}, true);
  OsiClpSolverInterface solver;
  load(md, solver);
  solver.initialSolve();
  if (!solver.isProvenOptimal()) throw std::runtime_error("exact: Clp did not solve the LP relaxation");
  out.value_s = solver.getObjValue() * time_unit(inst);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

PolishStats polish_windows(const OracleInstance& inst, ScheduleState& s, const PolishOptions& options) {
  PolishStats stats;
  if (options.window_states == 0 || inst.frozen_states() != 0 || inst.free_end() != inst.states() ||
      inst.shape().batched() || inst.shape().block_tokens > 1 || exact_binaries(inst) > options.max_binaries) {
    return stats;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint32_t width = options.window_states, stride = std::max<std::uint32_t>(1, width / 2);
  ExactOptions eo;
  eo.max_binaries = options.max_binaries;
  eo.max_nodes = options.max_nodes;
  eo.max_wall_s = 0;
  for (std::uint32_t sweep = 0; sweep < options.sweeps; ++sweep) {
    const std::uint32_t improved_before = stats.improved;
    for (std::uint32_t begin = 0; begin == 0 || begin + width - stride < inst.states(); begin += stride) {
      eo.fixed = &s;
      eo.free_begin = begin;
      eo.free_end = std::min(begin + width, inst.states());
      ExactResult r;
      try {
        r = solve_exact(inst, eo);
      } catch (const std::runtime_error&) {
        continue;  // no schedule within the node budget: the current one stays
      }
      ++stats.windows;
      const double now = s.exact_total();
      if (r.total_time_s < now * (1 - 1e-12)) {
        s = ScheduleState(inst, r.states);
        stats.gain_s += now - r.total_time_s;
        ++stats.improved;
      }
    }
    if (stats.improved == improved_before) break;
  }
  stats.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace kvsweep::oracle
