// kvsweep: how much faster could LLM decoding be with dynamic KV placement across HBM and DRAM?
#include <cstdio>
#include <exception>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"kvsweep: dynamic KV-cache placement across HBM and off-package memory"};
  app.set_version_flag("--version", std::string(kvsweep::core::version_string()));
  app.require_subcommand(1);
  kvsweep::cli::add_eval_command(app);
  kvsweep::cli::add_judge_command(app);
  kvsweep::cli::add_trace_command(app);
  kvsweep::cli::add_bench_command(app);
  kvsweep::cli::add_validate_command(app);
  kvsweep::cli::add_expand_command(app);
  kvsweep::cli::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a command's own exit code (kvsweep run: 1 failed points, 3 stopped)
  } catch (const CLI::ParseError& e) {
    // CLI11 prints its own message; usage errors exit 2 like every other input error.
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const kvsweep::core::InputError& e) {
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "kvsweep: error: %s\n", d.str().c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kvsweep: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
