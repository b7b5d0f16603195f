#pragma once
// A token-importance trace: for every decode step n = P .. P+D-1 and layer l, the set S(n, l) of past
// tokens whose layer-l KV is read. Sources stream it step by step; nothing bigger than one step is
// materialised unless the source is small.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kvsweep/core/token_bitset.hpp"

namespace kvsweep::trace {

struct TraceShape {
  std::uint32_t prompt_tokens = 0;  // P
  std::uint32_t decode_tokens = 0;  // D
  std::uint32_t layers = 0;         // L
  std::uint32_t total_tokens() const { return prompt_tokens + decode_tokens; }
  bool operator==(const TraceShape&) const = default;
};

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  virtual TraceShape shape() const = 0;
  // Fills reads[l] (l < L) with S(n, l) for decode step n. Steps are requested in order P, P+1, ...
  // each exactly once. Every bitset has capacity >= total_tokens(); bits >= n are left zero.
  // Throws core::InputError (with file:line) when a file-backed source meets bad input.
  virtual void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) = 0;
};

// A fully materialised trace: tokens[(n - P) * L + l] is the sorted list S(n, l). For tests, small
// imported files and the exhaustive search.
struct ExplicitTrace {
  TraceShape shape;
  std::vector<std::vector<std::uint32_t>> tokens;

  const std::vector<std::uint32_t>& reads(std::uint32_t n, std::uint32_t l) const {
    return tokens[static_cast<std::size_t>(n - shape.prompt_tokens) * shape.layers + l];
  }
  std::vector<std::uint32_t>& reads(std::uint32_t n, std::uint32_t l) {
    return tokens[static_cast<std::size_t>(n - shape.prompt_tokens) * shape.layers + l];
  }
};

// Streams an ExplicitTrace (which must outlive the source).
std::unique_ptr<TraceSource> make_explicit_source(const ExplicitTrace& trace);
// Reads a whole source into memory (small traces only).
ExplicitTrace materialise(TraceSource& source);

}  // namespace kvsweep::trace
