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
  // HDF5 looks for its signature at byte 0, then after a user block of 512, 1024, 2048, ... bytes.
  bool hdf5 = false;
  for (long at = 0; !hdf5; at = at == 0 ? 512 : 2 * at) {
    char head[8] = {};
    if (std::fseek(f, at, SEEK_SET) != 0 || std::fread(head, 1, sizeof head, f) != sizeof head) break;
    hdf5 = std::memcmp(head, kSignature, sizeof head) == 0;
  }
  std::fclose(f);
  return hdf5 ? TraceFileFormat::kHdf5 : TraceFileFormat::kCsv;
}

std::unique_ptr<TraceSource> open_trace_file(const std::string& path) {
  if (detect_trace_format(path) == TraceFileFormat::kHdf5) return open_h5_trace(path);
  return CsvTrace::open(path).source();
}

}  // namespace kvsweep::trace
