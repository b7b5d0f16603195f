#include "kvsweep/io/line_reader.hpp"

#include <cerrno>
#include <stdexcept>

#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::io {

namespace {
constexpr std::size_t kBlock = std::size_t{1} << 22;
}

LineReader::LineReader(const std::string& path, std::uint64_t offset, std::uint64_t lines_before)
    : path_(path), f_(std::fopen(path.c_str(), "rb")), buf_(kBlock), base_(offset), line_(lines_before) {
  if (!f_) throw core::InputError(path, std::string("cannot open: ") + std::strerror(errno));
  if (offset > 0 && fseeko(f_.get(), static_cast<off_t>(offset), SEEK_SET) != 0) {
    throw core::InputError(path, std::string("cannot seek: ") + std::strerror(errno));
  }
}

void LineReader::refill() {
  if (begin_ > 0) {  // keep the unfinished line, drop what was handed out
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    base_ += begin_;
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one line fills the buffer
  const std::size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_.get());
  if (got == 0) {
    if (std::ferror(f_.get())) throw std::runtime_error(path_ + ": read error: " + std::strerror(errno));
    eof_ = true;
  }
  end_ += got;
}

}  // namespace kvsweep::io
