#include "resume.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::driver {

namespace {

using result::Value;

std::string show(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "[" + *s + "]";
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", std::get<double>(v));
  return buf;
}

// The settings of one sweep point as its row would hold them: (YAML key, column, value).
struct Setting {
  std::string key, column;
  Value value;
};

std::vector<Setting> settings_of(const sweep::SweepPoint& point, const result::Schema& schema,
                                 const eval::EvalOptions& options) {
  result::RowInput row;
  row.point_id = point.id;
  row.point = &point.spec;
  row.options = &options;
  const std::vector<std::byte> record = schema.encode_failure(row, "");
  std::vector<Setting> out;
  for (const auto& key : config::result_settings(point.spec)) {
    const std::string column = result::column_for_key(key);
    out.push_back({key, column, schema.get(record, column)});
  }
  return out;
}

// What differs, for the message: per key, per (file value, sweep value), how many points.
using Differences = std::map<std::string, std::map<std::pair<std::string, std::string>, std::uint64_t>>;

std::string describe(const Differences& diffs) {
  std::string text;
  for (const auto& [key, changes] : diffs) {
    for (const auto& [values, points] : changes) {
      text += (text.empty() ? "" : "; ") + key + " " + values.first + " in the file, " + values.second +
              " in the sweep (" + std::to_string(points) + (points == 1 ? " point)" : " points)");
    }
  }
  return text;
}

}  // namespace

ResumeState reconcile(const sweep::Sweep& sweep, const result::ResultFile& file, const eval::EvalOptions& options) {
  const result::Schema& schema = file.schema();
  std::unordered_map<std::string, std::size_t> index;  // id -> sweep point
  for (std::size_t i = 0; i < sweep.points.size(); ++i) index.emplace(sweep.points[i].id, i);

  // The latest row of an id wins; its failed rows are all counted (as ResultFile::failed_attempts()).
  struct Latest {
    bool ok = false;
    std::uint32_t failures = 0;
    std::uint64_t row = 0;  // of the latest ok row, when ok
  };
  std::unordered_map<std::string, Latest> latest;
  std::set<std::int64_t> file_seeds;
  const std::uint64_t rows = file.rows();
  constexpr std::uint64_t kBlock = 2048;
  for (std::uint64_t first = 0; first < rows; first += kBlock) {
    const std::uint64_t n = std::min(kBlock, rows - first);
    const std::vector<std::byte> block = file.read_rows(first, n);
    for (std::uint64_t r = 0; r < n; ++r) {
      const std::span<const std::byte> record(block.data() + r * schema.record_size(), schema.record_size());
      const std::string id = schema.point_id(record);
      if (id.empty()) continue;
      Latest& l = latest[id];
      l.ok = schema.status(record) == "ok";
      if (l.ok) {
        l.row = first + r;
      } else {
        ++l.failures;
      }
      file_seeds.insert(schema.get_int(record, "seed"));
    }
  }

  ResumeState state;
  state.done.assign(sweep.points.size(), false);
  state.failures.assign(sweep.points.size(), 0);
  std::set<std::int64_t> sweep_seeds;
  for (const auto& p : sweep.points) sweep_seeds.insert(static_cast<std::int64_t>(p.spec.seed));
  const bool seed_shared = std::any_of(sweep_seeds.begin(), sweep_seeds.end(),
                                       [&](std::int64_t s) { return file_seeds.contains(s); });
  if (!file_seeds.empty() && !sweep_seeds.empty() && !seed_shared) {
    std::vector<std::string> was, now;
    for (auto s : file_seeds) was.push_back(std::to_string(s));
    for (auto s : sweep_seeds) now.push_back(std::to_string(s));
    throw result::ResultFileError(
        result::ResultFileError::Kind::kSettingsChanged, file.path(),
        "seed " + core::join(was, ", ") + " in the file, " + core::join(now, ", ") +
            " in the sweep: a new seed gives every point another trace, so none of the file's results would "
            "be reused; restore the seed to resume, or write to a new file (-o NEW.h5)");
  }

  Differences diffs;
  for (const auto& [id, l] : latest) {
    const auto it = index.find(id);
    if (it == index.end()) {
      ++state.left;
      continue;
    }
    ++state.in_file;
    const std::size_t i = it->second;
    if (!l.ok) {
      state.failures[i] = l.failures;
      continue;
    }
    state.done[i] = true;
    const std::vector<std::byte> record = file.read_row(l.row);
    for (const Setting& s : settings_of(sweep.points[i], schema, options)) {
      const Value stored = schema.get(record, s.column);
      if (stored != s.value) ++diffs[s.key][{show(stored), show(s.value)}];
    }
  }
  if (!diffs.empty()) {
    throw result::ResultFileError(
        result::ResultFileError::Kind::kSettingsChanged, file.path(),
        "the sweep changes the results of points this file holds: " + describe(diffs) +
            "; restore those settings to resume, write to a new file (-o NEW.h5), or --force to start over");
  }
  return state;
}

}  // namespace kvsweep::driver
