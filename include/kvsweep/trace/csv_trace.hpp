#pragma once
// The paper authors' trace format: a CSV file with a header line (any text), then one line per decode
// step n and layer l, `n,l,"[t1, t2, ...]"`: the past tokens whose layer-l KV is read at step n.
//   - lines ordered by n then l; every layer 0..L-1 present for every step, in order;
//   - steps consecutive, starting at P = the first n (the prompt length); L = 1 + the largest layer of
//     the first step;
//   - tokens are integers 0..n-1, each at most once per list, in any order; the list may be empty;
//   - the list may be quoted or not; spaces around numbers and separators are optional; blank lines
//     and CRLF line ends are accepted.
// The paper's trace is ~30 GB of text (10,239 steps x 32 layers x ~14k tokens), so nothing here holds
// more than one line (one step for the source) in memory.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

class CsvTrace {
 public:
  // Stop collecting after this many problems: past that, the rest is usually the same mistake.
  static constexpr std::size_t kMaxErrors = 20;

  // Reads the whole file once, checks everything above and determines the shape. Throws
  // core::InputError with one diagnostic per problem (where = "path:line", 1-based), at most
  // kMaxErrors of them (plus one saying it stopped). O(file size), memory O(longest line + n/8).
  static CsvTrace open(const std::string& path);

  const std::string& path() const { return path_; }
  const TraceShape& shape() const { return shape_; }
  // Sum of all list lengths (found while checking; free).
  std::uint64_t total_reads() const { return total_reads_; }

  // A new source streaming the file again from the first step, one step (L lines) per read_step().
  // Sources are independent of each other and of this object. read_step() must be called for
  // n = P, P+1, ... in order (std::logic_error otherwise); it throws core::InputError if the file no
  // longer matches what open() checked.
  std::unique_ptr<TraceSource> source() const;

 private:
  CsvTrace() = default;
  std::string path_;
  TraceShape shape_;
  std::uint64_t total_reads_ = 0;
  std::uint64_t data_offset_ = 0;   // byte offset just after the header line
  std::uint64_t header_lines_ = 0;  // lines before data_offset_ (1)
};

// Writes `source` in the format above (header `n,l,tokens`, lists quoted, tokens ascending), streaming.
void write_csv_trace(TraceSource& source, std::ostream& out);

}  // namespace kvsweep::trace
