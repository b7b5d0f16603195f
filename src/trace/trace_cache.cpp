#include "kvsweep/trace/trace_cache.hpp"

#include <algorithm>

namespace kvsweep::trace {

// Reads through the real source and copies each row's words below the step's last new token (the bits
// from there on are zero: no row reads a token that does not exist before step n).
class RecordingSource final : public TraceSource {
 public:
  RecordingSource(TraceCache& cache, std::unique_ptr<TraceSource> real) : cache_(cache), real_(std::move(real)) {}
  ~RecordingSource() override { cache_.recording_ = false; }

  TraceShape shape() const override { return cache_.shape_; }
  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    real_->read_step(n, reads);
    const std::size_t words = cache_.row_words(n);
    core::Word* out = cache_.words_.data() + cache_.offset(n);
    for (std::uint32_t l = 0; l < cache_.shape_.layers; ++l) std::copy_n(reads[l].data(), words, out + l * words);
    if (n + 1 == cache_.shape_.total_tokens()) cache_.complete_ = true;
  }

 private:
  TraceCache& cache_;
  std::unique_ptr<TraceSource> real_;
};

class ReplaySource final : public TraceSource {
 public:
  explicit ReplaySource(const TraceCache& cache) : cache_(cache) {}
  TraceShape shape() const override { return cache_.shape_; }
  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    const std::size_t words = cache_.row_words(n);
    const core::Word* in = cache_.words_.data() + cache_.offset(n);
    for (std::uint32_t l = 0; l < cache_.shape_.layers; ++l) {
      core::Word* row = reads[l].data();
      std::copy_n(in + l * words, words, row);
      std::fill(row + words, row + reads[l].word_count(), core::Word{0});
    }
  }

 private:
  const TraceCache& cache_;
};

TraceCache::TraceCache(Factory make, const TraceShape& shape, double max_bytes)
    : make_(std::move(make)), shape_(shape) {
  offsets_.reserve(shape_.decode_tokens + 1);
  std::size_t total = 0;
  for (std::uint32_t n = shape_.prompt_tokens; n < shape_.total_tokens(); ++n) {
    offsets_.push_back(total);
    total += std::size_t{shape_.layers} * row_words(n);
  }
  size_ = total;
  fits_ = static_cast<double>(total) * sizeof(core::Word) <= max_bytes;
}

std::unique_ptr<TraceSource> TraceCache::source() {
  if (complete_) return std::make_unique<ReplaySource>(*this);
  if (!fits_ || recording_) return make_();
  if (words_.empty()) words_.resize(size_);
  recording_ = true;
  return std::make_unique<RecordingSource>(*this, make_());
}

void TraceCache::release() {
  fits_ = false;
  complete_ = false;
  core::HugeVector<core::Word>().swap(words_);
}

}  // namespace kvsweep::trace
