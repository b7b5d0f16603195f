#pragma once
// One entry point for trace files of any supported format, chosen by content, not by file name.

#include <memory>
#include <string>

#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

enum class TraceFileFormat { kCsv, kHdf5 };

// kHdf5 when the file holds the HDF5 signature "\x89HDF\r\n\x1a\n" where HDF5 looks for it (byte 0, or
// after a user block: 512, 1024, 2048, ...), kCsv otherwise.
// Throws core::InputError (where = path) when the file cannot be opened.
TraceFileFormat detect_trace_format(const std::string& path);

// Opens (and validates) a CSV (CsvTrace) or kvsweep HDF5 (open_h5_trace) trace and returns a
// streaming source; its shape() is known on return. Bad input -> core::InputError with file:line
// (CSV) or file (HDF5). A CSV file is read once in full here to be checked, then again as streamed.
std::unique_ptr<TraceSource> open_trace_file(const std::string& path);

}  // namespace kvsweep::trace
