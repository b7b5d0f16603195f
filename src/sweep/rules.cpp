#include "rules.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "kvsweep/core/diagnostics.hpp"
#include "yaml_value.hpp"

namespace kvsweep::sweep::detail {

namespace {
const std::string kZipShape =
    "a list of groups, each a list of axis names that step together, e.g. [[prompt_tokens, decode_tokens]]";
const std::string kExcludeShape =
    "a list of mappings {axis: value, ...}; a point matching every key of one mapping is left out";

// yaml-cpp marks an empty value at the start of the next line; point at its key instead.
YAML::Mark mark_of(const YAML::Node& value, const YAML::Node& key) {
  return !value || value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
}

ZipGroup read_zip_group(const YAML::Node& group, const std::string& where, config::PointReader& reader) {
  ZipGroup out{group, {}};
  std::map<std::string, YAML::Mark> seen;
  for (const auto& name : group) {
    if (!name.IsScalar()) {
      reader.error(mark_of(name, group), where + "zip: expected an axis name, got " +
                                             (name.IsMap()        ? "a mapping"
                                              : name.IsSequence() ? "a list"
                                                                  : "nothing"));
    } else if (const auto [it, fresh] = seen.emplace(name.Scalar(), name.Mark()); !fresh) {
      reader.error(name.Mark(), where + "zip: '" + name.Scalar() +
                                    "' is named twice in one group (first at " + line_col(it->second) + ")");
    } else {
      out.names.push_back(name);
    }
  }
  if (group.size() < 2) {
    reader.error(group.Mark(), where + "zip: a group needs at least two axis names, got " +
                                   std::to_string(group.size()) + "; expected " + kZipShape);
    out.names.clear();
  }
  return out;
}

std::vector<ZipGroup> read_zip(const YAML::Node& key, const YAML::Node& value, const std::string& where,
                               config::PointReader& reader) {
  if (!value.IsSequence()) {
    reader.error(mark_of(value, key), where + "zip: expected " + kZipShape);
    return {};
  }
  bool flat = value.size() > 0;  // zip: [a, b] is one group
  for (const auto& g : value) flat = flat && g.IsScalar();
  if (flat) return {read_zip_group(value, where, reader)};
  std::vector<ZipGroup> groups;
  for (const auto& g : value) {
    if (g.IsSequence()) {
      groups.push_back(read_zip_group(g, where, reader));
    } else {
      reader.error(mark_of(g, key),
                   where + "zip: every group must be a list of axis names; expected " + kZipShape);
    }
  }
  return groups;
}

std::vector<ExcludeRule> read_exclude(const YAML::Node& key, const YAML::Node& value,
                                      const std::string& where, config::PointReader& reader) {
  if (!value.IsSequence()) {
    reader.error(mark_of(value, key), where + "exclude: expected " + kExcludeShape);
    return {};
  }
  std::vector<ExcludeRule> rules;
  for (const auto& rule : value) {
    if (!rule.IsMap() || rule.size() == 0) {
      reader.error(mark_of(rule, key),
                   where + "exclude: every rule must be a non-empty mapping; expected " + kExcludeShape);
      continue;
    }
    ExcludeRule out{rule, {}};
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : rule) {
      if (!kv.first.IsScalar()) {
        reader.error(kv.first.Mark(), where + "exclude: keys must be axis names");
        continue;
      }
      const std::string name = kv.first.Scalar();
      if (const auto [it, fresh] = seen.emplace(name, kv.first.Mark()); !fresh) {
        reader.error(kv.first.Mark(), where + "exclude: duplicate key '" + name + "' (first given at " +
                                          line_col(it->second) + ")");
        continue;
      }
      ExcludePair pair{name, kv.first, {}};
      if (kv.second.IsSequence()) {
        for (const auto& v : kv.second) pair.values.push_back(v);
      } else {
        pair.values.push_back(kv.second);
      }
      if (pair.values.empty() || kv.second.IsNull()) {
        reader.error(mark_of(kv.second, kv.first),
                     where + "exclude: " + name + ": expected a value or a list of values");
        continue;
      }
      out.pairs.push_back(std::move(pair));
    }
    rules.push_back(std::move(out));
  }
  return rules;
}

// "'x' is not an axis ..." with the nearest axis name and, for a key given one value, how to sweep it.
std::string not_an_axis(const std::string& name, const std::vector<const Mapping*>& mappings) {
  std::vector<std::string> axes;
  std::optional<YAML::Node> single;
  for (const Mapping* m : mappings) {
    for (const auto& a : m->axes) {
      if (std::find(axes.begin(), axes.end(), a.name) == axes.end()) axes.push_back(a.name);
    }
    if (!single) single = m->single_value(name);
  }
  std::string s = "'" + name + "' is not an axis";
  if (single && is_axis_key(name)) {
    s += " (its value at " + line_col(single->Mark()) + " is a single value; give a list to sweep it)";
  } else if (const std::string guess = core::did_you_mean(name, axes); !guess.empty()) {
    s += " (did you mean '" + guess + "'?)";
  }
  return s +
         "; axes: " + (axes.empty() ? std::string("none (no key has a list of values)") : core::join(axes));
}

// The values of axis `name` over `mappings`, each once (by same_value), in order of first appearance.
// Equal values are found by canonical key, the few values without one by comparing.
std::vector<YAML::Node> axis_values(const std::string& name, const std::vector<const Mapping*>& mappings) {
  std::vector<YAML::Node> values;
  std::unordered_set<std::string> keys;  // of the values with a canonical key
  std::vector<std::size_t> irregular;    // the others, as indices into values
  std::string key;
  for (const Mapping* m : mappings) {
    const int a = m->axis_index(name);
    if (a < 0) continue;
    for (const auto& v : m->axes[static_cast<std::size_t>(a)].values) {
      const bool regular = canonical_key(v, key);
      bool known = regular && keys.count(key) > 0;
      if (regular) {
        for (const std::size_t i : irregular) known = known || same_value(v, values[i]);
      } else {
        for (const auto& w : values) known = known || same_value(v, w);
      }
      if (known) continue;
      if (regular) {
        keys.insert(key);
      } else {
        irregular.push_back(values.size());
      }
      values.push_back(v);
    }
  }
  return values;
}

// The values of each axis a rule names, found once per name however many rules name it.
struct AxisValues {
  std::vector<YAML::Node> values;
  std::optional<ValueLookup> lookup;
};
}  // namespace

Rules read_rules(const YAML::Node& level, std::string where, config::PointReader& reader) {
  Rules rules;
  rules.where = std::move(where);
  std::set<std::string> seen;  // a repeated key is reported by the point reader
  for (const auto& kv : level) {
    if (!kv.first.IsScalar() || !seen.insert(kv.first.Scalar()).second) continue;
    if (kv.first.Scalar() == "zip") rules.zips = read_zip(kv.first, kv.second, rules.where, reader);
    if (kv.first.Scalar() == "exclude")
      rules.excludes = read_exclude(kv.first, kv.second, rules.where, reader);
  }
  return rules;
}

void check_rules(const Rules& rules, const std::vector<const Mapping*>& mappings,
                 config::PointReader& reader) {
  const auto is_axis = [&](const std::string& name) {
    for (const Mapping* m : mappings) {
      if (m->axis_index(name) >= 0) return true;
    }
    return false;
  };
  for (const auto& group : rules.zips) {
    for (const auto& name : group.names) {
      if (!is_axis(name.Scalar()))
        reader.error(name.Mark(), rules.where + "zip: " + not_an_axis(name.Scalar(), mappings));
    }
  }
  std::map<std::string, AxisValues> axes;  // stable addresses: each lookup refers to its values
  for (const auto& rule : rules.excludes) {
    for (const auto& pair : rule.pairs) {
      if (!is_axis(pair.name)) {
        reader.error(pair.key.Mark(), rules.where + "exclude: " + not_an_axis(pair.name, mappings));
        continue;
      }
      auto [it, fresh] = axes.try_emplace(pair.name);
      AxisValues& axis = it->second;
      if (fresh) {
        axis.values = axis_values(pair.name, mappings);
        axis.lookup.emplace(axis.values);
      }
      for (const auto& v : pair.values) {
        if (axis.lookup->matching(v).empty()) {
          reader.error(mark_of(v, pair.key), rules.where + "exclude: " + pair.name + ": " + display_text(v) +
                                                 " is not a value of the axis (values: " +
                                                 display_list(axis.values) + "); it would exclude nothing");
        }
      }
    }
  }
}

}  // namespace kvsweep::sweep::detail
