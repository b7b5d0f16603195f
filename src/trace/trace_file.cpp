#include "kvsweep/trace/trace_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/trace/csv_trace.hpp"
#include "kvsweep/trace/h5_trace.hpp"

namespace kvsweep::trace {

TraceFileFormat detect_trace_format(const std::string& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw core::InputError(path, "is a directory, not a trace file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw core::InputError(path, std::string("cannot open: ") + std::strerror(errno));
  char head[8] = {};
  const std::size_t got = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  return got == sizeof head && std::memcmp(head, kSignature, sizeof head) == 0 ? TraceFileFormat::kHdf5
                                                                               : TraceFileFormat::kCsv;
}

std::unique_ptr<TraceSource> open_trace_file(const std::string& path) {
  if (detect_trace_format(path) == TraceFileFormat::kHdf5) return open_h5_trace(path);
  return CsvTrace::open(path).source();
}

}  // namespace kvsweep::trace
