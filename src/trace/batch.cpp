#include "kvsweep/trace/batch.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include <tbb/parallel_for.h>

namespace kvsweep::trace {

using core::kWordBits;
using core::Word;

void expand_to_blocks(const TraceShape& shape, std::uint32_t n, core::TokenBitset& reads) {
  const std::uint32_t k = shape.block_tokens;
  if (k == 1) return;
  for (std::uint32_t b = 0; b < shape.batch_size(); ++b) {
    const std::size_t begin = shape.base(b), end = shape.new_entry(b, n);  // tokens that exist before step n's
    for (std::size_t p = begin; p < end; p += k) {
      const std::size_t block_end = std::min(p + k, end);
      if (reads.count_range(p, block_end) != 0) reads.set_range(p, block_end);
    }
  }
}

namespace {

class BatchSource final : public TraceSource {
 public:
  BatchSource(std::vector<std::unique_ptr<TraceSource>> sequences, std::uint32_t block_tokens, bool read_blocks)
      : sequences_(std::move(sequences)), read_blocks_(read_blocks) {
    const TraceShape first = sequences_.at(0)->shape();
    shape_.prompt_tokens = first.prompt_tokens;
    shape_.decode_tokens = first.decode_tokens;
    shape_.layers = first.layers;
    shape_.block_tokens = block_tokens;
    for (std::size_t b = 0; b < sequences_.size(); ++b) {
      const TraceShape s = sequences_[b]->shape();
      if (s.decode_tokens != first.decode_tokens || s.layers != first.layers || s.batched()) {
        throw std::invalid_argument("sequence " + std::to_string(b) + " has D = " + std::to_string(s.decode_tokens) +
                                    ", L = " + std::to_string(s.layers) + " but sequence 0 has D = " +
                                    std::to_string(first.decode_tokens) + ", L = " + std::to_string(first.layers));
      }
      if (sequences_.size() > 1) shape_.prompts.push_back(s.prompt_tokens);
    }
    for (std::uint32_t b = 0; b < shape_.batch_size() && sequences_.size() > 1; ++b) {
      const TraceShape s = sequences_[b]->shape();
      scratch_.emplace_back(s.layers, core::TokenBitset(s.total_tokens()));
      base_words_.push_back(shape_.base(b) / kWordBits);
    }
    for (std::uint32_t b = 0; b < shape_.batch_size() && sequences_.size() > 1; ++b) {
      const auto end = static_cast<std::ptrdiff_t>(base_words_[b] + scratch_[b][0].word_count());
      const auto next = static_cast<std::ptrdiff_t>(b + 1 < shape_.batch_size() ? base_words_[b + 1] : core::words_for(shape_.space()));
      if (end < next) gaps_.emplace_back(end, next);
    }
  }

  TraceShape shape() const override { return shape_; }

  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    const std::uint32_t i = n - shape_.prompt_tokens;
    if (sequences_.size() == 1) {
      sequences_[0]->read_step(n, reads);
    } else {
      // Sequences are independent streams and write disjoint words (their segments): one task each; the
      // words between segments are cleared.
      for (auto& r : reads) {
        for (const auto& [from, to] : gaps_) std::fill(r.words().begin() + from, r.words().begin() + to, Word{0});
      }
      tbb::parallel_for(std::size_t{0}, sequences_.size(), [&](std::size_t b) {
        auto& rows = scratch_[b];
        sequences_[b]->read_step(sequences_[b]->shape().prompt_tokens + i, rows);
        for (std::uint32_t l = 0; l < shape_.layers; ++l) {
          const std::span<const Word> from = rows[l].words();
          std::copy(from.begin(), from.end(), reads[l].words().begin() + static_cast<std::ptrdiff_t>(base_words_[b]));
        }
      });
    }
    if (read_blocks_) {
      for (auto& r : reads) expand_to_blocks(shape_, n, r);
    }
  }

 private:
  std::vector<std::unique_ptr<TraceSource>> sequences_;
  bool read_blocks_;
  TraceShape shape_;
  std::vector<std::vector<core::TokenBitset>> scratch_;
  std::vector<std::size_t> base_words_;
  std::vector<std::pair<std::ptrdiff_t, std::ptrdiff_t>> gaps_;  // words of no segment: [from, to)
};

}  // namespace

std::unique_ptr<TraceSource> make_batch_source(std::vector<std::unique_ptr<TraceSource>> sequences,
                                               std::uint32_t block_tokens, bool read_blocks) {
  if (sequences.size() == 1 && block_tokens == 1) return std::move(sequences[0]);
  return std::make_unique<BatchSource>(std::move(sequences), block_tokens, read_blocks && block_tokens > 1);
}

}  // namespace kvsweep::trace
