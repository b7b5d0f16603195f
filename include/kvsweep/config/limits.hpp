#pragma once
// The physical and practical ranges of a point's numbers (docs/yaml-reference.md lists each key's).
// Every value inside them is evaluated without overflow, without a bound losing its digits to rounding,
// and without an allocation the value alone makes huge; values outside are refused at `validate`, with
// their file:line:col. Sizes that are each in range but together too large for the machine are what the
// memory estimate (sweep/cost.hpp) refuses.

#include <cstdint>

namespace kvsweep::config {

// Bandwidths, GB/s (HBM, link read and write, DRAM). 0.1 GB/s is below any link KV could sit behind
// (PCIe 1.0 x1: 0.25 GB/s); 1e6 GB/s (1 PB/s) is over 100 times the fastest HBM (8 TB/s). Within them
// no two bandwidths differ by more than 1e7, where every bound is exact to 1e-9 (bound/bounds.hpp).
inline constexpr double kMinBandwidthGbps = 0.1;
inline constexpr double kMaxBandwidthGbps = 1e6;

// HBM, GB (hbm_capacity_gb, inline hardware): 1e6 GB (1 PB) is thousands of times any GPU's HBM, and
// keeps C = bytes / e far below 2^53.
inline constexpr double kMaxHbmGb = 1e6;
// KV entries (hbm_kv_capacity_entries): 1e12, over 50 times the largest footprint (P + D) L below.
inline constexpr std::uint64_t kMaxCapacityEntries = 1'000'000'000'000;

// Sequence: P up to 2^24 = 16,777,216 tokens (longer than any model's context, 10M in 2025), D up to
// 2^20 = 1,048,576 (longer than any generation); P + D then fits the 32-bit token indices many times.
inline constexpr std::uint32_t kMaxPromptTokens = 1u << 24;
inline constexpr std::uint32_t kMaxDecodeTokens = 1u << 20;

// Batches (issue 25): up to 4096 sequences (vendor sizing tops out at 500 concurrent); blocks of up to
// 4096 tokens, a power of two (vLLM 16, SGLang 64 or 256, LMCache 256); a per-transfer cost of up to
// 1e9 bytes (a 1 ms call at 1 TB/s: far beyond any measured DMA or launch overhead).
inline constexpr std::uint32_t kMaxBatchSize = 4096;
inline constexpr std::uint32_t kMaxBlockTokens = 4096;
inline constexpr double kMaxTransferOverheadBytes = 1e9;
inline constexpr double kMaxDramGb = 1e6;

// Inline models: up to 1024 layers (the largest models have 126), KV bytes per token and layer in
// [1, 2^24] (an MHA layer of hidden size 2^20 in fp32 is 2^23), weights up to 1e12 bytes per layer
// (75 times Llama-3.1-405B's in fp32).
inline constexpr std::uint32_t kMaxLayers = 1024;
inline constexpr double kMaxKvBytesPerTokenLayer = 16'777'216;
inline constexpr double kMaxWeightBytesPerLayer = 1e12;

}  // namespace kvsweep::config
