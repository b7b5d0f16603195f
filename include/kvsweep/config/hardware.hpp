#pragma once
// Memory-system presets: HBM, the off-package link (read and write directions) and the DRAM behind it.

#include <optional>
#include <string>
#include <vector>

namespace kvsweep::config {

struct HardwareSpec {
  std::string name;
  double hbm_bw_gbps = 0;
  double link_read_gbps = 0;   // DRAM -> GPU direction
  double link_write_gbps = 0;  // GPU -> DRAM direction
  double dram_bw_gbps = 0;
  std::optional<double> hbm_capacity_gb;  // total HBM; needed only for `hbm_capacity_gb` capacity
  std::optional<double> dram_capacity_gb; // the off-package DRAM KV may spill to; unknown: no check
  double link_transfer_overhead_bytes = 0; // O: link bytes each transfer costs beside its payload
};

const std::vector<HardwareSpec>& hardware_presets();
const HardwareSpec* find_hardware_preset(const std::string& name);
std::vector<std::string> hardware_preset_names();  // in preset order

}  // namespace kvsweep::config
