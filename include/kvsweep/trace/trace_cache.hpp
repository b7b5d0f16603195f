#pragma once
// A trace held in memory after its first pass, for evaluations that pass over the same trace many
// times (the tuning of sa_guided's (W, R) makes eight passes at the paper point; the synthetic generator
// costs ~3 s of CPU per pass there, the rows ~1.5 GB). The first source reads through the real one and
// records; once it has been read to the end, later sources replay the rows. A trace larger than the
// budget is never recorded: every source is then the real one.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kvsweep/core/huge_pages.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

class TraceCache {
 public:
  using Factory = std::function<std::unique_ptr<TraceSource>()>;
  TraceCache(Factory make, const TraceShape& shape, double max_bytes);

  // A source over the trace. Sources are read one at a time (a recording one must finish, or be
  // dropped, before the next is asked for).
  std::unique_ptr<TraceSource> source();

  // Bytes the rows take (0 until recorded); whether they are complete.
  std::size_t bytes() const { return words_.size() * sizeof(core::Word); }
  bool complete() const { return complete_; }
  // Frees the rows; later sources are the real one.
  void release();

 private:
  friend class RecordingSource;
  friend class ReplaySource;
  std::size_t offset(std::uint32_t n) const { return offsets_[n - shape_.prompt_tokens]; }
  // Words of one row of step n: those below the position of the last sequence's new token (n for a
  // lone sequence; a batch reads every segment before it).
  std::size_t row_words(std::uint32_t n) const { return core::words_for(shape_.new_entry(shape_.batch_size() - 1, n)); }

  Factory make_;
  TraceShape shape_;
  bool fits_ = false;
  bool recording_ = false;
  bool complete_ = false;
  std::vector<std::size_t> offsets_;  // by decode step: where its L rows of words_for(n) words begin
  std::size_t size_ = 0;              // words of all rows
  core::HugeVector<core::Word> words_;  // from the huge-page arena: reused by the phases after it
};

}  // namespace kvsweep::trace
