// `kvsweep trace convert IN OUT [--force]` and `kvsweep trace stats FILE [--json] [--first-tokens N]`.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/config/point_yaml.hpp"
#include "kvsweep/sweep/sweep.hpp"
#include "kvsweep/eval/evaluate.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/io/json.hpp"
#include "kvsweep/trace/h5_trace.hpp"
#include "kvsweep/trace/stats.hpp"
#include "kvsweep/trace/trace_file.hpp"

namespace kvsweep::cli {

namespace {

// Where a trace comes from. Other kinds of input (a synthetic generator point) are added here and in
// add_input_options(), and every trace subcommand gets them.
struct TraceInput {
  std::string file;
  std::size_t point = 0;
};

bool is_point_file(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension().string();
  return ext == ".yaml" || ext == ".yml";
}

void add_input_options(CLI::App& cmd, TraceInput& in, const std::string& positional) {
  cmd.add_option(positional, in.file,
                 "Trace file (the paper's CSV format or kvsweep HDF5, told apart by content), or a point or "
                 "sweep YAML file: the trace that point evaluates on (synthetic or its trace file)")
      ->required();
  cmd.add_option("--point", in.point, "With a YAML file: which point, counting from 0 as `kvsweep expand` numbers them")
      ->capture_default_str();
}

// The point an input names, when it is a point or sweep YAML file (points numbered as `expand` does).
std::optional<config::PointSpec> input_point(const TraceInput& in) {
  if (!is_point_file(in.file)) return std::nullopt;
  auto points = sweep::load_sweep_file(in.file).points;
  if (in.point >= points.size()) {
    throw core::InputError("--point", std::to_string(in.point) + " is out of range: " + in.file + " has " +
                                          std::to_string(points.size()) + " point(s), numbered from 0");
  }
  return std::move(points[in.point].spec);
}

std::unique_ptr<trace::TraceSource> open_input(const TraceInput& in,
                                               const std::optional<config::PointSpec>& point) {
  return point ? eval::make_trace_source(*point) : trace::open_trace_file(in.file);
}

std::string describe(const TraceInput& in) {
  return is_point_file(in.file) ? in.file + " point " + std::to_string(in.point) : in.file;
}

struct ConvertOptions {
  TraceInput in;
  std::string out;
  bool force = false;
};

void run_convert(const ConvertOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // Checked before the input is read, so a mistake costs nothing even for a 30 GB CSV.
  if (fs::exists(o.out, ec)) {
    if (!o.force) throw core::InputError(o.out, "output file exists; pass --force to overwrite it");
    if (fs::equivalent(o.in.file, o.out, ec)) {
      throw core::InputError(o.out, "output is the input file; write to another path");
    }
  }
  if (fs::path(o.out).extension() == ".csv") {
    throw core::InputError(o.out, "the output is written as kvsweep HDF5; give it an .h5 name");
  }
  auto source = open_input(o.in, input_point(o.in));
  const trace::TraceShape s = source->shape();
  const std::uint64_t reads = trace::write_h5_trace(*source, o.out, o.force);
  std::printf("wrote %s: prompt_tokens %u, decode_tokens %u, layers %u, %llu reads\n", o.out.c_str(),
              s.prompt_tokens, s.decode_tokens, s.layers, static_cast<unsigned long long>(reads));
}

struct StatsOptions {
  TraceInput in;
  bool json = false;
  std::optional<std::uint32_t> first_tokens;
};

// --first-tokens, else C / L of a point input (the tokens `static` holds at every layer), else 0.
std::uint32_t first_tokens_for(const StatsOptions& o, const std::optional<config::PointSpec>& point,
                               const trace::TraceShape& s) {
  if (o.first_tokens) return *o.first_tokens;
  if (!point || s.layers == 0) return 0;
  const std::uint64_t c = config::capacity_entries(*point, s.footprint_tokens(), s.layers);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(c / s.layers, s.total_tokens()));
}

void print_stats_table(const std::string& name, const trace::TraceStats& st) {
  const auto row_u = [](const char* k, unsigned long long v) { std::printf("%-20s %llu\n", k, v); };
  const auto row_d = [](const char* k, double v) { std::printf("%-20s %.6g\n", k, v); };
  std::printf("%-20s %s\n", "trace", name.c_str());
  row_u("prompt_tokens", st.shape.prompt_tokens);
  row_u("decode_tokens", st.shape.decode_tokens);
  row_u("layers", st.shape.layers);
  row_u("total_reads", st.total_reads);
  row_d("mean_read_fraction", st.mean_read_fraction);
  row_d("mean_sparsity", st.mean_sparsity);
  row_d("mean_jaccard", st.mean_jaccard);
  std::printf("%-20s mean %.6g, min %llu, max %llu\n", "reads_per_step", st.mean_reads_per_step,
              static_cast<unsigned long long>(st.min_reads_per_step),
              static_cast<unsigned long long>(st.max_reads_per_step));
  std::printf("%-20s mean %.6g, min %llu, max %llu\n", "reads_per_row", st.mean_reads_per_row,
              static_cast<unsigned long long>(st.min_reads_per_row),
              static_cast<unsigned long long>(st.max_reads_per_row));
  if (st.first_tokens > 0) {
    std::printf("%-20s %.6g of reads in tokens < %u (%llu reads)\n", "first_token_share",
                st.first_token_share, st.first_tokens, static_cast<unsigned long long>(st.first_token_reads));
  }
  std::printf("\n%6s %14s %20s %14s\n", "layer", "reads", "mean_read_fraction", "mean_jaccard");
  for (std::size_t l = 0; l < st.layers.size(); ++l) {
    std::printf("%6zu %14llu %20.6g %14.6g\n", l, static_cast<unsigned long long>(st.layers[l].reads),
                st.layers[l].mean_read_fraction, st.layers[l].mean_jaccard);
  }
}

void run_stats(const StatsOptions& o) {
  const auto point = input_point(o.in);
  auto source = open_input(o.in, point);
  const trace::TraceStats st = trace::compute_stats(*source, first_tokens_for(o, point, source->shape()));
  if (!o.json) {
    print_stats_table(describe(o.in), st);
    return;
  }
  std::cout.flush();
  io::JsonWriter json(std::cout);
  json.begin_object().field("trace", describe(o.in));
  trace::write_stats_json(json, st);
  json.end_object();
  std::cout.flush();
}

}  // namespace

void add_trace_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("trace", "Convert and inspect traces");
  cmd->require_subcommand(1);

  auto convert_opts = std::make_shared<ConvertOptions>();
  CLI::App* convert = cmd->add_subcommand("convert", "Convert a trace (CSV or HDF5) to kvsweep HDF5");
  add_input_options(*convert, convert_opts->in, "in");
  convert->add_option("out", convert_opts->out, "Output .h5 file (written whole or not at all)")->required();
  convert->add_flag("--force", convert_opts->force, "Overwrite OUT if it exists");
  convert->callback([convert_opts] { run_convert(*convert_opts); });

  auto stats_opts = std::make_shared<StatsOptions>();
  CLI::App* stats = cmd->add_subcommand("stats", "Sparsity and step-to-step overlap of a trace");
  add_input_options(*stats, stats_opts->in, "file");
  stats->add_flag("--json", stats_opts->json, "Print one JSON object instead of a table");
  stats->add_option("--first-tokens", stats_opts->first_tokens,
                    "Also report the share of reads in tokens < N (default for a point file with a capacity: "
                    "C / L, the tokens static holds at every layer; 0: off)");
  stats->callback([stats_opts] { run_stats(*stats_opts); });
}

}  // namespace kvsweep::cli
