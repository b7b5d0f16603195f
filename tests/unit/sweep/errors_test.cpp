// Every kind of problem in a sweep file, each reported once at its exact file:line:col.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvsweep/sweep/sweep.hpp"
#include "sweep_test_util.hpp"

namespace kvsweep::sweep {
namespace {

using test::errors_of;
using test::kBase;  // 5 lines: a case's own keys start at line 6
using test::only_error;

struct Case {
  const char* what;
  std::string text;
  std::string where;     // the one diagnostic's place
  std::string fragment;  // and part of its message
};

std::string numbers(int n) {
  std::string list = "[";
  for (int i = 1; i <= n; ++i) list += std::to_string(i) + (i < n ? ", " : "]");
  return list;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"a bad list element: once, at the element, though 8 combinations hold it",
       kBase + "sparsity: [0.5, 0.6, 1.5, 0.7]\nvariation: [low, high]\n", "6:22",
       "sparsity: 1.5 is out of range [0, 1)"},
      {"a problem of one combination names it (at the key, as in a point file)",
       "model: [llama-3.1-70b, llama-3.1-8b]\nweight_dtype: fp8\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\n"
       "prompt_tokens: 1000\ndecode_tokens: 100\nsynthetic: {dense_layers: [2, 40]}\n",
       "7:13", "40 exceeds the 32 layers of llama-3.1-8b"},
      {"a combination that does not fit its hardware is refused, naming model, dtypes and both sizes",
       "model: [llama-3.1-8b, llama-3.1-70b]\nweight_dtype: [fp8, bf16]\nhardware: gh200-measured\n"
       "hbm_capacity_ratio: 0.25\nprompt_tokens: 1000\ndecode_tokens: 100\n",
       "4:1", "llama-3.1-70b (bf16 weights, bf16 KV) on gh200-measured does not fit: 141.2 GB of weights"},
      {"unknown key, with did-you-mean", kBase + "sparsty: [0.5, 0.6]\n", "6:1",
       "unknown key 'sparsty' (did you mean 'sparsity'?)"},
      {"the sweep keys are among the allowed keys", kBase + "sparsty: 1\n", "6:1", "points, zip, exclude"},
      {"zip of lists of different lengths",
       kBase +
           "link_read_gbps: [1, 2, 3]\nlink_write_gbps: [4, 5]\nzip: [[link_read_gbps, link_write_gbps]]\n",
       "8:7", "link_read_gbps has 3 (6:17), link_write_gbps has 2 (7:18)"},
      {"zip of a typo",
       kBase + "link_read_gbps: [1, 2]\nlink_write_gbps: [4, 5]\nzip: [[link_read_gbps, link_writ_gbps]]\n",
       "8:24", "'link_writ_gbps' is not an axis (did you mean 'link_write_gbps'?)"},
      {"zip of a single value", kBase + "link_read_gbps: [1, 2]\nzip: [[link_read_gbps, decode_tokens]]\n",
       "7:24", "its value at 5:16 is a single value; give a list to sweep it"},
      {"zip group of one", kBase + "sparsity: [0.5, 0.6]\nzip: [[sparsity]]\n", "7:7",
       "a group needs at least two axis names"},
      {"an axis in two zip groups",
       kBase + "sparsity: [0.5, 0.6]\nvariation: [low, high]\nseed: 1\nlink_read_gbps: [1, 2]\n"
               "zip: [[sparsity, variation], [link_read_gbps, sparsity]]\n",
       "10:47", "'sparsity' is already in a zip group (at 10:8)"},
      {"zip not a list", kBase + "zip: prompt_tokens\n", "6:6", "zip: expected a list of groups"},
      {"exclude naming no axis", kBase + "sparsity: [0.5, 0.6]\nexclude: [{sparsty: 0.5}]\n", "7:12",
       "exclude: 'sparsty' is not an axis (did you mean 'sparsity'?); axes: sparsity"},
      {"exclude of a value never on the axis",
       kBase + "sparsity: [0.5, 0.6]\nexclude:\n  - {sparsity: [0.6, 0.55]}\n", "8:22",
       "sparsity: 0.55 is not a value of the axis (values: 0.5, 0.6)"},
      {"exclude rule not a mapping", kBase + "sparsity: [0.5, 0.6]\nexclude: [sparsity]\n", "7:11",
       "every rule must be a non-empty mapping"},
      {"exclude of everything", kBase + "sparsity: [0.5, 0.6]\nexclude: [{sparsity: [0.5, 0.6]}]\n", "1:1",
       "exclude leaves none of its 2 points"},
      {"empty list", kBase + "sparsity: []\n", "6:11", "an axis needs at least one value"},
      {"seed is not an axis", kBase + "seed: [1, 2]\n", "6:7",
       "seed: one value for the whole sweep, got a list"},
      {"oracle budgets are not axes", kBase + "oracle: {replicas: 2, moves: [1, 2]}\n", "6:30",
       "oracle.moves: one value for the whole sweep"},
      {"too many points",
       kBase + "synthetic: {sink_tokens: " + numbers(1000) + ", span_tokens: " + numbers(1000) + "}\n", "1:1",
       "expands to 1000000 combinations, more than the 100000 points allowed"},
      {"an entry's rules name the entry",
       kBase + "points:\n  - {sparsity: [0.5, 0.6], zip: [[sparsity, variation]]}\n", "7:45",
       "points[0].zip: 'variation' is not an axis"},
      {"an entry that is not a mapping", kBase + "points:\n  - sparsity: 0.5\n  - [sparsity]\n", "8:5",
       "points[1]: expected a mapping of point keys, got a list"},
      {"a document that is not a mapping", "- model: a\n", "1:1", "expected a mapping of point keys"},
      {"a syntax error", "model: [a, b\n", "2:1", "YAML syntax error"},
  };
  return kCases;
}

TEST(SweepErrors, EachIsReportedOnceAtItsPlace) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.what);
    const auto d = only_error(c.text);
    EXPECT_EQ(d.where, "s.yaml:" + c.where);
    EXPECT_NE(d.message.find(c.fragment), std::string::npos) << d.message;
  }
}

TEST(SweepErrors, ABrokenGridStillReportsItsBadValues) {
  const auto diags = errors_of(kBase +
                               "link_read_gbps: [1, 2, 0]\nlink_write_gbps: [1, 2]\n"
                               "zip: [[link_read_gbps, link_write_gbps]]\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].where, "s.yaml:8:7");   // the zip
  EXPECT_EQ(diags[1].where, "s.yaml:6:24");  // link_read_gbps 0, found by checking each value on its own
}

TEST(SweepErrors, EmptyFileAndMissingFile) {
  EXPECT_EQ(only_error("").str(),
            "s.yaml: the file is empty; expected a mapping of point keys (or 'points:' with a list)");
  try {
    load_sweep_file("/nonexistent/sweep.yaml");
    FAIL() << "accepted a missing file";
  } catch (const core::InputError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].str(), "/nonexistent/sweep.yaml: cannot open file");
  }
}

TEST(SweepErrors, EveryProblemAtOnce) {
  const auto diags = errors_of(kBase +
                               "sparsity: [0.5, 2]\nvariation: [low, hihg]\nseed: [1]\n"
                               "zip: [[sparsity, nope]]\nexclude: [{variation: medium}]\n");
  EXPECT_EQ(diags.size(), 5u);
}

}  // namespace
}  // namespace kvsweep::sweep
