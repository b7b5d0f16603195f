#pragma once
// Lines of a (possibly huge) text file, read in big blocks: one fread per 4 MiB instead of one stream
// call per line or number. For importers that parse lines themselves (the paper's 30 GB trace CSV).

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kvsweep::io {

class LineReader {
 public:
  // Opens `path` and starts at byte `offset`, taking `lines_before` lines as already read (so that
  // line_number() stays the file's own 1-based numbering). Throws core::InputError (where = path)
  // when the file cannot be opened.
  explicit LineReader(const std::string& path, std::uint64_t offset = 0, std::uint64_t lines_before = 0);

  // The next line without its "\n" or "\r\n" (a last line without "\n" counts); false at the end.
  // The view stays valid until the next call. Lines longer than the buffer grow it. Throws
  // std::runtime_error on a read error.
  bool next(std::string_view& line) {
    while (true) {
      const void* nl = std::memchr(buf_.data() + scan_, '\n', end_ - scan_);
      if (nl != nullptr) {
        return take(static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data()), 1, line);
      }
      scan_ = end_;
      if (eof_) return begin_ < end_ && take(end_, 0, line);
      refill();
    }
  }
  std::uint64_t line_number() const { return line_; }      // of the line last returned (1-based)
  std::uint64_t offset() const { return base_ + begin_; }  // byte offset just past it

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  bool take(std::size_t stop, std::size_t skip, std::string_view& line) {
    std::size_t len = stop - begin_;
    if (len > 0 && buf_[begin_ + len - 1] == '\r') --len;
    line = std::string_view(buf_.data() + begin_, len);
    begin_ = scan_ = stop + skip;
    ++line_;
    return true;
  }
  void refill();

  std::string path_;
  std::unique_ptr<std::FILE, Closer> f_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, scan_ = 0, end_ = 0;  // next line starts at begin_; '\n' searched from scan_
  std::uint64_t base_;                          // file offset of buf_[0]
  std::uint64_t line_;
  bool eof_ = false;
};

}  // namespace kvsweep::io
