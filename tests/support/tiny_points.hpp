#pragma once
// Small test points: a GH200-like memory system and random reads over any shape (lone or batched).
#include <cstdint>
#include <limits>
#include <random>

#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::testing_support {

// e = 4 KiB, W = 3e, GH200-measured bandwidths, capacity C; B writes per step and blocks of k from `shape`.
inline cost::MemorySystem gh200_like(std::uint64_t capacity, const trace::TraceShape& shape = {}) {
  cost::MemorySystem m;
  m.writes_per_step = shape.batch_size();
  m.block_tokens = shape.block_tokens;
  m.kv_entry_bytes = 4096;
  m.weight_bytes_per_layer = 3.0 * 4096;
  m.hbm_bw = 3.4e12;
  m.link_read_bw = 375e9;
  m.link_write_bw = 297e9;
  m.dram_bw = 486e9;
  m.capacity_entries = capacity;
  return m;
}

// Every existing token of every (step, layer, sequence) read with probability 3/10, drawn from
// mt19937_64(seed); from step `alter_from` on, from mt19937_64(seed_after) instead.
inline trace::ExplicitTrace random_reads(const trace::TraceShape& shape, std::uint64_t seed,
                                         std::uint32_t alter_from = std::numeric_limits<std::uint32_t>::max(),
                                         std::uint64_t seed_after = 0) {
  trace::ExplicitTrace t;
  t.shape = shape;
  t.tokens.resize(static_cast<std::size_t>(shape.decode_tokens) * shape.layers);
  std::mt19937_64 before(seed), after(seed_after);
  for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) {
    std::mt19937_64& rng = n < alter_from ? before : after;
    for (std::uint32_t l = 0; l < shape.layers; ++l) {
      for (std::uint32_t b = 0; b < shape.batch_size(); ++b) {
        const std::uint32_t tokens = shape.prompt(b) + (n - shape.prompt_tokens);  // existing before step n's token
        for (std::uint32_t tok = 0; tok < tokens; ++tok) {
          if (rng() % 10 < 3) t.reads(n, l).push_back(static_cast<std::uint32_t>(shape.base(b) + tok));
        }
      }
    }
  }
  return t;
}

}  // namespace kvsweep::testing_support
