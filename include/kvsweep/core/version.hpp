#pragma once
#include <string_view>

namespace kvsweep::core {
std::string_view version();      // "0.1.0"
std::string_view git_sha();      // short SHA at configure time, or "unknown"
std::string_view version_string();  // "kvsweep 0.1.0 (abc123)"
}  // namespace kvsweep::core
