#include "kvsweep/trace/csv_trace.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/io/line_reader.hpp"

namespace kvsweep::trace {

namespace {

// Keeps P + D within uint32 (TraceShape::total_tokens()).
constexpr std::uint64_t kMaxNumber = std::numeric_limits<std::uint32_t>::max() - 1;
constexpr const char* kFormat = "lines must be n,l,\"[t1, t2, ...]\" (step, layer, list of past tokens)";
constexpr const char* kLine = "n,l,\"[t1, t2, ...]\" (step, layer, list of past tokens)";

constexpr const char* kNoPrompt =
    "the first step is 0, so the trace has no prompt (P = 0); P, the first step, must be at least 1 "
    "(at step 0 no KV exists to place or read): drop the lines of step 0 to start at P = 1";
constexpr const char* kBinaryLine =
    "binary content (a NUL byte) in this line: not a CSV text trace; lines must be n,l,\"[t1, t2, ...]\"";

std::string at(const std::string& path, std::uint64_t line) { return path + ":" + std::to_string(line); }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Refuses a file whose first bytes show that it is not CSV text: a compressed file (the line parser
// would find "no data lines after the header" in it), an HDF5 file, or other binary content (NUL bytes,
// UTF-16). Reads at most the first 64 KiB.
void refuse_binary(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return;  // the line reader says why
  std::string head(std::size_t{64} << 10, '\0');
  head.resize(std::fread(head.data(), 1, head.size(), f));
  std::fclose(f);

  struct Compressed {
    std::string_view magic;
    const char* kind;
    const char* suffix;
    const char* keep;    // the command that decompresses FILE + suffix beside it
    const char* to_out;  // the command that writes FILE decompressed to stdout
  };
  static constexpr Compressed kCompressed[] = {
      {"\x1f\x8b", "gzip", ".gz", "gunzip -k", "gunzip -c"},
      {"\xfd\x37zXZ", "xz", ".xz", "unxz -k", "xz -dc"},
      {"\x28\xb5\x2f\xfd", "zstd", ".zst", "unzstd -k", "zstd -dc"},
      {"BZh", "bzip2", ".bz2", "bunzip2 -k", "bzip2 -dc"},
      {"PK\x03\x04", "zip", ".zip", "unzip", "unzip -p"},
  };
  for (const auto& c : kCompressed) {
    if (!starts_with(head, c.magic)) continue;
    // "BZh" is ordinary text too: a bzip2 stream continues with the block size and the block magic.
    if (c.kind == std::string_view("bzip2") && (head.size() < 10 || head.compare(4, 6, "1AY&SY") != 0))
      continue;
    const std::string how = ends_with(path, c.suffix)
                                ? std::string(c.keep) + " " + path
                                : std::string(c.to_out) + " " + path + " > decompressed.csv";
    throw core::InputError(at(path, 1), std::string("compressed file (") + c.kind +
                                            "): decompress it first (" + how +
                                            "); a trace is CSV text or a kvsweep HDF5 file");
  }
  static constexpr std::string_view kHdf5 = "\x89HDF\r\n\x1a\n";
  for (std::size_t at_byte = 0; at_byte + kHdf5.size() <= head.size();
       at_byte = at_byte == 0 ? 512 : 2 * at_byte) {
    if (head.compare(at_byte, kHdf5.size(), kHdf5) == 0) {
      throw core::InputError(at(path, 1),
                             "an HDF5 file (signature at byte " + std::to_string(at_byte) +
                                 "), read here as CSV text; give it to trace: {file: ...} as is, "
                                 "kvsweep tells the two formats apart by content");
    }
  }
  if (starts_with(head, "\xff\xfe") || starts_with(head, "\xfe\xff")) {
    throw core::InputError(
        at(path, 1), "UTF-16 text (byte-order mark " + std::string(head[0] == '\xff' ? "FF FE" : "FE FF") +
                         "); save it as UTF-8 or ASCII (iconv -f UTF-16 -t UTF-8 " + path + " > trace.csv)");
  }
  if (const std::size_t nul = head.find('\0'); nul != std::string::npos) {
    const auto line = 1 + static_cast<std::uint64_t>(std::count(
                              head.begin(), head.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
    throw core::InputError(at(path, line),
                           "binary content (a NUL byte at byte " + std::to_string(nul) +
                               "): not a CSV text trace; a trace is CSV text (a header line, then "
                               "lines n,l,\"[t1, t2, ...]\") or a kvsweep HDF5 file");
  }
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

struct Cursor {
  const char* p;
  const char* e;
  void ws() {
    while (p < e && (*p == ' ' || *p == '\t')) ++p;
  }
  bool eat(char c) {
    if (p < e && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool digit_at(const char* q) const { return q < e && static_cast<unsigned>(*q - '0') < 10U; }
  std::string found() const {
    if (p >= e) return "the end of the line";
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(e - p), 16);
    std::string s(1, '\'');  // built by append: GCC 12 warns (-Wrestrict, falsely) on "'" + string
    s.append(p, n).append(static_cast<std::size_t>(e - p) > n ? "...'" : "'");
    return s;
  }
};

// The slow path of number(): says what is wrong at c.p (no digit, or too many) and returns false.
[[gnu::noinline, gnu::cold]] bool number_error(const Cursor& c, const char* what, std::string& err) {
  if (c.digit_at(c.p)) {
    const char* q = c.p;
    while (c.digit_at(q)) ++q;
    err = std::string(what) + " " + std::string(c.p, q) + " is too large; allowed up to " +
          std::to_string(kMaxNumber);
  } else if (c.p < c.e && *c.p == '-' && c.digit_at(c.p + 1)) {
    const char* q = c.p + 1;
    while (c.digit_at(q)) ++q;
    err = std::string("negative ") + what + " " + std::string(c.p, q) +
          "; steps, layers and tokens are non-negative integers";
  } else {
    err = std::string("cannot parse: expected the ") + what + " (a non-negative integer), found " +
          c.found() + "; " + kFormat;
  }
  return false;
}

// Reads a non-negative integer <= kMaxNumber; on failure returns false with `err` saying what was wrong.
// The hot loop of the importer (billions of calls on the paper trace): keep it small and inlined.
[[gnu::always_inline]] inline bool number(Cursor& c, const char* what, std::uint64_t& v, std::string& err) {
  const char* p = c.p;
  if (!c.digit_at(p)) return number_error(c, what, err);
  std::uint64_t x = 0;
  const char* const limit = p + 10;  // 10 digits cannot overflow 64 bits
  do {
    x = x * 10 + static_cast<std::uint64_t>(*p++ - '0');
  } while (p < limit && c.digit_at(p));
  if (x > kMaxNumber || c.digit_at(p)) return number_error(c, what, err);
  c.p = p;
  v = x;
  return true;
}

std::string expected(const Cursor& c, const char* what) {
  return std::string("cannot parse: expected ") + what + ", found " + c.found() + "; " + kFormat;
}

struct LineHead {
  std::uint64_t n = 0;
  std::uint64_t l = 0;
  bool known = false;  // n and l were read (an error, if any, is in the list)
};

// Parses `n,l,"[t1, t2, ...]"`, calling on_token(t) for every token in file order (after n and l are
// in `head`). Returns "" on success, else what is wrong with the line.
template <class OnToken>
std::string parse_line(std::string_view line, LineHead& head, OnToken&& on_token) {
  Cursor c{line.data(), line.data() + line.size()};
  std::string err;
  c.ws();
  if (!number(c, "step", head.n, err)) return err;
  c.ws();
  if (!c.eat(',')) return expected(c, "',' after the step");
  c.ws();
  if (!number(c, "layer", head.l, err)) return err;
  c.ws();
  if (!c.eat(',')) return expected(c, "',' after the layer");
  head.known = true;
  c.ws();
  const bool quoted = c.eat('"');
  c.ws();
  if (!c.eat('[')) return expected(c, "'[' opening the token list");
  c.ws();
  if (!c.eat(']')) {
    while (true) {
      std::uint64_t t = 0;
      if (!number(c, "token", t, err)) return err;
      on_token(t);
      c.ws();
      if (c.eat(',')) {
        c.ws();
        continue;
      }
      if (c.eat(']')) break;
      return expected(c, "',' or ']' after a token");
    }
  }
  c.ws();
  if (quoted && !c.eat('"')) return expected(c, "'\"' closing the quoted token list");
  c.ws();
  if (c.p != c.e) return expected(c, "the end of the line after the token list");
  return err;
}

std::string layer_rule(std::uint64_t layers) {
  return layers == 0 ? std::string("layers must be 0, 1, 2, ... in order")
                     : "layers must be 0.." + std::to_string(layers - 1) + " in order";
}

// The shape and structure checks of CsvTrace::open, fed one data line at a time.
class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}

  bool full() const { return diags_.size() >= CsvTrace::kMaxErrors; }
  const std::vector<core::Diagnostic>& diagnostics() const { return diags_; }
  bool seen_data() const { return have_first_; }

  void line(std::uint64_t line_no, std::string_view text) {
    LineHead head;
    std::string token_err;
    std::uint64_t count = 0;
    const std::string err =
        parse_line(text, head, [&](std::uint64_t t) { check_token(head, t, count, token_err); });
    clear_scratch(head.n);
    last_line_ = line_no;
    if (!err.empty()) {
      add(line_no, text.find('\0') == std::string_view::npos ? err : kBinaryLine);
      // Keep following the structure, so that one bad line is one error, not a cascade.
      if (head.known)
        advance(line_no, head.n, head.l);
      else
        skip_expected();
      return;
    }
    if (!token_err.empty()) add(line_no, token_err);
    total_reads_ += count;
    advance(line_no, head.n, head.l);
  }

  // Call at the end of the file.
  void finish() {
    if (!have_first_) return;
    if (layers_ == 0) layers_ = max_first_l_ + 1;
    if (next_l_ < layers_) {
      add(last_line_, "step " + std::to_string(n_) + ": layer " + std::to_string(next_l_) +
                          " missing at the end of the file; " + layer_rule(layers_));
    }
  }

  TraceShape shape() const {
    return {static_cast<std::uint32_t>(p_), static_cast<std::uint32_t>(n_ - p_ + 1),
            static_cast<std::uint32_t>(layers_)};
  }
  std::uint64_t total_reads() const { return total_reads_; }

 private:
  void add(std::uint64_t line_no, std::string message) {
    if (!full()) diags_.push_back({at(path_, line_no), std::move(message)});
  }

  [[gnu::always_inline]] void check_token(const LineHead& head, std::uint64_t t, std::uint64_t& count,
                                          std::string& err) {
    ++count;
    if (t >= head.n) [[unlikely]] {
      if (err.empty()) err = not_past(head, t);
      return;
    }
    const std::size_t w = t / core::kWordBits;
    if (w >= scratch_.size()) [[unlikely]]
      scratch_.resize(core::words_for(head.n), 0);
    const core::Word bit = core::Word{1} << (t % core::kWordBits);
    if ((scratch_[w] & bit) != 0) [[unlikely]] {
      if (err.empty()) err = duplicate(head, t);
    }
    scratch_[w] |= bit;
  }
  [[gnu::noinline, gnu::cold]] static std::string not_past(const LineHead& head, std::uint64_t t) {
    return "token " + std::to_string(t) + " at step " + std::to_string(head.n) + " is not a past token; " +
           (head.n == 0 ? std::string("step 0 has no past tokens")
                        : "allowed 0.." + std::to_string(head.n - 1));
  }
  [[gnu::noinline, gnu::cold]] static std::string duplicate(const LineHead& head, std::uint64_t t) {
    return "token " + std::to_string(t) + " appears more than once in the list of step " +
           std::to_string(head.n) + ", layer " + std::to_string(head.l) +
           "; each token at most once per list";
  }
  void clear_scratch(std::uint64_t n) {
    std::fill_n(scratch_.begin(), std::min(scratch_.size(), core::words_for(n)), core::Word{0});
  }

  // Takes a line whose step and layer could not be read as the one expected next.
  void skip_expected() {
    if (!have_first_) return;
    if (layers_ > 0 && next_l_ >= layers_) {
      ++n_;
      next_l_ = 1;
      return;
    }
    if (layers_ == 0) max_first_l_ = std::max(max_first_l_, next_l_);
    ++next_l_;
  }

  // Structure: steps consecutive from P, layers 0..L-1 in order within each step.
  void advance(std::uint64_t line_no, std::uint64_t n, std::uint64_t l) {
    if (!have_first_) {
      have_first_ = true;
      p_ = n_ = n;
      next_l_ = 0;
      if (n == 0) add(line_no, kNoPrompt);
    } else if (n != n_) {
      if (layers_ == 0) layers_ = max_first_l_ + 1;  // the first step ends here: L is known
      if (next_l_ < layers_) {
        add(line_no, "step " + std::to_string(n_) + ": layer " + std::to_string(next_l_) + " missing; " +
                         layer_rule(layers_));
      }
      if (n != n_ + 1) {
        add(line_no, "step " + std::to_string(n) + " follows step " + std::to_string(n_) +
                         "; steps must be consecutive (" + std::to_string(n_ + 1) +
                         " expected here), starting at P = " + std::to_string(p_));
      }
      n_ = n;
      next_l_ = 0;
    }
    if (layers_ > 0 && l >= layers_) {
      add(line_no, "step " + std::to_string(n) + ": layer " + std::to_string(l) + " out of range; " +
                       layer_rule(layers_) + " (L from step " + std::to_string(p_) + ")");
    } else if (l > next_l_) {
      add(line_no, "step " + std::to_string(n) + ": layer " + std::to_string(next_l_) + " missing; " +
                       layer_rule(layers_));
    } else if (l < next_l_) {
      add(line_no, "step " + std::to_string(n) + ": layer " + std::to_string(l) +
                       " repeated or out of order (after layer " + std::to_string(next_l_ - 1) + "); " +
                       layer_rule(layers_));
    }
    if (layers_ == 0) max_first_l_ = std::max(max_first_l_, l);
    next_l_ = l + 1;
  }

  const std::string& path_;
  std::vector<core::Diagnostic> diags_;
  std::vector<core::Word> scratch_;  // tokens seen in the current list, for the duplicate check
  bool have_first_ = false;
  std::uint64_t p_ = 0, n_ = 0, next_l_ = 0, layers_ = 0, max_first_l_ = 0;
  std::uint64_t total_reads_ = 0;
  std::uint64_t last_line_ = 0;
};

class CsvSource final : public TraceSource {
 public:
  CsvSource(std::string path, TraceShape shape, std::uint64_t offset, std::uint64_t lines_before)
      : path_(std::move(path)),
        shape_(shape),
        reader_(path_, offset, lines_before),
        next_n_(shape.prompt_tokens) {}

  TraceShape shape() const override { return shape_; }

  void read_step(std::uint32_t n, std::span<core::TokenBitset> reads) override {
    if (n != next_n_ || n >= shape_.total_tokens()) {
      throw std::logic_error("CsvSource: steps must be read once each, in order from P");
    }
    for (std::uint32_t l = 0; l < shape_.layers; ++l) {
      core::TokenBitset& bits = reads[l];
      bits.clear();
      std::string_view text;
      do {
        if (!reader_.next(text))
          changed(reader_.line_number(), "the file ended before step " + std::to_string(n));
      } while (is_blank(text));
      core::Word* words = bits.data();
      bool past = true;
      LineHead head;
      const std::string err = parse_line(text, head, [&](std::uint64_t t) {
        if (t >= n) {
          past = false;
          return;
        }
        words[t / core::kWordBits] |= core::Word{1} << (t % core::kWordBits);
      });
      if (!err.empty()) changed(reader_.line_number(), err);
      if (head.n != n || head.l != l || !past) {
        changed(reader_.line_number(), "expected step " + std::to_string(n) + ", layer " + std::to_string(l) +
                                           " with past tokens only");
      }
    }
    ++next_n_;
  }

 private:
  [[noreturn]] void changed(std::uint64_t line, const std::string& what) {
    throw core::InputError(at(path_, line), what + " (the file changed after it was checked?)");
  }

  std::string path_;
  TraceShape shape_;
  io::LineReader reader_;
  std::uint32_t next_n_;
};

}  // namespace

CsvTrace CsvTrace::open(const std::string& path) {
  io::LineReader reader(path);
  refuse_binary(path);
  CsvTrace trace;
  trace.path_ = path;
  std::string_view text;
  if (!reader.next(text)) {
    throw core::InputError(at(path, 1),
                           std::string("empty file; a trace is a header line, then lines ") + kLine);
  }
  // A first line that parses as data is still the header (the format always has one); say so if the
  // file turns out bad, since a missing header is then the likely cause.
  LineHead probe;
  const bool header_is_data = parse_line(text, probe, [](std::uint64_t) {}).empty();
  trace.data_offset_ = reader.offset();
  trace.header_lines_ = reader.line_number();

  Checker checker(path);
  while (!checker.full() && reader.next(text)) {
    if (!is_blank(text)) checker.line(reader.line_number(), text);
  }
  if (!checker.full()) checker.finish();

  std::vector<core::Diagnostic> diags = checker.diagnostics();
  if (!checker.seen_data() && diags.empty()) {
    diags.push_back(
        {at(path, reader.line_number()), std::string("no data lines after the header; ") + kFormat});
  }
  if (diags.size() >= kMaxErrors) {
    diags.push_back({path, "stopped after " + std::to_string(kMaxErrors) + " errors"});
  }
  if (!diags.empty() && header_is_data) {
    diags.push_back({at(path, 1),
                     "line 1 looks like data but is read as the header; the file must start with a "
                     "header line"});
  }
  if (!diags.empty()) throw core::InputError(std::move(diags));
  trace.shape_ = checker.shape();
  trace.total_reads_ = checker.total_reads();
  return trace;
}

std::unique_ptr<TraceSource> CsvTrace::source() const {
  return std::make_unique<CsvSource>(path_, shape_, data_offset_, header_lines_);
}

void write_csv_trace(TraceSource& source, std::ostream& out) {
  const TraceShape s = source.shape();
  std::vector<core::TokenBitset> step(s.layers, core::TokenBitset(s.total_tokens()));
  std::string line;
  char num[16];
  const auto put = [&](std::uint64_t v) {
    const auto r = std::to_chars(num, num + sizeof num, v);
    line.append(num, r.ptr);
  };
  out << "n,l,tokens\n";
  for (std::uint32_t n = s.prompt_tokens; n < s.total_tokens(); ++n) {
    source.read_step(n, step);
    for (std::uint32_t l = 0; l < s.layers; ++l) {
      line.clear();
      put(n);
      line += ',';
      put(l);
      line += ",\"[";
      bool first = true;
      step[l].for_each([&](std::size_t t) {
        if (!first) line += ", ";
        first = false;
        put(t);
      });
      line += "]\"\n";
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
    }
  }
}

}  // namespace kvsweep::trace
