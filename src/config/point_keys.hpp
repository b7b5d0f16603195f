#pragma once
// Private to the config layer: the declaration of every key a design point accepts (type, default or
// "required", allowed values, description, parse function), in the spirit of Ramulator 2's parameter
// declarations, and the Draft that parsed keys fill in before a point is finalised.
//
// A parse function sees one scalar-or-mapping value. Keys that will later take a list of values (sweeps)
// can call the same function once per element.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "yaml_read.hpp"

namespace kvsweep::config::detail {

// Everything a point's keys said, merged level by level (top-level defaults, then the point's own).
struct Draft {
  std::map<std::string, YAML::Mark> given;  // key path -> where the latest level gave it
  std::set<std::string> failed;             // key paths whose latest value was rejected

  const ModelPreset* model_preset = nullptr;  // exactly one of these two once `model` parsed
  std::optional<ModelSpec> inline_model;
  KvAccounting kv_accounting = KvAccounting::kTrue;
  std::optional<Dtype> weight_dtype;  // unset: the preset's
  std::optional<Dtype> kv_dtype;
  std::optional<HardwareSpec> hardware;
  std::optional<double> link_read_gbps;
  std::optional<double> link_write_gbps;
  std::optional<CapacitySpec> capacity;
  HbmReads hbm_reads = HbmReads::kBalanced;
  std::optional<WeightsInDram> weights_in_dram;  // unset: the model's default
  YAML::Mark capacity_mark;
  std::optional<std::uint32_t> prompt_tokens;
  std::optional<std::uint32_t> decode_tokens;
  std::uint32_t batch_size = 1;
  std::vector<std::uint32_t> batch_prompt_tokens;
  double prompt_tokens_spread = 0;
  std::uint32_t kv_block_tokens = 1;
  ReadUnit read_unit = ReadUnit::kToken;
  std::optional<double> link_transfer_overhead_bytes;
  std::string trace_file;  // resolved path; empty: synthetic
  std::vector<std::string> trace_files;  // resolved paths of `trace: {files: [...]}`
  SyntheticParams synthetic;
  std::optional<std::vector<std::string>> policies;
  PolicyParams policy_params;
  OracleSettings oracle;
  std::uint64_t seed = 1;
  std::string name;
};

using ParseFn = std::function<bool(const Field&, YamlContext&, Draft&)>;

struct KeyDecl {
  std::string name;
  std::string type;
  std::string default_value;  // "required", "none", or the default as YAML text
  std::string allowed;
  std::string description;
  ParseFn parse;  // records diagnostics and returns false when the value is rejected
};

// The keys of a point, of its `synthetic:` mapping and of its `policy_params:` mapping.
const std::vector<KeyDecl>& point_key_decls();
const std::vector<KeyDecl>& synthetic_key_decls();
const std::vector<KeyDecl>& policy_param_key_decls();
const std::vector<KeyDecl>& oracle_key_decls();
std::vector<std::string> key_names(const std::vector<KeyDecl>& decls);

// "<path>: unknown <what> '<value>' (did you mean ...?); allowed: a, b[, or <alternative>]".
std::string unknown_value(const std::string& path, const std::string& what, const std::string& value,
                          const std::vector<std::string>& allowed, const std::string& alternative = "");

// The three capacity keys, of which a point gives at most one.
const std::vector<std::string>& capacity_key_names();

// Parses the fields of a mapping against `decls`, recording given/failed per key path.
void apply_fields(const std::vector<Field>& fields, const std::vector<KeyDecl>& decls, YamlContext& ctx,
                  Draft& draft);

// Declarations of numeric knobs held in a member struct of Draft; the default is read from a
// default-constructed Group, so documentation cannot drift from the code.
template <class Group>
KeyDecl number_knob(Group Draft::*group, std::string name, double Group::*member, Range range,
                    std::string description) {
  return {std::move(name),
          "number",
          format_number(Group{}.*member),
          range.bounds(),
          std::move(description),
          [group, member, range](const Field& f, YamlContext& ctx, Draft& d) {
            const auto x = read_number(f, range, ctx);
            if (x) (d.*group).*member = *x;
            return x.has_value();
          }};
}

template <class Group>
KeyDecl integer_knob(Group Draft::*group, std::string name, std::uint32_t Group::*member, std::uint32_t lo,
                     std::uint32_t hi, std::string description) {
  return {std::move(name),
          "integer",
          std::to_string(Group{}.*member),
          integer_bounds(lo, hi),
          std::move(description),
          [group, member, lo, hi](const Field& f, YamlContext& ctx, Draft& d) {
            const auto x = read_u32(f, lo, hi, ctx);
            if (x) (d.*group).*member = *x;
            return x.has_value();
          }};
}

}  // namespace kvsweep::config::detail
