#include "kvsweep/cli/commands.hpp"

namespace kvsweep::cli {
void add_eval_command(CLI::App& app) { app.add_subcommand("eval", "Evaluate the points of a YAML file"); }
}  // namespace kvsweep::cli
