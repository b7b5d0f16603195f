#pragma once
// kvsweep's own trace file: compact, random-access, ~10x smaller and far faster to read than the CSV.
//
//   attributes on "/":  format = "kvsweep-trace", format_version = 1,
//                       prompt_tokens (P), decode_tokens (D), layers (L), created_by (informative)
//   /offsets  uint64[D*L + 1]   row i = (n - P) * L + l spans /tokens[offsets[i], offsets[i+1])
//   /tokens   uint32[...]       S(n, l), ascending within a row; chunks of 1 Mi, shuffle + deflate 4
//
// Readable from Python with h5py: tokens[offsets[i]:offsets[i+1]].

#include <cstdint>
#include <memory>
#include <string>

#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

inline constexpr const char* kH5TraceFormat = "kvsweep-trace";
inline constexpr std::int64_t kH5TraceVersion = 1;

// Streams `source` (steps P..P+D-1, one at a time) into `path`. Writes `path + ".tmp"` and renames it
// over `path` only once everything is written, so a failure (bad input met half way, full disk)
// leaves no half file and an existing `path` untouched. Throws core::InputError (where = path) if
// `path` exists and !overwrite. Returns the number of tokens written (the total reads).
std::uint64_t write_h5_trace(TraceSource& source, const std::string& path, bool overwrite = false);

// Opens and validates a trace written by write_h5_trace (attributes, dataset kinds and lengths; bad
// input -> core::InputError naming the file and every problem found). The source reads one step per
// read_step() with two hyperslab reads; steps may be read in any order. Per step it checks that
// offsets grow and that tokens are ascending and < n (InputError otherwise).
std::unique_ptr<TraceSource> open_h5_trace(const std::string& path);

}  // namespace kvsweep::trace
