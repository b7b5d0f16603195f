// The trace cache replays exactly the rows its source produced, and falls back to the source itself
// when the rows do not fit or were not recorded to the end.
#include "kvsweep/trace/trace_cache.hpp"

#include <gtest/gtest.h>

#include "kvsweep/config/point.hpp"
#include "kvsweep/trace/batch.hpp"
#include "kvsweep/trace/synthetic.hpp"

namespace kvsweep::trace {
namespace {

std::vector<std::vector<core::TokenBitset>> read_all(TraceSource& s) {
  const TraceShape sh = s.shape();
  std::vector<std::vector<core::TokenBitset>> out;
  // One set of bitsets reused for every step, dirtied in between, as the engine's ring reuses them.
  std::vector<core::TokenBitset> reads(sh.layers, core::TokenBitset(sh.space()));
  for (std::uint32_t n = sh.prompt_tokens; n < sh.total_tokens(); ++n) {
    for (auto& r : reads) r.set_range(0, sh.space());
    s.read_step(n, reads);
    out.push_back(reads);
  }
  return out;
}

TEST(TraceCache, ReplaysTheRowsOfItsSource) {
  const TraceShape shape{300, 90, 3};
  const config::SyntheticParams params;
  auto make = [&] { return make_synthetic_source(params, shape, 5); };
  auto fresh = make();
  const auto want = read_all(*fresh);
  TraceCache cache(make, shape, 1e9);
  EXPECT_FALSE(cache.complete());
  {
    auto first = cache.source();
    EXPECT_EQ(read_all(*first), want);
  }
  EXPECT_TRUE(cache.complete());
  EXPECT_GT(cache.bytes(), 0U);
  for (int pass = 0; pass < 2; ++pass) {
    auto again = cache.source();
    EXPECT_EQ(again->shape(), shape);
    EXPECT_EQ(read_all(*again), want) << "replay " << pass;
  }
  cache.release();
  EXPECT_EQ(cache.bytes(), 0U);
  auto after = cache.source();
  EXPECT_EQ(read_all(*after), want);
}

// A batch reads every sequence's segment: rows reach past n (the cache once kept only the words below n,
// so a point listing sa_guided and the oracle lost the reads of every sequence but the first's prefix).
TEST(TraceCache, ReplaysEverySegmentOfABatch) {
  const config::SyntheticParams params;
  auto make = [&] {
    std::vector<std::unique_ptr<TraceSource>> seqs;
    for (std::uint32_t b = 0; b < 3; ++b) seqs.push_back(make_synthetic_source(params, TraceShape{100 + 40 * b, 30, 2}, 11 + b));
    return make_batch_source(std::move(seqs), 4, false);
  };
  auto fresh = make();
  const TraceShape shape = fresh->shape();
  ASSERT_TRUE(shape.batched());
  const auto want = read_all(*fresh);
  ASSERT_GT(want.back()[0].count_range(shape.base(2), shape.space()), 0U);  // the last segment is read
  TraceCache cache(make, shape, 1e9);
  {
    auto first = cache.source();
    EXPECT_EQ(read_all(*first), want);
  }
  ASSERT_TRUE(cache.complete());
  auto replay = cache.source();
  EXPECT_EQ(read_all(*replay), want);
}

TEST(TraceCache, FallsBackWhenTooLargeOrUnfinished) {
  const TraceShape shape{200, 40, 2};
  const config::SyntheticParams params;
  int made = 0;
  auto make = [&] {
    ++made;
    return make_synthetic_source(params, shape, 9);
  };
  auto fresh = make();
  const auto want = read_all(*fresh);
  TraceCache small(make, shape, 100.0);  // far below the rows' size
  made = 0;
  for (int pass = 0; pass < 3; ++pass) {
    auto s = small.source();
    EXPECT_EQ(read_all(*s), want);
  }
  EXPECT_EQ(made, 3);
  EXPECT_EQ(small.bytes(), 0U);

  TraceCache cache(make, shape, 1e9);
  {
    auto partial = cache.source();  // dropped before the end: nothing replayable
    std::vector<core::TokenBitset> reads(shape.layers, core::TokenBitset(shape.total_tokens()));
    partial->read_step(shape.prompt_tokens, reads);
  }
  EXPECT_FALSE(cache.complete());
  {
    auto second = cache.source();  // records again
    EXPECT_EQ(read_all(*second), want);
  }
  EXPECT_TRUE(cache.complete());
  made = 0;
  auto replay = cache.source();
  EXPECT_EQ(read_all(*replay), want);
  EXPECT_EQ(made, 0);
}

}  // namespace
}  // namespace kvsweep::trace
