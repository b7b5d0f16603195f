// The document level of a point file: syntax errors, the single-point and `points:` forms, top-level
// defaults, and the checks that involve more than one key.
#include "kvsweep/config/point_yaml.hpp"

#include <yaml-cpp/eventhandler.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "kvsweep/core/units.hpp"
#include "point_keys.hpp"

namespace kvsweep::config {

namespace {
using detail::Draft;
using detail::Field;
using detail::YamlContext;

std::string gb_text(double bytes) {
  std::ostringstream s;
  s.precision(4);
  s << bytes / core::kGB;
  return s.str();
}

// Parses one level of keys (the file's top level or one entry of `points:`) over `draft`. `other_keys`
// are accepted and left to the caller (`points` at the top of a file).
void apply_level(const YAML::Node& map, const std::vector<std::string>& other_keys, YamlContext& ctx,
                 Draft& draft) {
  auto allowed = detail::key_names(detail::point_key_decls());
  allowed.insert(allowed.end(), other_keys.begin(), other_keys.end());
  const auto fields = detail::read_fields(map, "", allowed, ctx);

  // The capacity keys are one choice: a level that gives one replaces whatever an earlier level gave.
  const auto& cap_keys = detail::capacity_key_names();
  std::vector<const Field*> caps;
  for (const auto& f : fields) {
    if (std::find(cap_keys.begin(), cap_keys.end(), f.path) != cap_keys.end()) caps.push_back(&f);
  }
  if (!caps.empty()) {
    draft.capacity.reset();
    draft.failed.erase("capacity");
    for (const auto& k : cap_keys) {
      draft.given.erase(k);
      draft.failed.erase(k);
    }
  }
  for (std::size_t i = 1; i < caps.size(); ++i) {
    ctx.error(caps[i]->key.Mark(), caps[i]->path + " (" + detail::line_col(caps[i]->key.Mark()) +
                                       ") conflicts with " + caps[0]->path + " (" +
                                       detail::line_col(caps[0]->key.Mark()) + "); give exactly one of " +
                                       core::join(cap_keys));
    draft.failed.insert("capacity");
  }
  detail::apply_fields(fields, detail::point_key_decls(), ctx, draft);
}

bool usable(const Draft& d, const std::string& key) { return d.given.count(key) && !d.failed.count(key); }

// Turns a merged draft into a point, reporting what only the whole point can tell: missing required
// keys, the capacity choice, weights that fill HBM, tokens given twice.
PointSpec finalize(const Draft& d, const YAML::Mark& point_mark, std::string source, YamlContext& ctx) {
  PointSpec p;
  p.source = std::move(source);
  p.name = d.name;
  for (const char* key : {"model", "hardware"}) {
    if (!d.given.count(key)) ctx.error(point_mark, std::string("missing required key '") + key + "'");
  }

  const bool model_ok = usable(d, "model");
  if (model_ok) {
    p.kv_accounting = d.kv_accounting;
    if (d.model_preset != nullptr) {
      const ModelPreset& preset = *d.model_preset;
      for (const auto& [key, dtype] : {std::pair{"weight_dtype", d.weight_dtype}, std::pair{"kv_dtype", d.kv_dtype}}) {
        if (preset.fixed_bytes() && dtype && *dtype != preset.dtype) {
          ctx.error(d.given.at(key), std::string(key) + ": model " + preset.name + " keeps the paper's byte counts (" +
                                         std::string(to_string(preset.dtype)) + "); " + key +
                                         " applies to the other presets");
        }
      }
      p.model = resolve_model(preset, d.kv_accounting, preset.fixed_bytes() ? std::nullopt : d.weight_dtype,
                              preset.fixed_bytes() ? std::nullopt : d.kv_dtype);
    } else {
      p.model = *d.inline_model;
      for (const char* key : {"weight_dtype", "kv_dtype"}) {
        if (d.given.count(key)) {
          ctx.error(d.given.at(key), std::string(key) + " applies only to preset models; the inline model '" +
                                         p.model.name + "' gives its bytes itself");
        }
      }
      if (d.kv_accounting == KvAccounting::kMha && d.given.count("kv_accounting")) {
        ctx.error(d.given.at("kv_accounting"),
                  "kv_accounting: mha applies only to preset models; the inline model '" + p.model.name +
                      "' gives kv_bytes_per_token_layer itself");
      }
    }
    p.model_name = p.model.name;
  }

  const bool hardware_ok = usable(d, "hardware");
  if (hardware_ok) {
    p.hardware = *d.hardware;
    if (d.link_read_gbps) p.hardware.link_read_gbps = *d.link_read_gbps;
    if (d.link_write_gbps) p.hardware.link_write_gbps = *d.link_write_gbps;
    if (d.link_transfer_overhead_bytes) p.hardware.link_transfer_overhead_bytes = *d.link_transfer_overhead_bytes;
  }

  bool capacity_failed = d.failed.count("capacity") > 0;
  for (const auto& k : detail::capacity_key_names()) capacity_failed = capacity_failed || d.failed.count(k);
  bool from_hardware = false;
  if (d.capacity) {
    p.capacity = *d.capacity;
  } else if (!capacity_failed && hardware_ok) {
    if (p.hardware.hbm_capacity_gb) {
      p.capacity = {CapacitySpec::Kind::kGigabytes, *p.hardware.hbm_capacity_gb};
      from_hardware = true;
    } else {
      ctx.error(point_mark, "one of " + core::join(detail::capacity_key_names()) +
                                " is required (hardware '" + p.hardware.name + "' has no hbm_capacity_gb)");
    }
  }
  const bool weights_fill = (d.capacity || from_hardware) && !capacity_failed && model_ok &&
                            p.capacity.kind == CapacitySpec::Kind::kGigabytes &&
                            core::gb_to_bytes(p.capacity.value) <= p.model.resident_weight_bytes;
  if (weights_fill) {
    const std::string hbm = detail::format_number(p.capacity.value) + " GB of HBM";
    const std::string weights = gb_text(p.model.resident_weight_bytes) + " GB of " + p.model.name +
                                (p.model.weight_dtype.empty() ? "" : " (" + p.model.weight_dtype + ")") + " weights";
    if (from_hardware) {
      // Not "give a capacity key": any KV at all is more than this hardware holds beside the weights.
      ctx.error(d.given.at("hardware"), "hardware: " + p.hardware.name + "'s " + hbm +
                                            " leaves no room for KV after " + weights +
                                            "; use a smaller weight_dtype, a hardware with more HBM, or an inline "
                                            "hardware mapping without hbm_capacity_gb");
    } else {
      ctx.error(d.capacity_mark, "hbm_capacity_gb: " + hbm + " leaves no room for KV after " + weights);
    }
  }

  p.hbm_reads = d.hbm_reads;
  const bool mirrors = d.model_preset != nullptr && d.model_preset->mirrors_weights;
  p.weights_in_dram = d.weights_in_dram.value_or(mirrors ? WeightsInDram::kMirror : WeightsInDram::kNone);
  p.trace.file = d.trace_file;
  p.trace.files = d.trace_files;
  p.trace.synthetic = d.synthetic;
  p.kv_block_tokens = d.kv_block_tokens;
  p.read_unit = d.read_unit;
  p.batch_size = d.batch_size;
  const bool from_files = !d.trace_file.empty() || !d.trace_files.empty();
  if (from_files) {
    const std::string trace_key = d.trace_files.empty() ? "trace.file" : "trace.files";
    for (const char* key : {"prompt_tokens", "decode_tokens", "batch_prompt_tokens", "prompt_tokens_spread"}) {
      if (d.given.count(key)) {
        ctx.error(d.given.at(key), std::string(key) + " comes from the trace file" +
                                       (d.trace_files.empty() ? "" : "s") + " (" + trace_key + " at " +
                                       detail::line_col(d.given.at("trace.file")) + "); remove it");
      }
    }
    const std::size_t files = d.trace_files.empty() ? 1 : d.trace_files.size();
    if (d.given.count("batch_size") && !d.failed.count("batch_size") && d.batch_size != files) {
      ctx.error(d.given.at("batch_size"), "batch_size: " + std::to_string(d.batch_size) + " but " + trace_key +
                                              " gives " + std::to_string(files) + " sequence" + (files == 1 ? "" : "s") +
                                              " (one per file); remove batch_size or make them agree");
    }
    p.batch_size = static_cast<std::uint32_t>(files);
  } else if (!d.failed.count("trace")) {
    const bool listed = d.given.count("batch_prompt_tokens") > 0;
    if (listed) {
      for (const char* key : {"prompt_tokens", "prompt_tokens_spread"}) {
        if (d.given.count(key)) {
          ctx.error(d.given.at(key), std::string(key) + ": batch_prompt_tokens (at " +
                                         detail::line_col(d.given.at("batch_prompt_tokens")) +
                                         ") gives every prompt already; give one or the other");
        }
      }
      const auto n = static_cast<std::uint32_t>(d.batch_prompt_tokens.size());
      if (d.given.count("batch_size") && !d.failed.count("batch_size") && n != 0 && d.batch_size != n) {
        ctx.error(d.given.at("batch_prompt_tokens"),
                  "batch_prompt_tokens: " + std::to_string(n) + " prompt length" + (n == 1 ? "" : "s") +
                      " for batch_size " + std::to_string(d.batch_size) + "; give one per sequence");
      }
      if (n != 0) {
        p.batch_size = n;
        p.batch_prompt_tokens = d.batch_prompt_tokens;
        p.prompt_tokens = d.batch_prompt_tokens[0];
      }
    } else {
      if (!d.given.count("prompt_tokens")) ctx.error(point_mark, "missing required key 'prompt_tokens'");
      p.prompt_tokens = d.prompt_tokens.value_or(0);
      p.prompt_tokens_spread = d.prompt_tokens_spread;
    }
    if (!d.given.count("decode_tokens")) ctx.error(point_mark, "missing required key 'decode_tokens'");
    p.decode_tokens = d.decode_tokens.value_or(0);
  }
  // Points that cannot exist: the weights and the KV capacity asked for must fit the hardware's HBM.
  // (A trace file's shape is known only when it is read: capacity_entries() checks those points.)
  if (model_ok && hardware_ok && !capacity_failed && !weights_fill && (d.capacity || from_hardware) &&
      p.prompt_tokens > 0 && p.decode_tokens > 0) {
    const std::string why = capacity_problem(p, footprint_tokens(p), p.model.layers);
    if (!why.empty()) ctx.error(d.capacity ? d.capacity_mark : d.given.at("hardware"), why);
  }

  if (model_ok && usable(d, "synthetic.dense_layers") && d.synthetic.dense_layers > p.model.layers) {
    ctx.error(d.given.at("synthetic.dense_layers"),
              "synthetic.dense_layers: " + std::to_string(d.synthetic.dense_layers) + " exceeds the " +
                  std::to_string(p.model.layers) + " layers of " + p.model.name);
  }

  p.policies = d.policies.value_or(default_policy_names());
  p.policy_params = d.policy_params;
  p.oracle = d.oracle;
  p.seed = d.seed;
  return p;
}

// Records where each document of a YAML stream starts and whether it holds anything but a lone null.
class DocumentStarts final : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start;
    bool content = false;
  };
  std::vector<Document> documents;

  void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, false}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { seen(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
    seen();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    seen();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    seen();
  }
  void OnMapEnd() override {}

 private:
  void seen() {
    if (!documents.empty()) documents.back().content = true;
  }
};

// Where a second document with content starts (its `---`), if `text` has one. YAML::Load reads the
// first document only, so the rest of a file would otherwise be dropped without a word. A document that
// is empty (a trailing `---`) hides nothing and is let be.
std::optional<YAML::Mark> second_document(const std::string& text) {
  // Every later document begins after a `---` or `...` marker: files without one need no second pass.
  if (text.find("---") == std::string::npos && text.find("...") == std::string::npos) return std::nullopt;
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  try {
    while (parser.HandleNextDocument(starts)) {
      for (std::size_t i = 1; i < starts.documents.size(); ++i) {
        if (starts.documents[i].content) return starts.documents[i].start;
      }
    }
  } catch (const YAML::Exception&) {
    // A syntax error past the first document: that document is still one too many.
    if (starts.documents.size() > 1) return starts.documents[1].start;
    throw;
  }
  return std::nullopt;
}

// The document of a point file: a mapping, or an InputError for a syntax error, an empty file, a second
// document or anything else.
YAML::Node parse_document(const std::string& text, const YamlContext& ctx) {
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    root = YAML::Load(text);
    second = second_document(text);
  } catch (const YAML::Exception& e) {
    throw core::InputError(ctx.where(e.mark), "YAML syntax error: " + e.msg);
  }
  if (second) {
    throw core::InputError(ctx.where(*second),
                           "a second YAML document starts here; a point or sweep file is one document (the "
                           "rest would be ignored): give several points as a list under 'points:', or "
                           "several values of a key as a list (an axis)");
  }
  if (!root || root.IsNull()) {
    throw core::InputError(ctx.file(),
                           "the file is empty; expected a mapping of point keys (or 'points:' with a list)");
  }
  if (!root.IsMap()) {
    throw core::InputError(ctx.where(root.Mark()),
                           "expected a mapping of point keys (or 'points:' with a list "
                           "of them), got " +
                               detail::describe(root));
  }
  return root;
}

std::vector<PointSpec> load(const std::string& text, const std::string& name,
                            std::filesystem::path base_dir) {
  YamlContext ctx(name, std::move(base_dir));
  const YAML::Node root = parse_document(text, ctx);

  Draft top;
  apply_level(root, {"points"}, ctx, top);
  std::optional<Field> points;
  for (const auto& kv : root) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "points" && !points)
      points = Field{"points", kv.first, kv.second};
  }

  std::vector<PointSpec> result;
  if (!points) {
    result.push_back(finalize(top, root.Mark(), name, ctx));
  } else if (!points->value.IsSequence() || points->value.size() == 0) {
    ctx.error(points->mark(), "points: expected a non-empty list of point mappings, got " +
                                  (points->value.IsSequence() ? std::string("an empty list")
                                                              : detail::describe(points->value)));
  } else {
    std::size_t i = 0;
    for (const auto& entry : points->value) {
      const std::string source = name + "#" + std::to_string(i);
      if (!entry.IsMap()) {
        const YAML::Mark mark = entry.IsNull() ? points->mark() : entry.Mark();
        ctx.error(mark, "points[" + std::to_string(i) + "]: expected a mapping of point keys, got " +
                            detail::describe(entry));
      } else {
        Draft d = top;
        apply_level(entry, {}, ctx, d);
        result.push_back(finalize(d, entry.Mark(), source, ctx));
      }
      ++i;
    }
  }
  ctx.throw_if_any();
  return result;
}
}  // namespace

PointReader::PointReader(std::string file, std::filesystem::path base_dir)
    : ctx_(std::make_unique<YamlContext>(std::move(file), std::move(base_dir))) {}
PointReader::~PointReader() = default;

std::optional<PointSpec> PointReader::read(const std::vector<Level>& levels, const YAML::Mark& point_mark,
                                           std::string source) {
  const std::size_t before = ctx_->error_count();
  Draft d;
  for (const auto& level : levels) apply_level(level.map, level.other_keys, *ctx_, d);
  PointSpec p = finalize(d, point_mark, std::move(source), *ctx_);
  if (ctx_->error_count() != before) return std::nullopt;
  return p;
}

YAML::Node PointReader::parse(const std::string& text) const { return parse_document(text, *ctx_); }

void PointReader::error(const YAML::Mark& mark, std::string message) {
  ctx_->error(mark, std::move(message));
}
std::string PointReader::where(const YAML::Mark& mark) const { return ctx_->where(mark); }
bool PointReader::has_errors() const { return ctx_->has_errors(); }
const std::vector<core::Diagnostic>& PointReader::diagnostics() const { return ctx_->diagnostics(); }
void PointReader::throw_if_any() const { ctx_->throw_if_any(); }

std::vector<PointSpec> load_point_text(const std::string& text, const std::string& name_for_messages) {
  return load(text, name_for_messages, std::filesystem::path(name_for_messages).parent_path());
}

std::string read_yaml_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw core::InputError(path, "cannot open file (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::InputError(path, "cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw core::InputError(path, "cannot read file");
  return text.str();
}

std::vector<PointSpec> load_point_file(const std::string& path) {
  return load(read_yaml_file(path), path, std::filesystem::path(path).parent_path());
}

std::vector<PointKeyDoc> point_key_docs() {
  std::vector<PointKeyDoc> docs;
  const auto add = [&docs](const std::vector<detail::KeyDecl>& decls, const std::string& prefix) {
    for (const auto& k : decls)
      docs.push_back({prefix + k.name, k.type, k.default_value, k.allowed, k.description});
  };
  add(detail::point_key_decls(), "");
  add(detail::synthetic_key_decls(), "synthetic.");
  add(detail::policy_param_key_decls(), "policy_params.");
  add(detail::oracle_key_decls(), "oracle.");
  return docs;
}

}  // namespace kvsweep::config
