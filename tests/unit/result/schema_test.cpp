#include "kvsweep/result/schema.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "result_test_util.hpp"

namespace kvsweep::result {
namespace {

using test::all_policies;
using test::row_for;
using test::shared_result;

TEST(ResultSchema, LayoutIsPackedInOrderAndStartsWithIdentity) {
  const Schema s(all_policies(), {"sparsity", "model"});
  ASSERT_GE(s.columns().size(), 6u);
  EXPECT_EQ(s.columns()[0].name, "point_id");
  EXPECT_EQ(s.columns()[1].name, "status");
  EXPECT_EQ(s.columns()[2].name, "error");
  EXPECT_EQ(s.column("error").size, Schema::kErrorBytes);
  std::size_t offset = 0;
  for (const auto& c : s.columns()) {
    EXPECT_EQ(c.offset, offset) << c.name;
    offset += c.size;
  }
  EXPECT_EQ(offset, s.record_size());
  EXPECT_EQ(s.h5_type().size(), s.record_size());
  // Every policy has its block; any YAML key given as an axis is a column.
  for (const auto& p : all_policies()) {
    for (const char* suffix : {"_total_time_s", "_throughput_tok_s", "_speedup_vs_static", "_kv_hit_rate",
                               "_hbm_hit_rate", "_migrated_bytes", "_cpu_s"}) {
      EXPECT_NE(s.find(p + suffix), nullptr) << p + suffix;
    }
  }
  for (const char* key : {"model", "hardware", "kv_accounting", "prompt_tokens", "decode_tokens", "sparsity",
                          "variation", "link_read_gbps", "link_write_gbps", "hbm_capacity_ratio",
                          "hbm_capacity_gb", "hbm_kv_capacity_entries", "seed", "trace",
                          "synthetic.recall_prob", "policy_params.sa_window", "oracle.moves"}) {
    EXPECT_NE(s.find(column_for_key(key)), nullptr) << key;
  }
  EXPECT_THROW(s.column("nope"), std::out_of_range);
}

TEST(ResultSchema, RejectsBadPolicyListsAndAxes) {
  EXPECT_THROW(Schema({}), std::invalid_argument);
  EXPECT_THROW(Schema({"static", "static"}), std::invalid_argument);
  EXPECT_THROW(Schema({"Static"}), std::invalid_argument);
  EXPECT_THROW(Schema({"static"}, {"a,b"}), std::invalid_argument);
  EXPECT_NO_THROW(Schema({"static"}, {}));
}

TEST(ResultSchema, OkRowRoundTrips) {
  const Schema s(all_policies(), {"sparsity", "model"});
  RowInput in = row_for("0123456789abcdef", true);
  in.axis_values = {"0.6", "tiny-model"};
  in.rank = 3;
  in.attempt = 2;
  in.start_time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  const std::vector<std::byte> rec = s.encode(in);
  ASSERT_EQ(rec.size(), s.record_size());

  const eval::PointResult& r = shared_result();
  EXPECT_EQ(s.point_id(rec), "0123456789abcdef");  // fills all 16 bytes: no terminator needed
  EXPECT_EQ(s.status(rec), "ok");
  EXPECT_EQ(s.get_string(rec, "error"), "");
  EXPECT_EQ(s.get_string(rec, "axis_values"), "sparsity=0.6;model=tiny-model");
  EXPECT_EQ(s.get_string(rec, "model"), "tiny-model");
  EXPECT_EQ(s.get_string(rec, "hardware"), "paper-table1");
  EXPECT_EQ(s.get_string(rec, "capacity_kind"), "hbm_capacity_ratio");
  EXPECT_EQ(s.get_string(rec, "variation"), "actual");
  EXPECT_EQ(s.get_string(rec, "trace"), "synthetic");
  EXPECT_EQ(s.get_int(rec, "prompt_tokens"), 48);
  EXPECT_EQ(s.get_int(rec, "decode_tokens"), 16);
  EXPECT_EQ(s.get_int(rec, "layers"), 2);
  EXPECT_EQ(s.get_int(rec, "worker_rank"), 3);
  EXPECT_EQ(s.get_int(rec, "attempt"), 2);
  EXPECT_EQ(s.get_int(rec, "seed"), 1);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "hbm_capacity_ratio"), 0.3);
  EXPECT_TRUE(std::isnan(s.get_double(rec, "hbm_capacity_gb")));
  EXPECT_DOUBLE_EQ(s.get_double(rec, "capacity_entries"), static_cast<double>(r.memory.capacity_entries));
  EXPECT_DOUBLE_EQ(s.get_double(rec, "footprint_entries"), 64.0 * 2);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "start_time_unix_s"), 1700000000.0);
  EXPECT_TRUE(std::isnan(s.get_double(rec, "end_time_unix_s")));
  for (const auto& p : r.policies) {
    EXPECT_DOUBLE_EQ(s.get_double(rec, p.name + "_total_time_s"), p.metrics.total_time_s) << p.name;
    EXPECT_DOUBLE_EQ(s.get_double(rec, p.name + "_kv_hit_rate"), p.metrics.kv_hit_rate) << p.name;
    EXPECT_DOUBLE_EQ(s.get_double(rec, p.name + "_cpu_s"), p.cpu_s) << p.name;
  }
  ASSERT_TRUE(r.oracle.has_value());
  EXPECT_DOUBLE_EQ(s.get_double(rec, "gap_to_bound"), r.oracle->gap_to_bound);
  EXPECT_EQ(s.get_string(rec, "oracle_seed_policy"), r.oracle->seed_policy);
  EXPECT_EQ(s.get_string(rec, "oracle_stop_reason"), r.oracle->diagnostics.stop_reason);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "oracle_moves_proposed"),
                   static_cast<double>(r.oracle->diagnostics.moves_proposed));
  EXPECT_DOUBLE_EQ(s.get_double(rec, "sa_window"), r.oracle->sa_window);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "lower_bound_s"),
                   std::max(r.bounds.bandwidth_split_s, r.bounds.free_migration_s));
  // Generic getter and type checks.
  EXPECT_EQ(std::get<std::string>(s.get(rec, "status")), "ok");
  EXPECT_THROW(s.get_int(rec, "status"), std::invalid_argument);
  EXPECT_THROW(s.get_double(std::span<const std::byte>(rec).first(10), "seed"), std::invalid_argument);
}

TEST(ResultSchema, PolicyAbsentFromThePointIsNaN) {
  // The sweep lists a policy this point's result does not hold.
  std::vector<std::string> policies = all_policies();
  policies.push_back("future_policy");
  const Schema s(policies);
  const std::vector<std::byte> rec = s.encode(row_for("00000000000000aa", true));
  EXPECT_TRUE(std::isnan(s.get_double(rec, "future_policy_total_time_s")));
  EXPECT_FALSE(std::isnan(s.get_double(rec, "static_total_time_s")));
}

TEST(ResultSchema, FailedRowKeepsParametersAndNaNsResults) {
  const Schema s(all_policies());
  const RowInput in = row_for("00000000000000ff", true);
  const std::vector<std::byte> rec = s.encode_failure(in, "trace file: bad header");
  EXPECT_EQ(s.status(rec), "failed");
  EXPECT_EQ(s.get_string(rec, "error"), "trace file: bad header");
  EXPECT_EQ(s.get_string(rec, "model"), "tiny-model");
  EXPECT_EQ(s.get_int(rec, "prompt_tokens"), 48);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "capacity_entries"),
                   std::floor(0.3 * 64 * 2));  // resolvable from the spec
  for (const char* c : {"static_total_time_s", "oracle_total_time_s", "gap_to_bound", "lower_bound_s",
                        "oracle_moves_proposed", "sa_window", "eval_wall_s"}) {
    EXPECT_TRUE(std::isnan(s.get_double(rec, c))) << c;
  }
  EXPECT_EQ(s.get_string(rec, "oracle_stop_reason"), "");
  EXPECT_DOUBLE_EQ(s.get_double(rec, "wall_s"), 0.5);
}

TEST(ResultSchema, OracleOverridesShowInTheSettingColumns) {
  const Schema s(all_policies());
  RowInput in = row_for("00000000000000ee", false);
  eval::EvalOptions o;
  o.oracle_moves = 123.0;
  o.oracle_replicas = 2;
  in.options = &o;
  const std::vector<std::byte> rec = s.encode(in);
  EXPECT_DOUBLE_EQ(s.get_double(rec, "oracle_moves"), 123.0);
  EXPECT_EQ(s.get_int(rec, "oracle_replicas"), 2);
  EXPECT_EQ(s.get_int(rec, "oracle_moves_per_round"), 1000);  // not overridden: the point's
}

TEST(ResultSchema, StringsAreFixedLengthAndTruncated) {
  const Schema s(all_policies());
  const std::string long_error(1000, 'x');
  const std::vector<std::byte> rec = s.encode(row_for("00000000000000dd", false, long_error));
  const std::string e = s.get_string(rec, "error");
  EXPECT_EQ(e.size(), Schema::kErrorBytes);
  EXPECT_EQ(e.substr(e.size() - 3), "...");
  EXPECT_EQ(e.substr(0, 10), std::string(10, 'x'));
  EXPECT_THROW(s.encode(RowInput{}), std::invalid_argument);  // no point
  RowInput bad_axes = row_for("00000000000000dd", true);
  bad_axes.axis_values = {"1", "2"};
  EXPECT_THROW(s.encode(bad_axes), std::invalid_argument);  // the schema has no axes
}

TEST(ResultSchema, FitTextKeepsUtf8Whole) {
  EXPECT_EQ(fit_text("short", 8), "short");
  EXPECT_EQ(fit_text("exactly8", 8), "exactly8");
  EXPECT_EQ(fit_text("123456789", 8), "12345...");
  // "é" is 2 bytes: a cut never splits it.
  EXPECT_EQ(fit_text("1234\xc3\xa9xyz", 8), "1234...");
  EXPECT_EQ(fit_text("123\xc3\xa9xyzw", 8), "123\xc3\xa9...");
  EXPECT_EQ(fit_text("123\xc3\xa9xyz", 8), "123\xc3\xa9xyz");  // 8 bytes: fits
  // Invalid UTF-8 and NUL become '?', which pandas can decode.
  EXPECT_EQ(fit_text(std::string("a\xff"
                                 "b\0c",
                                 5),
                     16),
            "a?b?c");
  EXPECT_EQ(fit_text("\xed\xa0\x80", 16), "???");  // a surrogate is not UTF-8
  EXPECT_EQ(fit_text("abcdef", 2), "ab");
}

// docs/results.md's table of columns (between its result-columns markers) is columns_markdown().
TEST(ResultSchema, ReadmeDocumentsEveryColumn) {
  const std::filesystem::path doc =
      std::filesystem::path(KVSWEEP_TEST_DATA).parent_path().parent_path() / "docs" / "results.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::string begin = "<!-- result-columns:begin -->\n", end = "<!-- result-columns:end -->";
  const auto b = s.find(begin), e = s.find(end);
  ASSERT_NE(b, std::string::npos) << doc;
  ASSERT_NE(e, std::string::npos) << doc;
  ASSERT_LT(b, e) << doc;
  EXPECT_EQ(s.substr(b + begin.size(), e - b - begin.size()), columns_markdown())
      << "regenerate the table of " << doc << " with scripts/update-readme-tables.sh";
}

}  // namespace
}  // namespace kvsweep::result
