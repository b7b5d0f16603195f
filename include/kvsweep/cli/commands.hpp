#pragma once
// One file per subcommand under src/cli/; each registers itself on the top-level app. A subcommand's
// callback returns normally on success and throws core::InputError (exit 2) on bad input.

#include <CLI/CLI.hpp>

namespace kvsweep::cli {

void add_eval_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_expand_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace kvsweep::cli
