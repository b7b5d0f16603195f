// Loading good point files: the single and `points:` forms, defaults and overrides, trace files, and the
// errors that are not about one file's content (missing file, several problems at once).
#include "kvsweep/config/point_yaml.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "kvsweep/core/diagnostics.hpp"
#include "test_data_dir.hpp"

namespace kvsweep::config {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("kvsweep_config_" + std::string(info->test_suite_name()) + "_" +
                                         info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<core::Diagnostic> errors_of(const std::string& text) {
  try {
    load_point_text(text, "t.yaml");
  } catch (const core::InputError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

TEST(LoadPoint, SinglePointWithDefaults) {
  const auto points = load_point_text(
      "model: llama-3.1-8b\nhardware: paper-table1\nprompt_tokens: 31299\ndecode_tokens: 10239\n",
      "one.yaml");
  ASSERT_EQ(points.size(), 1u);
  const PointSpec& p = points[0];
  EXPECT_EQ(p.source, "one.yaml");
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.model_name, "llama-3.1-8b");
  EXPECT_EQ(p.kv_accounting, KvAccounting::kTrue);
  EXPECT_DOUBLE_EQ(p.model.kv_bytes_per_token_layer, 4096);
  EXPECT_EQ(p.hardware.name, "paper-table1");
  // No capacity key: the preset's total HBM, in GB.
  EXPECT_EQ(p.capacity.kind, CapacitySpec::Kind::kGigabytes);
  EXPECT_DOUBLE_EQ(p.capacity.value, 24);
  EXPECT_EQ(p.prompt_tokens, 31299u);
  EXPECT_EQ(p.decode_tokens, 10239u);
  EXPECT_TRUE(p.trace.file.empty());
  EXPECT_DOUBLE_EQ(p.trace.synthetic.sparsity, 0.6);
  EXPECT_EQ(p.trace.synthetic.variation, "actual");
  EXPECT_DOUBLE_EQ(p.trace.synthetic.target_jaccard, 0.8);
  EXPECT_EQ(p.policies, default_policy_names());
  EXPECT_EQ(p.policy_params.page_tokens, 16u);
  EXPECT_EQ(p.seed, 1u);
}

TEST(LoadPoint, SinglePointWithEveryKey) {
  const auto points = load_point_text(R"(
name: paper figure 3, 90 %
model: llama-3.1-8b
kv_accounting: mha
hardware: gh200-measured
link_read_gbps: 100
link_write_gbps: 50.5
hbm_kv_capacity_entries: 123456
prompt_tokens: 1000
decode_tokens: 200
sparsity: 0.9
variation: 0.7
synthetic:
  sink_tokens: 8
  recent_share: 0.1
  heavy_share: 0.4
  heavy_lifetime_steps: 500
  span_tokens: 4
  recall_prob: 0.25
  layer_spread: 0
  cross_layer_share: 0.5
  dense_layers: 2
trace: synthetic
policies: [sa_guided, static]
policy_params: {page_tokens: 32, streaming_sinks: 2, h2o_recent_share: 0.3, belady_lookahead: 64,
                sa_window: 16, sa_fraction: 1}
seed: 18446744073709551615
)",
                                      "all.yaml");
  ASSERT_EQ(points.size(), 1u);
  const PointSpec& p = points[0];
  EXPECT_EQ(p.name, "paper figure 3, 90 %");
  EXPECT_EQ(p.kv_accounting, KvAccounting::kMha);
  EXPECT_DOUBLE_EQ(p.model.kv_bytes_per_token_layer, 16384);
  EXPECT_EQ(p.hardware.name, "gh200-measured");
  EXPECT_DOUBLE_EQ(p.hardware.link_read_gbps, 100);
  EXPECT_DOUBLE_EQ(p.hardware.link_write_gbps, 50.5);
  EXPECT_DOUBLE_EQ(p.hardware.hbm_bw_gbps, 3400);
  EXPECT_EQ(p.capacity.kind, CapacitySpec::Kind::kEntries);
  EXPECT_DOUBLE_EQ(p.capacity.value, 123456);
  const SyntheticParams& s = p.trace.synthetic;
  EXPECT_DOUBLE_EQ(s.sparsity, 0.9);
  EXPECT_EQ(s.variation, "0.7");
  EXPECT_DOUBLE_EQ(s.target_jaccard, 0.7);
  EXPECT_EQ(s.sink_tokens, 8u);
  EXPECT_DOUBLE_EQ(s.recent_share, 0.1);
  EXPECT_DOUBLE_EQ(s.heavy_share, 0.4);
  EXPECT_DOUBLE_EQ(s.heavy_lifetime_steps, 500);
  EXPECT_DOUBLE_EQ(s.span_tokens, 4);
  EXPECT_DOUBLE_EQ(s.recall_prob, 0.25);
  EXPECT_DOUBLE_EQ(s.layer_spread, 0);
  EXPECT_DOUBLE_EQ(s.cross_layer_share, 0.5);
  EXPECT_EQ(s.dense_layers, 2u);
  EXPECT_EQ(p.policies, (std::vector<std::string>{"sa_guided", "static"}));
  EXPECT_EQ(p.policy_params.page_tokens, 32u);
  EXPECT_EQ(p.policy_params.streaming_sinks, 2u);
  EXPECT_DOUBLE_EQ(p.policy_params.h2o_recent_share, 0.3);
  EXPECT_EQ(p.policy_params.belady_lookahead, 64u);
  EXPECT_EQ(p.policy_params.sa_window, 16u);
  EXPECT_DOUBLE_EQ(p.policy_params.sa_fraction, 1);
  EXPECT_EQ(p.seed, 18446744073709551615ull);
}

TEST(LoadPoint, InlineModelAndHardware) {
  const auto points = load_point_text(R"(
model: {name: tiny, layers: 4, kv_bytes_per_token_layer: 256, weight_bytes_per_layer: 1e6}
hardware: {name: lab, hbm_bw_gbps: 1000, link_read_gbps: 100, link_write_gbps: 80, dram_bw_gbps: 200}
hbm_capacity_ratio: 0.25
prompt_tokens: 64
decode_tokens: 16
)",
                                      "inline.yaml");
  ASSERT_EQ(points.size(), 1u);
  const PointSpec& p = points[0];
  EXPECT_EQ(p.model_name, "tiny");
  EXPECT_EQ(p.model.layers, 4u);
  EXPECT_DOUBLE_EQ(p.model.kv_bytes_per_token_layer, 256);
  EXPECT_DOUBLE_EQ(p.model.weight_bytes_per_layer, 1e6);
  EXPECT_DOUBLE_EQ(p.model.resident_weight_bytes, 4e6);
  EXPECT_EQ(p.hardware.name, "lab");
  EXPECT_DOUBLE_EQ(p.hardware.link_write_gbps, 80);
  EXPECT_FALSE(p.hardware.hbm_capacity_gb.has_value());
  EXPECT_EQ(p.capacity.kind, CapacitySpec::Kind::kRatio);
  EXPECT_EQ(capacity_entries(p, std::uint64_t{p.prompt_tokens} + p.decode_tokens, p.model.layers), 80u);
}

TEST(LoadPoint, MultiPointDefaultsAndOverrides) {
  const auto points = load_point_text(R"(
model: llama-3.1-8b
hardware: paper-table1
hbm_capacity_ratio: 0.5
prompt_tokens: 1000
decode_tokens: 100
synthetic: {recent_share: 0.1, span_tokens: 4}
policies: [static, page]
points:
  - name: defaults
  - name: overrides
    model: mistral-7b
    hbm_capacity_gb: 40
    sparsity: 0.85
    variation: high
    synthetic: {span_tokens: 16}
    seed: 7
)",
                                      "multi.yaml");
  ASSERT_EQ(points.size(), 2u);
  const PointSpec& a = points[0];
  const PointSpec& b = points[1];
  EXPECT_EQ(a.source, "multi.yaml#0");
  EXPECT_EQ(b.source, "multi.yaml#1");
  EXPECT_EQ(a.name, "defaults");
  EXPECT_EQ(a.model_name, "llama-3.1-8b");
  EXPECT_EQ(a.capacity.kind, CapacitySpec::Kind::kRatio);
  EXPECT_DOUBLE_EQ(a.capacity.value, 0.5);
  EXPECT_DOUBLE_EQ(a.trace.synthetic.sparsity, 0.6);
  EXPECT_EQ(a.policies, (std::vector<std::string>{"static", "page"}));
  EXPECT_EQ(a.seed, 1u);

  EXPECT_EQ(b.name, "overrides");
  EXPECT_EQ(b.model_name, "mistral-7b");
  // A capacity key in an entry replaces the top-level one instead of conflicting with it.
  EXPECT_EQ(b.capacity.kind, CapacitySpec::Kind::kGigabytes);
  EXPECT_DOUBLE_EQ(b.capacity.value, 40);
  EXPECT_DOUBLE_EQ(b.trace.synthetic.sparsity, 0.85);
  EXPECT_EQ(b.trace.synthetic.variation, "high");
  EXPECT_DOUBLE_EQ(b.trace.synthetic.target_jaccard, 0.6);
  // Knob groups merge key by key.
  EXPECT_DOUBLE_EQ(b.trace.synthetic.recent_share, 0.1);
  EXPECT_DOUBLE_EQ(b.trace.synthetic.span_tokens, 16);
  EXPECT_EQ(b.prompt_tokens, 1000u);
  EXPECT_EQ(b.seed, 7u);
}

TEST(LoadPoint, TraceFileIsResolvedBesideTheYamlFile) {
  TempDir dir;
  const fs::path csv = dir.write("traces/t.csv", "n,l,tokens\n4,0,\"[0]\"\n");
  const fs::path yaml = dir.write("points/p.yaml", R"(model: llama-3.1-8b
hardware: gh200-spec
trace: {file: ../traces/t.csv}
)");
  const auto points = load_point_file(yaml.string());
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(fs::path(points[0].trace.file), csv.lexically_normal());
  EXPECT_EQ(points[0].prompt_tokens, 0u);  // the trace file decides
  EXPECT_EQ(points[0].decode_tokens, 0u);
  EXPECT_EQ(points[0].source, yaml.string());
}

TEST(LoadPoint, AFileInTheCorpusDirectoryLoadsWithItsTrace) {
  // tokens_with_trace_file.yaml minus its bad key: checks that relative paths work for load_point_text too.
  const std::string name = (test::test_data_dir() / "bad_points" / "x.yaml").string();
  const auto points =
      load_point_text("model: llama-3.1-8b\nhardware: paper-table1\ntrace: {file: tiny_trace.csv}\n", name);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(fs::path(points[0].trace.file).filename(), "tiny_trace.csv");
}

TEST(LoadPoint, MissingFile) {
  try {
    load_point_file("/nonexistent/kvsweep/points.yaml");
    FAIL() << "accepted a missing file";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].where, "/nonexistent/kvsweep/points.yaml");
    EXPECT_EQ(e.diagnostics()[0].message, "cannot open file");
  }
}

TEST(LoadPoint, EmptyTextIsAnError) {
  const auto diags = errors_of("");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where, "t.yaml");
  EXPECT_NE(diags[0].message.find("empty"), std::string::npos);
}

// Issue 27 item 9: yaml-cpp's Load reads the first document only, so a second point after `---` was
// dropped without a word ("OK: 1 point").
TEST(LoadPoint, ASecondDocumentIsRefusedAtItsStart) {
  const std::string point =
      "model: llama-3.1-8b\nhardware: paper-table1\nprompt_tokens: 1000\ndecode_tokens: 100\n";
  auto diags = errors_of(point + "---\n" + point);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where, "t.yaml:5:1");
  EXPECT_NE(diags[0].message.find("a second YAML document starts here"), std::string::npos)
      << diags[0].message;
  EXPECT_NE(diags[0].message.find("'points:'"), std::string::npos) << diags[0].message;
  // After an explicit end of document, and with a syntax error in the second document.
  diags = errors_of(point + "...\n" + point);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where, "t.yaml:6:1");
  diags = errors_of("---\n" + point + "--- \nmodel: [a, b\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where, "t.yaml:6:1");
  EXPECT_NE(diags[0].message.find("a second YAML document"), std::string::npos) << diags[0].message;
}

TEST(LoadPoint, DocumentMarkersAroundOneDocumentAreFine) {
  const std::string point =
      "model: llama-3.1-8b\nhardware: paper-table1\nprompt_tokens: 1000\ndecode_tokens: 100\n";
  EXPECT_EQ(load_point_text("---\n" + point, "t.yaml").size(), 1u);
  EXPECT_EQ(load_point_text("---\n" + point + "...\n", "t.yaml").size(), 1u);
  // An empty document hides nothing.
  EXPECT_EQ(load_point_text(point + "---\n# nothing here\n", "t.yaml").size(), 1u);
  // '---' inside a value is not a marker.
  EXPECT_EQ(load_point_text(point + "name: a---b...c\n", "t.yaml").size(), 1u);
}

TEST(LoadPoint, EveryProblemIsReportedAtOnce) {
  const auto diags = errors_of(R"(model: llama-3.1-8b
hardwre: paper-table1
sparsity: 2
prompt_tokens: abc
policies: [static, nope, static]
synthetic: {span_tokens: 0}
)");
  std::vector<std::string> got;
  for (const auto& d : diags) got.push_back(d.str());
  const std::vector<std::string> want_prefixes = {
      "t.yaml:2:1: unknown key 'hardwre' (did you mean 'hardware'?)",
      "t.yaml:3:11: sparsity: 2 is out of range [0, 1)",
      "t.yaml:4:16: prompt_tokens: 'abc' is not an integer",
      "t.yaml:5:20: policies: unknown policy 'nope'",
      "t.yaml:5:26: policies: duplicate policy 'static' (first listed at 5:12)",
      "t.yaml:6:26: synthetic.span_tokens: 0 is out of range [1, 16777216]",
      "t.yaml:1:1: missing required key 'hardware'",
      "t.yaml:1:1: missing required key 'decode_tokens'",
  };
  ASSERT_EQ(got.size(), want_prefixes.size()) << ::testing::PrintToString(got);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].rfind(want_prefixes[i], 0), 0u) << got[i];
}

TEST(LoadPoint, TopLevelDefaultErrorsAreReportedOnce) {
  const auto diags = errors_of(R"(model: llama-3.1-8b
hardware: paper-table1
prompt_tokens: 10
decode_tokens: 10
seed: -1
points:
  - name: a
  - name: b
  - name: c
)");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].where, "t.yaml:5:7");
}

TEST(LoadPoint, UnknownKeyListsAllowedKeys) {
  const auto diags =
      errors_of("model: llama-3.1-8b\nhardware: paper-table1\nprompt_tokens: 1\ndecode_tokens: 1\nfoo: 1\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("allowed keys: name, model, kv_accounting, weight_dtype, kv_dtype, hardware"), std::string::npos);
  EXPECT_EQ(diags[0].message.find("did you mean"), std::string::npos);  // nothing close to 'foo'
}

TEST(PointKeyDocs, CoverEveryKeyWithAllowedValues) {
  const auto docs = point_key_docs();
  auto find = [&](const std::string& key) -> const PointKeyDoc* {
    for (const auto& d : docs) {
      if (d.key == key) return &d;
    }
    return nullptr;
  };
  for (const char* key :
       {"model", "hardware", "hbm_capacity_ratio", "prompt_tokens", "sparsity", "variation", "trace",
        "policies", "seed", "synthetic.dense_layers", "policy_params.sa_fraction"}) {
    const PointKeyDoc* d = find(key);
    ASSERT_NE(d, nullptr) << key;
    EXPECT_FALSE(d->description.empty()) << key;
    EXPECT_FALSE(d->allowed.empty()) << key;
  }
  EXPECT_EQ(find("sparsity")->default_value, "0.6");
  EXPECT_EQ(find("sparsity")->allowed, "[0, 1)");
  EXPECT_EQ(find("model")->default_value, "required");
  EXPECT_EQ(find("policy_params.sa_window")->allowed, "[1, 4096]");
  EXPECT_EQ(find("policy_params.page_tokens")->default_value, "16");
}

}  // namespace
}  // namespace kvsweep::config
