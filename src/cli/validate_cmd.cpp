// kvsweep validate SWEEP.yaml: expands and checks a sweep (or point) file without evaluating anything.
// Success prints one line and exits 0; problems go through main's InputError handler (one
// `file:line:col: message` per line, exit 2). Trace files are read in full and checked too.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/config/point.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/token_bitset.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "kvsweep/trace/trace_file.hpp"

namespace kvsweep::cli {

namespace {

// Reads every trace file the sweep's points name, in full (a CSV is checked line by line when opened;
// an HDF5 trace's steps are checked as they are read), then checks each point against its file's shape:
// the model's layers and whether the point fits its hardware. Files over 50 MB say so on stderr.
std::map<std::string, trace::TraceShape> check_trace_files(const sweep::Sweep& s) {
  std::map<std::string, trace::TraceShape> shapes;
  std::vector<std::string> paths;
  for (const auto& point : s.points) {
    if (!point.spec.trace.file.empty()) paths.push_back(point.spec.trace.file);
    paths.insert(paths.end(), point.spec.trace.files.begin(), point.spec.trace.files.end());
  }
  for (const std::string& path : paths) {
    if (shapes.count(path)) continue;
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(path, ec);
    const bool loud = !ec && bytes > 50'000'000;
    const auto t0 = std::chrono::steady_clock::now();
    if (loud) std::fprintf(stderr, "kvsweep: checking trace file %s (%.0f MB) ...\n", path.c_str(), static_cast<double>(bytes) / 1e6);
    auto source = trace::open_trace_file(path);
    const trace::TraceShape shape = source->shape();
    if (trace::detect_trace_format(path) == trace::TraceFileFormat::kHdf5) {  // a CSV was checked in full above
      std::vector<core::TokenBitset> rows(shape.layers, core::TokenBitset(shape.total_tokens()));
      for (std::uint32_t n = shape.prompt_tokens; n < shape.total_tokens(); ++n) source->read_step(n, rows);
    }
    if (loud) {
      std::fprintf(stderr, "kvsweep: %s: OK (%.1f s)\n", path.c_str(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    shapes.emplace(path, shape);
  }
  core::DiagnosticSink diags;
  for (const auto& point : s.points) {
    std::vector<std::string> files = point.spec.trace.files;
    if (!point.spec.trace.file.empty()) files.push_back(point.spec.trace.file);
    if (files.empty()) continue;
    // A batch's files decode in lockstep over the same layers: each against the first, then the model.
    const trace::TraceShape& first = shapes.at(files[0]);
    std::uint64_t footprint = 0;
    bool ok = true;
    for (const auto& f : files) {
      const trace::TraceShape& shape = shapes.at(f);
      if (shape.decode_tokens != first.decode_tokens || shape.layers != first.layers) {
        diags.add(f, "has D = " + std::to_string(shape.decode_tokens) + ", L = " + std::to_string(shape.layers) +
                         " but " + files[0] + " (the batch's first sequence, " + point.spec.source + ") has D = " +
                         std::to_string(first.decode_tokens) + ", L = " + std::to_string(first.layers) +
                         "; a batch decodes in lockstep");
        ok = false;
        break;
      }
      footprint += shape.footprint_tokens();
    }
    if (!ok) continue;
    if (first.layers != point.spec.model.layers) {
      diags.add(point.spec.source, "trace file " + files[0] + " has " + std::to_string(first.layers) +
                                       " layers but model " + point.spec.model_name + " has " +
                                       std::to_string(point.spec.model.layers));
      continue;
    }
    const std::string why = config::capacity_problem(point.spec, footprint, first.layers);
    if (!why.empty()) diags.add(point.spec.source, why);
  }
  diags.throw_if_any();
  return shapes;
}

}  // namespace

CLI::Option* add_max_memory_option(CLI::App& cmd, std::optional<double>& max_memory_gb) {
  return cmd
      .add_option("--max-memory-gb", max_memory_gb,
                  "Refuse points whose estimated peak memory exceeds this many GB (default: this machine's "
                  "physical memory; `kvsweep expand` prints each point's estimate)")
      ->check(CLI::Range(0.001, 1e6));
}

void add_validate_command(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto max_memory_gb = std::make_shared<std::optional<double>>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check a sweep file: every point of its grid, every error with file:line:col");
  cmd->add_option("sweep", *file, "Sweep YAML file (any point key may be a list; see docs/yaml-reference.md \"Sweeps\")")
      ->required()
      ->check(CLI::ExistingFile);
  add_max_memory_option(*cmd, *max_memory_gb);
  cmd->callback([file, max_memory_gb] {
    const sweep::Sweep s = sweep::load_sweep_file(*file);
    std::map<std::string, sweep::SequenceShape> shapes;
    for (const auto& [path, shape] : check_trace_files(s)) {
      shapes[path] = {shape.prompt_tokens, shape.decode_tokens, shape.layers};
    }
    sweep::check_memory(s, sweep::memory_limit(*max_memory_gb), shapes);
    std::printf("OK: %zu point%s (axes: %s)\n", s.points.size(), s.points.size() == 1 ? "" : "s",
                s.axes.empty() ? "none" : core::join(s.axes).c_str());
  });
}

}  // namespace kvsweep::cli
