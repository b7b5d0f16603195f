#include "kvsweep/trace/h5_trace.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/version.hpp"
#include "kvsweep/io/h5.hpp"

namespace kvsweep::trace {

namespace {

constexpr hsize_t kTokenChunk = hsize_t{1} << 20;
constexpr hsize_t kOffsetChunk = hsize_t{1} << 16;
constexpr int kDeflateLevel = 4;
// Room for a few decompressed token chunks, so a step spanning a chunk boundary decompresses each once.
constexpr std::size_t kTokenCacheBytes = std::size_t{16} << 20;
constexpr std::size_t kOffsetCacheBytes = std::size_t{4} << 20;

// Collects values and appends them in whole chunks: a compressed chunk written in pieces would be
// read back, decompressed and recompressed for every piece.
template <class T>
class ChunkedAppender {
 public:
  ChunkedAppender(io::Dataset& ds, hsize_t chunk) : ds_(ds), chunk_(chunk) { buf_.reserve(2 * chunk); }
  void push(T v) { buf_.push_back(v); }
  // Writes every whole chunk collected so far (or everything, when `all`).
  void drain(bool all = false) {
    const std::size_t n = all ? buf_.size() : buf_.size() / chunk_ * chunk_;
    if (n == 0) return;
    ds_.append(std::span<const T>(buf_.data(), n));
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
  }

 private:
  io::Dataset& ds_;
  std::size_t chunk_;
  std::vector<T> buf_;
};

std::uint64_t write_trace_body(TraceSource& source, io::File& file) {
  const TraceShape s = source.shape();
  const hid_t root = file.id();
  io::write_attribute(root, "format", kH5TraceFormat);
  io::write_attribute(root, "format_version", kH5TraceVersion);
  io::write_attribute(root, "prompt_tokens", s.prompt_tokens);
  io::write_attribute(root, "decode_tokens", s.decode_tokens);
  io::write_attribute(root, "layers", s.layers);
  io::write_attribute(root, "created_by", core::version_string());

  io::Dataset offsets =
      io::Dataset::create_appendable(root, "offsets", H5T_STD_U64LE, {kOffsetChunk, kDeflateLevel, true});
  io::Dataset tokens =
      io::Dataset::create_appendable(root, "tokens", H5T_STD_U32LE, {kTokenChunk, kDeflateLevel, true});
  ChunkedAppender<std::uint64_t> off_out(offsets, kOffsetChunk);
  ChunkedAppender<std::uint32_t> tok_out(tokens, kTokenChunk);

  std::vector<core::TokenBitset> step(s.layers, core::TokenBitset(s.total_tokens()));
  std::uint64_t written = 0;
  off_out.push(0);
  for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
    source.read_step(n, step);
    for (std::uint32_t l = 0; l < s.layers; ++l) {
      const core::Word* words = step[l].data();
      // Only bits < n: the contract says the rest is zero, but a stray bit must not become a token.
      for (std::size_t w = 0; w < core::words_for(n); ++w) {
        for (core::Word x = words[w] & core::valid_mask(w, n); x != 0; x &= x - 1) {
          tok_out.push(static_cast<std::uint32_t>(w * core::kWordBits +
                                                  static_cast<std::size_t>(std::countr_zero(x))));
          ++written;
        }
      }
      off_out.push(written);
    }
    tok_out.drain();
    off_out.drain();
  }
  tok_out.drain(true);
  off_out.drain(true);
  return written;
}

class H5Source final : public TraceSource {
 public:
  H5Source(std::string path, io::File file, io::Dataset offsets, io::Dataset tokens, TraceShape shape,
           std::uint64_t token_count)
      : path_(std::move(path)),
        file_(std::move(file)),
        offsets_(std::move(offsets)),
        tokens_(std::move(tokens)),
        shape_(shape),
        token_count_(token_count),
        offs_(shape.layers + std::size_t{1}) {}

  TraceShape shape() const override { return shape_; }

  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    if (n < shape_.prompt_tokens || n >= shape_.total_tokens()) {
      throw std::logic_error("H5Source: step " + std::to_string(n) + " outside the trace");
    }
    const std::uint32_t L = shape_.layers;
    const std::uint64_t row0 = static_cast<std::uint64_t>(n - shape_.prompt_tokens) * L;
    try {
      offsets_.read<std::uint64_t>(row0, std::span<std::uint64_t>(offs_));
      for (std::uint32_t l = 0; l < L; ++l) {
        if (offs_[l + 1] < offs_[l] || offs_[l + 1] > token_count_)
          bad(n, l, "offsets decrease or run past /tokens");
      }
      toks_.resize(offs_[L] - offs_[0]);
      tokens_.read<std::uint32_t>(offs_[0], std::span<std::uint32_t>(toks_));
    } catch (const io::H5Error& e) {
      throw core::InputError(path_, std::string("cannot read step ") + std::to_string(n) + ": " + e.what());
    }
    for (std::uint32_t l = 0; l < L; ++l) {
      core::TokenBitset& bits = reads[l];
      bits.clear();
      core::Word* words = bits.data();
      std::int64_t prev = -1;
      for (std::uint64_t i = offs_[l] - offs_[0]; i < offs_[l + 1] - offs_[0]; ++i) {
        const std::uint32_t t = toks_[i];
        if (t >= n || static_cast<std::int64_t>(t) <= prev) bad(n, l, "tokens must be ascending and < n");
        prev = t;
        words[t / core::kWordBits] |= core::Word{1} << (t % core::kWordBits);
      }
    }
  }

 private:
  [[noreturn]] void bad(std::uint32_t n, std::uint32_t l, const std::string& what) const {
    throw core::InputError(
        path_, "row of step " + std::to_string(n) + ", layer " + std::to_string(l) + " is corrupt: " + what);
  }

  std::string path_;
  io::File file_;
  io::Dataset offsets_;
  io::Dataset tokens_;
  TraceShape shape_;
  std::uint64_t token_count_;
  std::vector<std::uint64_t> offs_;
  std::vector<std::uint32_t> toks_;
};

// Reads a shape attribute into `out`, adding a diagnostic when it is missing or out of range.
void shape_attribute(hid_t root, const char* name, std::uint32_t& out, core::DiagnosticSink& sink,
                     const std::string& path) {
  if (!io::has_attribute(root, name)) {
    sink.add(path, std::string("attribute '") + name + "' is missing");
    return;
  }
  const std::int64_t v = io::read_attribute<std::int64_t>(root, name);
  if (v < 0 || v > std::numeric_limits<std::int32_t>::max()) {
    sink.add(path,
             std::string("attribute '") + name + "' is " + std::to_string(v) + "; allowed 0..2147483647");
    return;
  }
  out = static_cast<std::uint32_t>(v);
}

// Opens a 1-D integer dataset, or adds a diagnostic and returns an invalid handle. The chunk cache is
// set here, at the first open: HDF5 shares one cache among all handles of a dataset.
io::Dataset integer_vector(hid_t root, const char* name, std::size_t cache_bytes, core::DiagnosticSink& sink,
                           const std::string& path) {
  if (!io::has_link(root, name)) {
    sink.add(path, std::string("dataset '/") + name + "' is missing");
    return {};
  }
  io::Dataset ds = io::Dataset::open(root, name, cache_bytes);
  if (ds.type().type_class() != H5T_INTEGER || ds.space().dims().size() != 1) {
    sink.add(path, std::string("dataset '/") + name + "' must be a 1-D integer dataset");
    return {};
  }
  return ds;
}

std::unique_ptr<TraceSource> open_checked(const std::string& path) {
  io::File file = io::File::open(path);
  const hid_t root = file.id();
  core::DiagnosticSink sink;
  const std::string format =
      io::has_attribute(root, "format") ? io::read_attribute<std::string>(root, "format") : "";
  if (format != kH5TraceFormat) {
    throw core::InputError(path, "not a kvsweep trace: attribute 'format' is '" + format + "', expected '" +
                                     kH5TraceFormat + "'");
  }
  const std::int64_t version = io::has_attribute(root, "format_version")
                                   ? io::read_attribute<std::int64_t>(root, "format_version")
                                   : -1;
  if (version != kH5TraceVersion) {
    throw core::InputError(path, "unsupported format_version " + std::to_string(version) +
                                     "; this kvsweep reads " + std::to_string(kH5TraceVersion));
  }
  TraceShape shape;
  shape_attribute(root, "prompt_tokens", shape.prompt_tokens, sink, path);
  shape_attribute(root, "decode_tokens", shape.decode_tokens, sink, path);
  shape_attribute(root, "layers", shape.layers, sink, path);
  if (sink.empty() && (shape.decode_tokens == 0 || shape.layers == 0)) {
    sink.add(path, "decode_tokens and layers must be at least 1");
  }
  if (sink.empty() && shape.prompt_tokens == 0) {
    sink.add(path,
             "attribute 'prompt_tokens' is 0, so the trace has no prompt; P, its first decode step, must "
             "be at least 1 (at step 0 no KV exists to place or read)");
  }
  io::Dataset offsets = integer_vector(root, "offsets", kOffsetCacheBytes, sink, path);
  io::Dataset tokens = integer_vector(root, "tokens", kTokenCacheBytes, sink, path);
  sink.throw_if_any();

  const std::uint64_t rows = static_cast<std::uint64_t>(shape.decode_tokens) * shape.layers;
  const std::uint64_t token_count = tokens.length();
  if (offsets.length() != rows + 1) {
    sink.add(path, "dataset '/offsets' has " + std::to_string(offsets.length()) +
                       " entries; decode_tokens * layers + 1 = " + std::to_string(rows + 1) + " expected");
  } else {
    const auto first = offsets.read<std::uint64_t>(0, 1);
    const auto last = offsets.read<std::uint64_t>(rows, 1);
    if (first[0] != 0 || last[0] != token_count) {
      sink.add(path, "dataset '/offsets' must start at 0 and end at the length of '/tokens' (" +
                         std::to_string(token_count) + "); found " + std::to_string(first[0]) + ".." +
                         std::to_string(last[0]));
    }
  }
  sink.throw_if_any();
  return std::make_unique<H5Source>(path, std::move(file), std::move(offsets), std::move(tokens), shape,
                                    token_count);
}

}  // namespace

std::uint64_t write_h5_trace(TraceSource& source, const std::string& path, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) {
    throw core::InputError(path, "output file exists; pass --force to overwrite it");
  }
  const std::string tmp = path + ".tmp";
  std::uint64_t total = 0;
  try {
    io::File file = io::File::create(tmp, /*overwrite=*/true);
    total = write_trace_body(source, file);
    file.close();  // checked: the last metadata reaches the disk here
    fs::rename(tmp, path);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  return total;
}

std::unique_ptr<TraceSource> open_h5_trace(const std::string& path) {
  try {
    return open_checked(path);
  } catch (const io::H5Error& e) {
    throw core::InputError(path, std::string("not a readable kvsweep HDF5 trace: ") + e.what());
  }
}

}  // namespace kvsweep::trace
