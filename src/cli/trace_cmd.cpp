#include "kvsweep/cli/commands.hpp"

namespace kvsweep::cli {
void add_trace_command(CLI::App& app) { app.add_subcommand("trace", "Convert and inspect traces"); }
}  // namespace kvsweep::cli
