#include "kvsweep/cli/commands.hpp"

namespace kvsweep::cli {
void add_bench_command(CLI::App& app) { app.add_subcommand("bench", "Time every policy on one point"); }
}  // namespace kvsweep::cli
