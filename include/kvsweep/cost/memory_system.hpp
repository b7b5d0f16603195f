#pragma once
// The memory system as the cost model sees it: entry size, weight bytes per layer, four bandwidths and
// the HBM capacity available to KV, all in bytes and bytes per second, and the read mode.

#include <cstdint>

#include "kvsweep/config/point.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::cost {

struct MemorySystem {
  double kv_entry_bytes = 0;          // e: one (token, layer) KV entry
  double weight_bytes_per_layer = 0;  // W: read from HBM at every (n, l)
  double hbm_bw = 0;                  // bytes/s
  double link_read_bw = 0;            // DRAM -> GPU over the link, bytes/s
  double link_write_bw = 0;           // GPU -> DRAM, bytes/s
  double dram_bw = 0;                 // bytes/s
  std::uint64_t capacity_entries = 0; // C
  config::HbmReads hbm_reads = config::HbmReads::kBalanced;  // where resident entries are read from
  config::WeightsInDram weights_in_dram = config::WeightsInDram::kNone;  // a copy of the weights in DRAM?
  double transfer_overhead_bytes = 0;  // O: link bytes one transfer costs beside its payload
  // The workload's shape as the formulas see it (docs/design/batches.md): B new entries are written
  // through at every (n, l), and a transfer moves a block of up to k tokens (so the bounds may count at
  // least misses / k transfers).
  std::uint32_t writes_per_step = 1;  // B
  std::uint32_t block_tokens = 1;     // k

  // The weight bytes a balanced step may read from DRAM's copy instead of HBM, in entries (W / e):
  // W / e with weights_in_dram: mirror and balanced reads, else 0.
  double movable_weight_entries() const {
    return weights_in_dram == config::WeightsInDram::kMirror && hbm_reads == config::HbmReads::kBalanced
               ? weight_bytes_per_layer / kv_entry_bytes
               : 0.0;
  }
};

// Resolves bandwidths (with the point's link overrides already applied to its hardware) and C.
// Throws core::InputError when the capacity cannot be resolved (weights larger than HBM, ...).
MemorySystem make_memory_system(const config::PointSpec& point, const trace::TraceShape& shape);

}  // namespace kvsweep::cost
