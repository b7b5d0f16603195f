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

// A lone sequence, or a batch of B sequences that decode in lockstep (docs/cost-model.md "Batches and
// blocks"). Decode steps are labelled n = P .. P + D - 1 with P = prompt_tokens; at step n sequence b
// appends its token P_b + (n - P). Every layer has one token space of space() positions (entries): a lone
// sequence's tokens sit at their own positions 0 .. P + D - 1; in a batch, sequence b owns the segment
// [base(b), base(b) + P_b + D) and its token t sits at base(b) + t. Segments start on a multiple of
// alignment() (64 bits, or k when a block is longer), so word and block boundaries never straddle two
// sequences. A batch of one is always written as a lone sequence (prompts empty).
struct TraceShape {
  std::uint32_t prompt_tokens = 0;  // P: a lone sequence's prompt; in a batch, P_0 (steps are labelled by it)
  std::uint32_t decode_tokens = 0;  // D
  std::uint32_t layers = 0;         // L
  std::vector<std::uint32_t> prompts = {};  // P_b of a batch's sequences (B >= 2 of them); empty: lone
  std::uint32_t block_tokens = 1;   // k: placement unit, tokens of one sequence and layer (a power of two)

  // One past the last step label, P + D (a lone sequence's token count).
  std::uint32_t total_tokens() const { return prompt_tokens + decode_tokens; }
  bool batched() const { return !prompts.empty(); }
  std::uint32_t batch_size() const { return prompts.empty() ? 1U : static_cast<std::uint32_t>(prompts.size()); }
  std::uint32_t prompt(std::uint32_t b) const { return prompts.empty() ? prompt_tokens : prompts[b]; }
  std::size_t alignment() const { return block_tokens > 64 ? block_tokens : 64; }
  // First position of sequence b's segment (0 for a lone sequence).
  std::size_t base(std::uint32_t b) const;
  // Positions per layer: P + D for a lone sequence, else the last segment's end.
  std::size_t space() const { return prompts.empty() ? total_tokens() : base(batch_size() - 1) + prompts.back() + decode_tokens; }
  // The position of sequence b's token at step n (n = P: its first decode token).
  std::size_t new_entry(std::uint32_t b, std::uint32_t n) const { return base(b) + prompt(b) + (n - prompt_tokens); }
  // Sum over the batch of (P_b + D): the final KV footprint per layer, in entries.
  std::uint64_t footprint_tokens() const;
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
