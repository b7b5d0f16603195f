#include "kvsweep/config/hardware.hpp"

#include "named.hpp"

namespace kvsweep::config {

// GB/s and GB are decimal (1e9). "spec" presets are datasheet numbers; gh200-measured holds the
// sustained bandwidths reported for GH200 microbenchmarks (NVLink-C2C is asymmetric in practice).
// (A function-local table: lookups made while other files initialise still see it built.)
const std::vector<HardwareSpec>& hardware_presets() {
  // dram_capacity_gb: the paper's Table I (480 GB); GH200's 480 GB LPDDR5X (NVIDIA GH200 datasheet); an
  // H100 PCIe server's host memory, 2 TB as in DGX H100 (NVIDIA DGX H100 datasheet); GB200: one Grace's 480
  // GB LPDDR5X shared by its two B200 GPUs, 240 GB each (NVIDIA GB200 NVL72 datasheet).
  // link_transfer_overhead_bytes O: 0 where no measurement exists (every GH200/GB200 preset: no public
  // curve of fine-grained copies over NVLink-C2C, ../docs/cost-model.md); h100-pcie5 from the batched-DMA
  // curve of H100 over PCIe 5.0 (vllm-project/vllm PR 42212: one cuMemcpyBatchAsync of N pages reaches half
  // its ~50 GB/s peak at ~24-28 KiB per page, so a page of s bytes costs as if it were s + O with O = 24 KiB).
  static const std::vector<HardwareSpec> kPresets = {
      // name, hbm_bw_gbps, link_read_gbps, link_write_gbps, dram_bw_gbps, hbm_capacity_gb, dram_capacity_gb, O
      {"paper-table1", 4900, 450, 450, 500, 24.0, 480.0, 0},  // the paper's Table I (24 GB HBM)
      {"gh200-spec", 4000, 450, 450, 546, 96.0, 480.0, 0},
      {"gh200-measured", 3400, 375, 297, 486, 96.0, 480.0, 0},
      {"h100-pcie5", 3350, 64, 64, 300, 80.0, 2048.0, 24576},  // host DRAM behind PCIe 5.0 x16
      {"gb200", 8000, 450, 450, 512, 192.0, 240.0, 0},
  };
  return kPresets;
}

const HardwareSpec* find_hardware_preset(const std::string& name) {
  return detail::find_by_name(hardware_presets(), name);
}

std::vector<std::string> hardware_preset_names() { return detail::names_of(hardware_presets()); }

}  // namespace kvsweep::config
