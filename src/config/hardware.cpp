#include "kvsweep/config/hardware.hpp"

#include "named.hpp"

namespace kvsweep::config {

// GB/s and GB are decimal (1e9). "spec" presets are datasheet numbers; gh200-measured holds the
// sustained bandwidths reported for GH200 microbenchmarks (NVLink-C2C is asymmetric in practice).
// (A function-local table: lookups made while other files initialise still see it built.)
const std::vector<HardwareSpec>& hardware_presets() {
  static const std::vector<HardwareSpec> kPresets = {
      // name, hbm_bw_gbps, link_read_gbps, link_write_gbps, dram_bw_gbps, hbm_capacity_gb
      {"paper-table1", 4900, 450, 450, 500, 24.0},  // the paper's Table I (24 GB HBM)
      {"gh200-spec", 4000, 450, 450, 546, 96.0},   {"gh200-measured", 3400, 375, 297, 486, 96.0},
      {"h100-pcie5", 3350, 64, 64, 300, 80.0},  // host DRAM behind PCIe 5.0 x16
      {"gb200", 8000, 450, 450, 512, 192.0},
  };
  return kPresets;
}

const HardwareSpec* find_hardware_preset(const std::string& name) {
  return detail::find_by_name(hardware_presets(), name);
}

std::vector<std::string> hardware_preset_names() { return detail::names_of(hardware_presets()); }

}  // namespace kvsweep::config
