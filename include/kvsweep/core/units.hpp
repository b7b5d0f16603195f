#pragma once
// Units inside kvsweep: bytes are counted as doubles (totals exceed 2^53 only past 9 PB), time in
// seconds, bandwidth in bytes per second. External names always carry their unit (`link_read_gbps`,
// `total_time_s`); GB/s in configuration means 1e9 bytes per second.

namespace kvsweep::core {

inline constexpr double kGB = 1e9;

constexpr double gbps_to_bytes_per_s(double gbps) { return gbps * kGB; }
constexpr double gb_to_bytes(double gb) { return gb * kGB; }

}  // namespace kvsweep::core
