#include "kvsweep/core/version.hpp"
#include "kvsweep_git_sha.inc"  // KVSWEEP_GIT_SHA, written at build time (scripts/git-sha.cmake)

namespace kvsweep::core {
std::string_view version() { return KVSWEEP_VERSION; }
std::string_view git_sha() { return KVSWEEP_GIT_SHA; }
std::string_view version_string() { return "kvsweep " KVSWEEP_VERSION " (" KVSWEEP_GIT_SHA ")"; }
}  // namespace kvsweep::core
