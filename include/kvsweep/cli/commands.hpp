#pragma once
// One file per subcommand under src/cli/; each registers itself on the top-level app. A subcommand's
// callback returns normally on success and throws core::InputError (exit 2) on bad input.

#include <CLI/CLI.hpp>

#include <optional>

namespace kvsweep::cli {

// --max-memory-gb on the commands that check a sweep's points against memory (validate, expand, eval,
// run): the limit a point's estimated peak (sweep/memory.hpp) may not exceed, GB; unset: this
// machine's physical memory.
CLI::Option* add_max_memory_option(CLI::App& cmd, std::optional<double>& max_memory_gb);

void add_eval_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_expand_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace kvsweep::cli
