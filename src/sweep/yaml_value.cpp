#include "yaml_value.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

namespace kvsweep::sweep::detail {

namespace {
// `part` with its length in front, so that concatenated parts cannot be confused.
void put_sized(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key.append(part);
}

bool append_key(const YAML::Node& value, std::string& key) {
  switch (value.Type()) {
    case YAML::NodeType::Scalar: {
      double x = 0;
      if (!YAML::convert<double>::decode(value, x)) {
        key += 's';
        put_sized(key, value.Scalar());
        return true;
      }
      if (std::isnan(x)) return false;  // equal to nothing, not even itself
      if (x == 0) x = 0;                // -0 == 0
      char bits[sizeof x];
      std::memcpy(bits, &x, sizeof x);
      key += 'd';
      key.append(bits, sizeof bits);
      return true;
    }
    case YAML::NodeType::Sequence: {
      key += '[';
      key += std::to_string(value.size());
      key += ':';
      std::string part;
      for (const auto& element : value) {
        part.clear();
        if (!append_key(element, part)) return false;
        put_sized(key, part);
      }
      return true;
    }
    case YAML::NodeType::Map: {
      // same_map() pairs keys by text whatever their order: sorted entries, keys distinct.
      std::vector<std::pair<std::string, std::string>> entries;
      for (const auto& kv : value) {
        if (!kv.first.IsScalar()) return false;
        std::string part;
        if (!append_key(kv.second, part)) return false;
        entries.emplace_back(kv.first.Scalar(), std::move(part));
      }
      std::sort(entries.begin(), entries.end());
      for (std::size_t i = 1; i < entries.size(); ++i) {
        if (entries[i].first == entries[i - 1].first) return false;
      }
      key += '{';
      key += std::to_string(entries.size());
      key += ':';
      for (const auto& [k, v] : entries) {
        put_sized(key, k);
        put_sized(key, v);
      }
      return true;
    }
    case YAML::NodeType::Null:
      key += 'n';
      return true;
    default:
      key += 'u';
      return true;
  }
}

// The name matches() compares a scalar with: the value of a mapping's first "name" key, if a scalar.
std::optional<std::string> inline_name(const YAML::Node& value) {
  if (!value.IsMap()) return std::nullopt;
  for (const auto& kv : value) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name")
      return kv.second.IsScalar() ? std::optional<std::string>(kv.second.Scalar()) : std::nullopt;
  }
  return std::nullopt;
}

bool same_map(const YAML::Node& a, const YAML::Node& b) {
  if (a.size() != b.size()) return false;
  for (const auto& kv : a) {
    if (!kv.first.IsScalar()) return false;
    bool found = false;
    for (const auto& other : b) {
      if (other.first.IsScalar() && other.first.Scalar() == kv.first.Scalar()) {
        found = same_value(kv.second, other.second);
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}
}  // namespace

bool same_value(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type()) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar: {
      double x = 0, y = 0;
      if (YAML::convert<double>::decode(a, x) && YAML::convert<double>::decode(b, y)) return x == y;
      return a.Scalar() == b.Scalar();
    }
    case YAML::NodeType::Map:
      return same_map(a, b);
    case YAML::NodeType::Sequence: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!same_value(a[i], b[i])) return false;
      }
      return true;
    }
    default:
      return true;  // both null
  }
}

bool matches(const YAML::Node& value, const YAML::Node& wanted) {
  if (same_value(value, wanted)) return true;
  if (!value.IsMap() || !wanted.IsScalar()) return false;
  for (const auto& kv : value) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name")
      return kv.second.IsScalar() && kv.second.Scalar() == wanted.Scalar();
  }
  return false;
}

bool canonical_key(const YAML::Node& value, std::string& key) {
  key.clear();
  return append_key(value, key);
}

ValueLookup::ValueLookup(const std::vector<YAML::Node>& values) : values_(values) {
  std::string key;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!canonical_key(values[i], key)) {
      irregular_.push_back(i);
      continue;
    }
    by_key_[key].push_back(i);
    if (const auto name = inline_name(values[i])) by_name_[*name].push_back(i);
  }
}

std::vector<std::size_t> ValueLookup::matching(const YAML::Node& wanted) const {
  std::vector<std::size_t> out;
  std::string key;
  if (!canonical_key(wanted, key)) {
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (matches(values_[i], wanted)) out.push_back(i);
    }
    return out;
  }
  // Equal values share the key; a scalar also matches the inline mappings it names (those two sets are
  // disjoint: scalars and mappings); values without a key are asked one by one.
  if (const auto it = by_key_.find(key); it != by_key_.end()) out = it->second;
  if (wanted.IsScalar()) {
    if (const auto it = by_name_.find(wanted.Scalar()); it != by_name_.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  for (const std::size_t i : irregular_) {
    if (matches(values_[i], wanted)) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string display_text(const YAML::Node& value) {
  if (value.IsScalar()) return value.Scalar();
  if (!value.IsDefined() || value.IsNull()) return "";
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << value;
  return out.c_str();
}

std::string display_list(const std::vector<YAML::Node>& values) {
  std::string s;
  for (const auto& v : values) {
    if (!s.empty()) s += ", ";
    s += display_text(v);
  }
  return s;
}

std::string line_col(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

}  // namespace kvsweep::sweep::detail
