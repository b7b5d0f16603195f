// kvsweep expand SWEEP.yaml [--format table|csv|json]: the dry run of a sweep. Every point with its id,
// its parameters and its estimated cost, then the totals; nothing is evaluated and nothing is written
// but stdout.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvsweep/cli/commands.hpp"
#include "kvsweep/config/point.hpp"
#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/cost.hpp"
#include "kvsweep/io/json.hpp"
#include "kvsweep/sweep/memory.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::cli {

namespace {
struct ExpandArgs {
  std::string file;
  std::string format = "table";
  std::optional<double> max_memory_gb;
};

// One parameter of a point as every format shows it.
struct Field {
  std::string name;              // column and JSON key
  std::string text;              // table and CSV cell
  std::optional<double> number;  // JSON number when set, else the text as a JSON string
  bool in_table = false;
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// GB with 3 significant digits ("0.0245", "3.61", "37.2").
std::string memory_text(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", bytes / 1e9);
  return buf;
}

std::string capacity_text(const config::CapacitySpec& c) {
  switch (c.kind) {
    case config::CapacitySpec::Kind::kRatio:
      return "ratio " + num(c.value);
    case config::CapacitySpec::Kind::kGigabytes:
      return num(c.value) + " GB";
    case config::CapacitySpec::Kind::kEntries:
      return num(c.value) + " entries";
  }
  return num(c.value);
}

bool is_axis(const sweep::Sweep& s, const std::string& name) {
  return std::find(s.axes.begin(), s.axes.end(), name) != s.axes.end();
}

bool has_names(const sweep::Sweep& s) {
  return std::any_of(s.points.begin(), s.points.end(), [](const auto& p) { return !p.spec.name.empty(); });
}

// The axes shown in columns of their own: those no fixed column below already shows.
bool has_fixed_column(const std::string& axis) {
  for (const char* fixed : {"model", "kv_accounting", "hardware", "prompt_tokens", "decode_tokens", "trace",
                            "hbm_capacity_ratio", "hbm_capacity_gb", "hbm_kv_capacity_entries",
                            "link_read_gbps", "link_write_gbps", "sparsity", "variation"}) {
    if (axis == fixed) return true;
  }
  return false;
}

// Which optional columns the table shows: decided once per sweep.
struct TableColumns {
  bool name = false;
  bool kv_accounting = false;
  bool trace = false;
  explicit TableColumns(const sweep::Sweep& s)
      : name(has_names(s)), kv_accounting(is_axis(s, "kv_accounting")), trace(is_axis(s, "trace")) {}
};

std::vector<Field> fields_of(const TableColumns& table, const sweep::SweepPoint& p) {
  const auto& x = p.spec;
  const auto& syn = x.trace.synthetic;
  std::string policies;
  for (const auto& name : x.policies) policies += (policies.empty() ? "" : " ") + name;
  std::vector<Field> f = {
      {"point_id", p.id, std::nullopt, true},
      {"source", x.source, std::nullopt, false},
      {"name", x.name, std::nullopt, table.name},
      {"model", x.model_name, std::nullopt, true},
      {"kv_accounting", std::string(config::to_string(x.kv_accounting)), std::nullopt, table.kv_accounting},
      {"layers", std::to_string(x.model.layers), x.model.layers, false},
      {"hardware", x.hardware.name, std::nullopt, true},
      {"prompt_tokens", std::to_string(x.prompt_tokens), x.prompt_tokens, true},
      {"decode_tokens", std::to_string(x.decode_tokens), x.decode_tokens, true},
      {"trace", x.trace.file.empty() ? "synthetic" : x.trace.file, std::nullopt, table.trace},
      {"capacity_key", std::string(config::capacity_key(x.capacity.kind)), std::nullopt, false},
      {"capacity", capacity_text(x.capacity), x.capacity.value, true},
      {"link_read_gbps", num(x.hardware.link_read_gbps), x.hardware.link_read_gbps, true},
      {"link_write_gbps", num(x.hardware.link_write_gbps), x.hardware.link_write_gbps, true},
      {"sparsity", num(syn.sparsity), syn.sparsity, true},
      {"variation", syn.variation, std::nullopt, true},
      {"policies", policies, std::nullopt, false},
  };
  for (const auto& [axis, value] : p.axes) {
    if (!has_fixed_column(axis)) f.push_back({axis, value, std::nullopt, true});
  }
  f.push_back({"cost_estimate", num(p.cost_estimate), p.cost_estimate, false});
  f.push_back({"estimated_s", num(p.estimated_s), p.estimated_s, true});
  f.push_back({"estimated_lagrangian_s", num(p.estimated_lagrangian_s), p.estimated_lagrangian_s, true});
  f.push_back({"estimated_memory_gb", memory_text(p.memory_bytes), p.memory_bytes / 1e9, true});
  return f;
}

// "1.2 h", "35 min", "48 s".
std::string duration_text(double s) {
  char buf[32];
  if (s >= 2 * 3600) {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  } else if (s >= 120) {
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  }
  return buf;
}

// The Lagrangian bound runs whatever the policies listed, where the baselines leave a gap, and can dwarf
// the rest: named apart, as an upper limit, with the key that turns it off.
std::string totals_line(const sweep::Sweep& s) {
  double work = 0, wall = 0, lagrangian = 0, memory = 0;
  std::size_t bounded = 0;
  for (const auto& p : s.points) {
    work += p.cost_estimate - p.estimated_lagrangian_s * sweep::kReferenceParallelism;  // the bound apart
    wall += p.estimated_s;
    lagrangian += p.estimated_lagrangian_s;
    if (p.estimated_lagrangian_s > 0) ++bounded;
    memory = std::max(memory, p.memory_bytes);
  }
  std::string line = std::to_string(s.points.size()) + " points; estimated " + duration_text(wall) +
                     " wall on the reference machine (2 cores), " + duration_text(work) + " of CPU, at most " +
                     memory_text(memory) + " GB of memory per point";
  if (bounded > 0) {
    line += "; plus up to " + duration_text(lagrangian) + " of Lagrangian bound at " + std::to_string(bounded) +
            " point(s), where the baselines leave a certified gap above oracle.lagrangian_gap "
            "(oracle.lagrangian_passes: 0 skips it)";
  }
  return line;
}

void print_table(const sweep::Sweep& s) {
  const TableColumns columns(s);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{"#"};
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    std::vector<std::string> row{std::to_string(i)};
    for (const auto& f : fields_of(columns, s.points[i])) {
      if (!f.in_table) continue;
      if (i == 0)
        header.push_back(f.name == "prompt_tokens" ? "P" : f.name == "decode_tokens" ? "D" : f.name);
      row.push_back(f.text);
    }
    rows.push_back(std::move(row));
  }
  rows.insert(rows.begin(), header);
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c] + std::string(width[c] - row[c].size() + (c + 1 < row.size() ? 2 : 0), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  }
  std::cout << "total: " << totals_line(s) << " (axes: " << (s.axes.empty() ? "none" : core::join(s.axes))
            << ")\n";
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_csv(const sweep::Sweep& s) {
  const TableColumns columns(s);
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    const auto fields = fields_of(columns, s.points[i]);
    std::string header, line;
    for (std::size_t c = 0; c < fields.size(); ++c) {
      // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
      if (c > 0) {
        header += ',';
        line += ',';
      }
      header += csv_cell(fields[c].name);
      line += csv_cell(fields[c].text);
    }
    if (i == 0) std::cout << header << '\n';
    std::cout << line << '\n';
  }
  // CSV stays one table for programs; the totals go to people on stderr.
  std::fprintf(stderr, "total: %s\n", totals_line(s).c_str());
}

void print_json(const sweep::Sweep& s) {
  const TableColumns columns(s);
  io::JsonWriter json(std::cout);
  json.begin_object().key("points").begin_array();
  for (const auto& p : s.points) {
    json.begin_object();
    for (const auto& f : fields_of(columns, p)) {
      if (f.number) {
        json.field(f.name, *f.number);
      } else {
        json.field(f.name, f.text);
      }
    }
    json.key("axes").begin_object();
    for (const auto& [axis, value] : p.axes) json.field(axis, value);
    json.end_object().end_object();
  }
  json.end_array().field("total", s.points.size()).end_object();  // the writer ends the line
}
}  // namespace

void add_expand_command(CLI::App& app) {
  auto args = std::make_shared<ExpandArgs>();
  CLI::App* cmd = app.add_subcommand(
      "expand", "List every point of a sweep file with its id, parameters and estimated cost (a dry run)");
  cmd->add_option("sweep", args->file, "Sweep YAML file (any point key may be a list; see docs/yaml-reference.md \"Sweeps\")")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  add_max_memory_option(*cmd, args->max_memory_gb);
  cmd->callback([args] {
    const sweep::Sweep s = sweep::load_sweep_file(args->file);
    sweep::check_memory(s, sweep::memory_limit(args->max_memory_gb));
    if (args->format == "json") {
      print_json(s);
    } else if (args->format == "csv") {
      print_csv(s);
    } else {
      print_table(s);
    }
  });
}

}  // namespace kvsweep::cli
