#include "layout.hpp"

#include <algorithm>
#include <iterator>

#include "kvsweep/config/point.hpp"

namespace kvsweep::sweep::detail {

namespace {
// Knob groups whose keys may be axes; `oracle` is a group too, but the budgets apply to the whole sweep.
bool is_knob_group(const std::string& key) { return key == "synthetic" || key == "policy_params"; }

// Keys that take one value for the whole sweep (`policies` takes one list).
bool is_never_axis(const std::string& head) {
  return head == "name" || head == "policies" || head == "oracle" || head == "seed";
}

bool is_capacity_key(const std::string& key) {
  using K = config::CapacitySpec::Kind;
  for (const K kind : {K::kRatio, K::kGigabytes, K::kEntries}) {
    if (config::capacity_key(kind) == key) return true;
  }
  return false;
}

std::string head_of(const std::string& dotted) { return dotted.substr(0, dotted.find('.')); }

// Whether a default (top-level) key is replaced by what the entry gives.
bool overridden(const std::string& name, const std::set<std::string>& entry_keys) {
  if (entry_keys.count(name)) return true;
  if (!is_capacity_key(name)) return false;
  return std::any_of(entry_keys.begin(), entry_keys.end(), is_capacity_key);
}

// Every dotted key a level gives: its own keys and those of its knob-group mappings.
std::set<std::string> keys_given(const YAML::Node& map) {
  std::set<std::string> keys;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) continue;
    const std::string& name = kv.first.Scalar();
    keys.insert(name);
    if (!is_knob_group(name) || !kv.second.IsMap()) continue;
    for (const auto& child : kv.second) {
      if (child.first.IsScalar()) keys.insert(name + "." + child.first.Scalar());
    }
  }
  return keys;
}

class LevelBuilder {
 public:
  LevelBuilder(Mapping& m, const std::set<std::string>* replaced, config::PointReader& reader)
      : m_(m), replaced_(replaced), reader_(reader) {}

  // The items of `map` (at `prefix`, "" or "synthetic."), marking axes and dropped defaults.
  std::vector<Item> items(const YAML::Node& map, const std::string& prefix, bool& rebuilt) {
    std::vector<Item> out;
    std::set<std::string> seen;  // a repeated key is left to the reader, which reports it
    for (const auto& kv : map) {
      Item it{"", kv.first, kv.second, -1, false, {}};
      if (kv.first.IsScalar() && seen.insert(kv.first.Scalar()).second) {
        it.name = prefix + kv.first.Scalar();
        classify(it, rebuilt);
      }
      out.push_back(std::move(it));
    }
    return out;
  }

 private:
  void classify(Item& it, bool& rebuilt) {
    if ((is_knob_group(it.name) || it.name == "oracle") && it.value.IsMap()) {
      bool group_rebuilt = false;
      auto children = items(it.value, it.name + ".", group_rebuilt);
      if (group_rebuilt) {
        it.children = std::move(children);
        rebuilt = true;
      }
      return;
    }
    if (!it.value.IsSequence()) return;
    if (it.name != "policies" && is_never_axis(head_of(it.name))) {
      // Said here rather than left to the point reader's "expected a number, got a list".
      reader_.error(it.value.Mark(), it.name +
                                         ": one value for the whole sweep, got a list (name, policies, " +
                                         "oracle and seed are the same for every point; they are not axes)");
      it.dropped = true;
      rebuilt = true;
      return;
    }
    if (!is_axis_key(it.name)) return;
    // A list-valued key: a list of numbers is its one value, a list of such lists an axis.
    if (it.name == "batch_prompt_tokens" && (it.value.size() == 0 || !it.value[0].IsSequence())) return;
    rebuilt = true;
    if (replaced_ != nullptr && overridden(it.name, *replaced_)) {
      it.dropped = true;
      return;
    }
    if (it.value.size() == 0) {
      reader_.error(it.value.Mark(), it.name + ": an axis needs at least one value, got an empty list");
      it.dropped = true;
      m_.has_empty_axis = true;
      return;
    }
    Axis axis{it.name, it.key, it.value, {}};
    for (const auto& v : it.value) axis.values.push_back(v);
    it.axis = static_cast<int>(m_.axes.size());
    m_.axes.push_back(std::move(axis));
  }

  Mapping& m_;
  const std::set<std::string>* replaced_;
  config::PointReader& reader_;
};

YAML::Node build_map(const std::vector<Item>& items, const Mapping& m, const std::vector<std::size_t>& choice,
                     NodeArena& arena) {
  YAML::Node map = arena.new_map();
  for (const auto& it : items) {
    if (it.dropped) continue;
    if (it.axis >= 0) {
      const auto a = static_cast<std::size_t>(it.axis);
      map.force_insert(it.key, m.axes[a].values[choice[a]]);
    } else if (!it.children.empty()) {
      map.force_insert(it.key, build_map(it.children, m, choice, arena));
    } else {
      map.force_insert(it.key, it.value);
    }
  }
  return map;
}

// The item named `name` among `items` (a group's children searched by their dotted names).
const Item* find_item(const std::vector<Item>& items, const std::string& name) {
  for (const auto& it : items) {
    if (it.name == name) return &it;
    if (!it.children.empty() && head_of(name) == it.name) return find_item(it.children, name);
  }
  return nullptr;
}
}  // namespace

const std::vector<std::string>& top_level_sweep_keys() {
  static const std::vector<std::string> kKeys = {"points", "zip", "exclude"};
  return kKeys;
}

const std::vector<std::string>& entry_sweep_keys() {
  static const std::vector<std::string> kKeys = {"zip", "exclude"};
  return kKeys;
}

bool is_axis_key(const std::string& dotted_key) {
  static const std::set<std::string> kKeys = [] {
    std::set<std::string> keys;
    for (const auto& doc : config::point_key_docs()) {
      const std::string head = head_of(doc.key);
      const bool nested = head.size() != doc.key.size();
      if (nested ? is_knob_group(head) : !is_never_axis(head) && !is_knob_group(head)) keys.insert(doc.key);
    }
    return keys;
  }();
  return kKeys.count(dotted_key) > 0;
}

int Mapping::axis_index(const std::string& name) const {
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::optional<YAML::Node> Mapping::single_value(const std::string& name) const {
  // The entry's value wins; a default counts only when the entry does not replace it.
  for (auto level = levels.rbegin(); level != levels.rend(); ++level) {
    const bool is_top = level == std::prev(levels.rend());
    if (is_top && levels.size() > 1 && overridden(name, entry_keys)) return std::nullopt;
    if (const Item* it = find_item(level->items, name)) {
      if (it->dropped || it->axis >= 0 || it->value.IsSequence()) return std::nullopt;
      return it->value;
    }
    // A knob group left whole (no axis in it): look inside its mapping.
    const Item* group = find_item(level->items, head_of(name));
    if (group != nullptr && group->name != name && group->value.IsMap()) {
      const std::string key = name.substr(group->name.size() + 1);
      for (const auto& kv : group->value) {
        if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
      }
    }
  }
  return std::nullopt;
}

Mapping lay_out(const YAML::Node& top, const YAML::Node* entry, std::string label, const YAML::Mark& mark,
                config::PointReader& reader) {
  Mapping m;
  m.mark = mark;
  m.label = std::move(label);
  if (entry != nullptr) m.entry_keys = keys_given(*entry);
  Level top_level{top, top_level_sweep_keys(), {}, false};
  top_level.items =
      LevelBuilder(m, entry != nullptr ? &m.entry_keys : nullptr, reader).items(top, "", top_level.rebuilt);
  m.levels.push_back(std::move(top_level));
  if (entry != nullptr) {
    Level entry_level{*entry, entry_sweep_keys(), {}, false};
    entry_level.items = LevelBuilder(m, nullptr, reader).items(*entry, "", entry_level.rebuilt);
    m.levels.push_back(std::move(entry_level));
  }
  return m;
}

std::vector<config::PointReader::Level> build_levels(const Mapping& m, const std::vector<std::size_t>& choice,
                                                     NodeArena& arena) {
  std::vector<config::PointReader::Level> out;
  for (const auto& level : m.levels) {
    out.push_back({level.rebuilt ? build_map(level.items, m, choice, arena) : level.map, level.other_keys});
  }
  return out;
}

}  // namespace kvsweep::sweep::detail
