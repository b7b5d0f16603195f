#pragma once
// One file per subcommand under src/cli/; each registers itself on the top-level app. A subcommand's
// callback returns normally on success and throws core::InputError (exit 2) on bad input.

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::cli {

// --max-memory-gb on the commands that check a sweep's points against memory (validate, expand, eval,
// run): the limit a point's estimated peak (sweep/memory.hpp) may not exceed, GB; unset: this
// machine's physical memory.
CLI::Option* add_max_memory_option(CLI::App& cmd, std::optional<double>& max_memory_gb);

// The points --point selects (indexes as `expand` numbers them, or point ids), in the file's order;
// every selector must match a point (core::InputError naming --point otherwise). Empty: every point.
std::vector<sweep::SweepPoint> select_points(sweep::Sweep& sweep, const std::vector<std::string>& only);

void add_eval_command(CLI::App& app);
void add_judge_command(CLI::App& app);
void add_trace_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_validate_command(CLI::App& app);
void add_expand_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace kvsweep::cli
