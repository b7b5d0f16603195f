// kvsweep validate SWEEP.yaml: expands and checks a sweep (or point) file without evaluating anything.
// Success prints one line and exits 0; problems go through main's InputError handler (one
// `file:line:col: message` per line, exit 2).
#include <cstdio>
#include <memory>
#include <string>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::cli {

void add_validate_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check a sweep file: every point of its grid, every error with file:line:col");
  cmd->add_option("sweep", *file, "Sweep YAML file (any point key may be a list; see README \"Sweeps\")")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([file] {
    const sweep::Sweep s = sweep::load_sweep_file(*file);
    std::printf("OK: %zu point%s (axes: %s)\n", s.points.size(), s.points.size() == 1 ? "" : "s",
                s.axes.empty() ? "none" : core::join(s.axes).c_str());
  });
}

}  // namespace kvsweep::cli
