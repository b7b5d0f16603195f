#include "yaml_value.hpp"

namespace kvsweep::sweep::detail {

namespace {
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
