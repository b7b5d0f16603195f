// The block model of exact.hpp: a batch of sequences, blocks of k tokens and a per-transfer cost O, as
// cost::Judge scores them (docs/cost-model.md "Batches, blocks and per-transfer cost").
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "exact_model.hpp"
#include "kvsweep/oracle/exact.hpp"

namespace kvsweep::oracle {

namespace {

using milp::kInf;
using milp::Model;

constexpr std::uint32_t kNone = ~std::uint32_t{0};

// Block `index` of sequence `seq` in layer `layer`: its tokens [index k, index k + k) that exist. It has
// variables z in states [first, last] (last: the last step that reads it; state j is H of step j) and
// p in (first, last]; a block no step reads (last = kNone) stays out of HBM.
struct Block {
  std::uint32_t layer = 0, seq = 0, index = 0;
  std::uint32_t first = 0;
  std::uint32_t last = kNone;
  std::vector<std::uint32_t> reads;  // [j]: its tokens step j reads
  int z0 = -1, p0 = -1;
  bool has(std::uint32_t i) const { return last != kNone && i >= first && i <= last; }
  int z(std::uint32_t i) const { return z0 + static_cast<int>(i - first); }
  int p(std::uint32_t i) const { return p0 + static_cast<int>(i - first - 1); }  // first < i <= last
};

// The shape in (sequence, token) terms, and every block of it with its reads per step.
struct Blocks {
  const trace::TraceShape* shape = nullptr;
  std::uint32_t k = 1;
  std::vector<Block> all;  // layer, then sequence, then index

  // Tokens of sequence b that exist in state i (after i steps).
  std::uint32_t existing(std::uint32_t b, std::uint32_t i) const { return shape->prompt(b) + i; }
  // Tokens of block c that exist in state i (E(c, i)).
  std::uint32_t tokens_in(const Block& c, std::uint32_t i) const {
    const std::uint32_t n = existing(c.seq, i), lo = c.index * k;
    return n <= lo ? 0 : std::min(n - lo, k);
  }
  // Does step j's new token of the block's sequence (token P_b + j) join the block?
  bool takes_new(const Block& c, std::uint32_t j) const { return existing(c.seq, j) / k == c.index; }
};

Blocks blocks_of(const BlockInstance& inst) {
  const trace::TraceShape& sh = inst.shape();
  Blocks out{&sh, sh.block_tokens, {}};
  const std::uint32_t B = sh.batch_size(), D = sh.decode_tokens, k = sh.block_tokens;
  for (std::uint32_t l = 0; l < sh.layers; ++l) {
    for (std::uint32_t b = 0; b < B; ++b) {
      const std::uint32_t P = sh.prompt(b), count = (P + D + k - 1) / k;
      const std::size_t base = sh.base(b);
      for (std::uint32_t q = 0; q < count; ++q) {
        Block c;
        c.layer = l;
        c.seq = b;
        c.index = q;
        c.first = q * k < P ? 0 : q * k - P + 1;
        c.reads.assign(D, 0);
        const std::size_t lo = base + std::size_t{q} * k,
                          hi = base + std::min(std::size_t{q + 1} * k, std::size_t{P} + D);
        for (std::uint32_t j = 0; j < D; ++j) {
          c.reads[j] = static_cast<std::uint32_t>(inst.reads(j)[l].count_range(lo, hi));
          if (c.reads[j] != 0) c.last = j;
        }
        out.all.push_back(std::move(c));
      }
    }
  }
  return out;
}

std::uint64_t count_binaries(const Blocks& blocks) {
  std::uint64_t n = 0;
  for (const Block& c : blocks.all) {
    if (c.last != kNone) n += c.last - c.first + 1;
  }
  return n;
}

// exact.hpp's block model, in units of e / B_hbm.
Model build_model(const BlockInstance& inst, Blocks& blocks) {
  const auto& sh = inst.shape();
  const cost::MemorySystem& m = inst.memory();
  const std::uint32_t L = sh.layers, D = sh.decode_tokens, k = sh.block_tokens;
  const double B = sh.batch_size();
  const double w_over_e = m.weight_bytes_per_layer / m.kv_entry_bytes;
  const double o = m.transfer_overhead_bytes / m.kv_entry_bytes;  // O in entries
  const double r_lr = m.hbm_bw / m.link_read_bw, r_lw = m.hbm_bw / m.link_write_bw,
               r_d = m.hbm_bw / m.dram_bw;
  const bool balanced = m.hbm_reads == config::HbmReads::kBalanced;
  const double movable = m.movable_weight_entries();

  Model md;
  for (Block& c : blocks.all) {
    if (c.last == kNone) continue;
    c.z0 = static_cast<int>(md.obj.size());
    for (std::uint32_t i = c.first; i <= c.last; ++i) md.add_col(0, 1, 0, true);
    c.p0 = static_cast<int>(md.obj.size());
    for (std::uint32_t i = c.first + 1; i <= c.last; ++i) md.add_col(0, kInf, 0, false);
  }
  for (const Block& c : blocks.all) {
    if (c.last == kNone) continue;
    // p(c, i) - z(c, i) + z(c, i - 1) >= 0.
    for (std::uint32_t i = c.first + 1; i <= c.last; ++i) {
      const int r = md.add_row(0, kInf);
      md.add(r, c.p(i), 1);
      md.add(r, c.z(i), -1);
      md.add(r, c.z(i - 1), 1);
    }
    // Dominance (exact.hpp): z(c, i) <= z(c, i + 1) when step i does not read the block.
    for (std::uint32_t i = c.first; i < c.last; ++i) {
      if (c.reads[i] != 0) continue;
      const int r = md.add_row(0, kInf);
      md.add(r, c.z(i + 1), 1);
      md.add(r, c.z(i), -1);
    }
  }
  // Capacity of every state: k entries per resident block.
  std::vector<int> cap_row(D + 1);
  for (std::uint32_t i = 0; i <= D; ++i) {
    cap_row[i] = md.add_row(-kInf, static_cast<double>(m.capacity_entries));
  }
  for (const Block& c : blocks.all) {
    if (c.last == kNone) continue;
    for (std::uint32_t i = c.first; i <= c.last; ++i) md.add(cap_row[i], c.z(i), k);
  }
  // The four terms of every (step, layer); blocks are stored layer by layer.
  const std::size_t per_layer = blocks.all.size() / L;
  for (std::uint32_t j = 0; j < D; ++j) {
    for (std::uint32_t l = 0; l < L; ++l) {
      const double s = static_cast<double>(inst.reads(j)[l].count());
      // T >= (e + O) B / B_lw as its lower bound.
      const int t = md.add_col(r_lw * B * (1 + o), kInf, 1, false);
      const int x = balanced ? md.add_col(0, kInf, 0, false) : -1;
      const int hbm = md.add_row(w_over_e, kInf);  // T - h + x - a1 - a2 - beta >= W / e
      // T + r (h - x - a2 - o transfers) >= r |S|, plus r o for each read block (its 1 - z).
      const int lr = md.add_row(r_lr * s, kInf);
      const int dr = md.add_row(r_d * (s + B), kInf);
      const int xh = balanced ? md.add_row(-kInf, movable) : -1;  // x - h <= 0 (<= W / e, mirrored)
      for (int r : {hbm, lr, dr}) md.add(r, t, 1);
      if (balanced) {
        md.add(hbm, x, 1);
        md.add(lr, x, -r_lr);
        md.add(dr, x, -r_d);
        md.add(xh, x, 1);
      }
      for (std::size_t ci = l * per_layer; ci < (l + 1) * per_layer; ++ci) {
        const Block& c = blocks.all[ci];
        if (c.last == kNone) continue;
        const double read = c.reads[j];
        if (read != 0) {  // hits r z(c, j); a transfer 1 - z(c, j)
          md.add(hbm, c.z(j), -read);
          md.add(lr, c.z(j), r_lr * (read + o));
          md.add(dr, c.z(j), r_d * read);
          if (balanced) md.add(xh, c.z(j), -read);
          md.row_lb[static_cast<std::size_t>(lr)] += r_lr * o;
        }
        if (c.has(j + 1) && j + 1 > c.first) {  // a promotion into state j + 1
          const double held = blocks.tokens_in(c, j);
          md.add(hbm, c.p(j + 1), -held);
          md.add(lr, c.p(j + 1), -r_lr * (held - read + (read == 0 ? o : 0.0)));
          md.add(dr, c.p(j + 1), -r_d * (held - read));
        }
        if (c.has(j + 1) && blocks.takes_new(c, j)) md.add(hbm, c.z(j + 1), -1);  // beta
      }
    }
  }
  return md;
}

// The judge over states [0, D] with steps read by reads_of(j) (S(P + j, ·)).
template <class ReadsOf>
cost::ScheduleTotals judge(const std::vector<cost::Residency>& states, const cost::MemorySystem& memory,
                           const trace::TraceShape& sh, ReadsOf reads_of) {
  if (states.size() != std::size_t{sh.decode_tokens} + 1) {
    throw std::invalid_argument("exact: " + std::to_string(states.size()) + " states for D = " +
                                std::to_string(sh.decode_tokens) + " steps (D + 1 needed)");
  }
  cost::Judge judge(memory, sh, true);
  judge.begin(states[0]);
  for (std::uint32_t j = 0; j < sh.decode_tokens; ++j) {
    judge.score_step(sh.prompt_tokens + j, reads_of(j), states[j + 1]);
  }
  return judge.totals();
}

}  // namespace

bool needs_block_model(const trace::TraceShape& shape, const cost::MemorySystem& memory) {
  return shape.batched() || shape.block_tokens > 1 || memory.transfer_overhead_bytes != 0;
}

BlockInstance::BlockInstance(trace::TraceSource& source, const cost::MemorySystem& memory)
    : shape_(source.shape()), memory_(memory) {
  const auto& sh = shape_;
  if (memory.writes_per_step != sh.batch_size() || memory.block_tokens != sh.block_tokens) {
    throw std::invalid_argument(
        "exact: the memory system is set up for B = " + std::to_string(memory.writes_per_step) + ", k = " +
        std::to_string(memory.block_tokens) + " but the trace has B = " + std::to_string(sh.batch_size()) +
        ", k = " + std::to_string(sh.block_tokens));
  }
  reads_.assign(sh.decode_tokens, std::vector<core::TokenBitset>(sh.layers, core::TokenBitset(sh.space())));
  // Positions that exist at step j: each sequence's tokens below P_b + j.
  core::TokenBitset exists(sh.space());
  for (std::uint32_t b = 0; b < sh.batch_size(); ++b) exists.set_range(sh.base(b), sh.base(b) + sh.prompt(b));
  for (std::uint32_t j = 0; j < sh.decode_tokens; ++j) {
    const std::uint32_t n = sh.prompt_tokens + j;
    source.read_step(n, reads_[j]);
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      const core::TokenBitset& s = reads_[j][l];
      for (std::size_t w = 0; w < s.word_count(); ++w) {
        if ((s.data()[w] & ~exists.data()[w]) != 0) {
          throw std::invalid_argument("exact: step " + std::to_string(n) + " reads a position of layer " +
                                      std::to_string(l) + " whose token does not exist yet (word " +
                                      std::to_string(w) + ")");
        }
      }
    }
    for (std::uint32_t b = 0; b < sh.batch_size(); ++b) exists.set(sh.new_entry(b, n));
  }
}

std::uint64_t exact_binaries(const BlockInstance& inst) { return count_binaries(blocks_of(inst)); }

ExactResult solve_exact(const BlockInstance& inst, const ExactOptions& options) {
  if (options.fixed != nullptr)
    throw std::invalid_argument("exact: the block model solves whole schedules only");
  const auto t0 = std::chrono::steady_clock::now();
  const auto& sh = inst.shape();
  Blocks blocks = blocks_of(inst);
  ExactResult out;
  out.binaries = count_binaries(blocks);
  milp::check_size(out.binaries, options.max_binaries);
  const double unit = inst.memory().kv_entry_bytes / inst.memory().hbm_bw;
  const Model md = build_model(inst, blocks);
  out.rows = md.row_lb.size();

  const milp::Solution sol = milp::solve(md, options);
  out.proven_optimal = sol.proven_optimal;
  out.nodes = sol.nodes;
  out.bound_s = sol.bound * unit;
  out.objective_s = sol.objective * unit;

  const std::uint32_t k = sh.block_tokens;
  out.states.assign(sh.decode_tokens + 1, cost::Residency(sh.layers, sh.space()));
  for (const Block& c : blocks.all) {
    if (c.last == kNone) continue;
    const std::size_t lo = sh.base(c.seq) + std::size_t{c.index} * k;
    for (std::uint32_t i = c.first; i <= c.last; ++i) {
      if (sol.values[static_cast<std::size_t>(c.z(i))] > 0.5) {
        out.states[i].layer(c.layer).set_range(lo, lo + blocks.tokens_in(c, i));
      }
    }
  }
  out.total_time_s =
      judge(out.states, inst.memory(), sh, [&](std::uint32_t j) { return inst.reads(j); }).total_time_s;
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

cost::ScheduleTotals judge_states(const std::vector<cost::Residency>& states,
                                  const cost::MemorySystem& memory, trace::TraceSource& source) {
  const trace::TraceShape sh = source.shape();
  std::vector<core::TokenBitset> reads(sh.layers, core::TokenBitset(sh.space()));
  return judge(states, memory, sh, [&](std::uint32_t j) {
    source.read_step(sh.prompt_tokens + j, reads);
    return std::span<const core::TokenBitset>(reads);
  });
}

}  // namespace kvsweep::oracle
