#pragma once
// A batch of sequences as one trace (docs/design/batches.md): each sequence's own source (a synthetic
// stream, a recorded file) is read step by step and copied into its segment of the batch's token space
// (TraceShape::base), as words. Also blocks: the shape carries k, and with read_unit: block a step reads
// every existing token of each block it selects a token of (page-sparse attention).

#include <memory>
#include <vector>

#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

// The batch of `sequences` (each a lone sequence; all with the same D and L, else std::invalid_argument
// naming the first that differs) placed in blocks of `block_tokens` (a power of two), reading whole
// blocks when `read_blocks`. One lone sequence with k = 1 and token reads is returned as it is.
std::unique_ptr<TraceSource> make_batch_source(std::vector<std::unique_ptr<TraceSource>> sequences,
                                               std::uint32_t block_tokens, bool read_blocks);

// With read_unit: block: every selected block of `reads` (one layer of step n) filled with its existing
// tokens (those of sequence b before its token at step n).
void expand_to_blocks(const TraceShape& shape, std::uint32_t n, core::TokenBitset& reads);

}  // namespace kvsweep::trace
