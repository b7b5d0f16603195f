#pragma once
// The memory system of the micro-benchmarks' cut-down instances: the paper's entry size and GH200-like
// bandwidths, small weights, `share` of the final KV footprint in HBM.
#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::bench {

inline cost::MemorySystem reference_memory(const trace::TraceShape& shape, double share = 0.3) {
  cost::MemorySystem memory;
  memory.kv_entry_bytes = 16384;
  memory.weight_bytes_per_layer = 2e6;
  memory.hbm_bw = 4900e9;
  memory.link_read_bw = 450e9;
  memory.link_write_bw = 450e9;
  memory.dram_bw = 500e9;
  memory.capacity_entries = static_cast<std::uint64_t>(share * shape.total_tokens() * shape.layers);
  return memory;
}

}  // namespace kvsweep::bench
