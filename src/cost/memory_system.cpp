#include "kvsweep/cost/memory_system.hpp"

#include <stdexcept>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/units.hpp"

namespace kvsweep::cost {

MemorySystem make_memory_system(const config::PointSpec& point, const trace::TraceShape& shape) {
  MemorySystem m;
  m.kv_entry_bytes = point.model.kv_bytes_per_token_layer;
  m.weight_bytes_per_layer = point.model.weight_bytes_per_layer;
  m.hbm_bw = core::gbps_to_bytes_per_s(point.hardware.hbm_bw_gbps);
  m.link_read_bw = core::gbps_to_bytes_per_s(point.hardware.link_read_gbps);
  m.link_write_bw = core::gbps_to_bytes_per_s(point.hardware.link_write_gbps);
  m.dram_bw = core::gbps_to_bytes_per_s(point.hardware.dram_bw_gbps);
  m.hbm_reads = point.hbm_reads;
  m.weights_in_dram = point.weights_in_dram;
  m.transfer_overhead_bytes = point.hardware.link_transfer_overhead_bytes;
  m.writes_per_step = shape.batch_size();
  m.block_tokens = shape.block_tokens;
  try {
    m.capacity_entries =
        config::capacity_entries(point, shape.footprint_tokens(), shape.layers);
  } catch (const std::invalid_argument& e) {
    throw core::InputError(point.source, e.what());
  }
  return m;
}

}  // namespace kvsweep::cost
