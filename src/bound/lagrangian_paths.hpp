#pragma once
// The inner problem of the Lagrangian bound (bound/lagrangian.hpp): for fixed prices, every entry's
// cheapest in/out path through the states, all entries of a layer at once, state by state.

#include <tbb/enumerable_thread_specific.h>

#include <cstdint>
#include <vector>

#include "kvsweep/bound/lagrangian.hpp"

namespace kvsweep::bound::detail {

// Event prices of one layer in units of e / B_hbm, per step j (promotions at step j land in state
// j + 1; a hit at step j is read from state j), and the shared price of holding an entry in state i.
// Per token for both kinds of path; `transfer` only for block paths (token paths, k = 1, have it folded
// into hit and prefetch by the caller: there every miss and every prefetch is a transfer of its own).
template <class V>
struct LayerPrices {
  std::vector<V> hit;       // [j]
  std::vector<V> piggyback; // [j]: also keeping a new entry
  std::vector<V> prefetch;  // [j]
  std::vector<V> transfer;  // [j]: a block crossing towards the GPU (blocks only)
};

// The sequences' segments of a layer's token space (trace::TraceShape's layout): the word of each
// segment's first position (a multiple of 64 tokens and of k) and its prompt P_b. One, at word 0, for a
// lone sequence. In state i sequence b's tokens 0 .. P_b + i - 1 exist; token P_b + i - 1 was created by
// step i - 1.
struct Segment {
  std::size_t word;
  std::uint32_t prompt;
};
std::vector<Segment> segments_of(const trace::TraceShape& shape);

// Every entry of layer l: its cheapest path at these prices (token paths: k = 1). Adds the layer's hits, piggy-backs,
// prefetches and kept new entries at (j, l) into `counts` (which must be sized), and its held entries
// per state into occupancy[i]; with held_bits (D * words), the entries each path holds in state i at
// held_bits[i * words]. Memory: two values per token and two bits per token and state.
// Thread-safe for different layers with different `occupancy` vectors.
// Per-thread working memory of the paths (two values per token, two bits per token and state): kept by
// the caller for as long as passes go on, so that each pass reuses it, and released with it.
template <class V>
struct PathScratch {
  std::vector<V> in, out;       // cheapest cost so far ending in / out of HBM, per token (block)
  std::vector<core::Word> from_out;  // [i * W + w]: the entry in at state i came from out (a promotion)
  std::vector<core::Word> from_in;   // [i * W + w]: the entry out at state i was in at state i - 1
  std::vector<core::Word> cur;       // traceback: in at the current state
  // Block paths only, per block g and state i at [i * blocks + g]: its tokens read at step i, and how
  // its path reached state i (kFromOut, kFromIn bits, as from_out and from_in); per block, held now.
  std::vector<std::uint16_t> block_reads;
  std::vector<std::uint8_t> block_step;
  std::vector<std::uint8_t> held;
};
template <class V>
using ScratchPool = tbb::enumerable_thread_specific<PathScratch<V>>;

template <class V>
void cheapest_paths(const StepMajorReads& reads, std::uint32_t l, const LayerPrices<V>& prices,
                    const std::vector<V>& hold, PathCounts& counts, std::vector<std::uint64_t>& occupancy,
                    PathKernel kernel, PathScratch<V>& scratch, core::Word* held_bits = nullptr);

extern template void cheapest_paths<float>(const StepMajorReads&, std::uint32_t, const LayerPrices<float>&,
                                           const std::vector<float>&, PathCounts&, std::vector<std::uint64_t>&,
                                           PathKernel, PathScratch<float>&, core::Word*);
extern template void cheapest_paths<double>(const StepMajorReads&, std::uint32_t, const LayerPrices<double>&,
                                            const std::vector<double>&, PathCounts&, std::vector<std::uint64_t>&,
                                            PathKernel, PathScratch<double>&, core::Word*);

// Every block of k >= 2 tokens of layer l: its cheapest in / out path at these prices, the block
// resident as a whole (k entries of capacity once its first token exists, a promotion brings all its
// existing tokens, one transfer per crossing). Adds to `counts` as cheapest_paths does, and the
// transfers; occupancy counts k per resident block; held_bits the existing tokens of the held blocks.
// Blocks that were whole before a step and take no new token (all but one per sequence) go through one
// plain loop the compiler vectorises; a block is one value per state, k tokens' worth of work.
template <class V>
void cheapest_block_paths(const StepMajorReads& reads, std::uint32_t l, const LayerPrices<V>& prices,
                          const std::vector<V>& hold, PathCounts& counts, std::vector<std::uint64_t>& occupancy,
                          PathScratch<V>& scratch, core::Word* held_bits = nullptr);

extern template void cheapest_block_paths<float>(const StepMajorReads&, std::uint32_t, const LayerPrices<float>&,
                                                 const std::vector<float>&, PathCounts&, std::vector<std::uint64_t>&,
                                                 PathScratch<float>&, core::Word*);
extern template void cheapest_block_paths<double>(const StepMajorReads&, std::uint32_t, const LayerPrices<double>&,
                                                  const std::vector<double>&, PathCounts&, std::vector<std::uint64_t>&,
                                                  PathScratch<double>&, core::Word*);

// The existing blocks of layer l in state j by how many of their tokens step j reads: hist[r] blocks
// with r reads (hist sized k + 1).
void block_read_histogram(const StepMajorReads& reads, std::uint32_t l, std::uint32_t j, std::vector<std::uint32_t>& hist);

bool kernel_supported(PathKernel k);

}  // namespace kvsweep::bound::detail
