// A schedule written by ScheduleWriter reads back state by state, bit for bit, and replayed through the
// simulator it scores exactly its policy's totals: lone sequences and batches of uneven prompts, in
// blocks of 1, 4 and 128 tokens (a block of several words).
#include "kvsweep/schedule/schedule_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sim/simulate.hpp"
#include "support/tiny_points.hpp"

namespace kvsweep::schedule {
namespace {

struct Case {
  trace::TraceShape shape;
  std::uint64_t capacity;
};

TEST(ScheduleFile, RecordedStatesReadBackAndReplayToTheSameTotals) {
  const std::string dir = testing::TempDir();
  const std::vector<Case> cases = {
      {trace::TraceShape{40, 12, 2}, 50},
      {trace::TraceShape{40, 12, 2, {40, 70, 100}, 1}, 120},
      {trace::TraceShape{40, 12, 2, {40, 70, 100}, 4}, 160},
      {trace::TraceShape{200, 6, 2, {200, 150}, 128}, 768},
  };
  for (const Case& c : cases) {
    const trace::ExplicitTrace t = testing_support::random_reads(c.shape, 17 + c.shape.block_tokens);
    const cost::MemorySystem mem = testing_support::gh200_like(c.capacity, c.shape);
    for (const std::string name : {"unlimited_hbm", "static", "reactive_lru", "belady", "fm_tracking"}) {
      SCOPED_TRACE(name + " k=" + std::to_string(c.shape.block_tokens) + " B=" + std::to_string(c.shape.batch_size()));
      const policy::PolicyContext ctx{c.shape, mem, {}, nullptr};
      std::vector<std::unique_ptr<policy::Policy>> one;
      one.push_back(policy::make_policy(name, ctx));
      const std::string path = dir + "/schedule_" + name + ".h5";
      std::vector<cost::Residency> states;
      {
        ScheduleWriter writer(path, c.shape, ScheduleInfo{name, "test", one[0]->respects_capacity()});
        sim::SimulationOptions opt;
        opt.parallel = false;
        opt.observer = [&](std::size_t, std::uint32_t n, const cost::Residency& r, std::span<const core::TokenBitset>) {
          states.push_back(r);
          writer.record(n + 1 - c.shape.prompt_tokens, r);
        };
        auto source = trace::make_explicit_source(t);
        const auto run = sim::simulate(*source, mem, one, opt);
        writer.finish();
        ASSERT_EQ(states.size(), c.shape.decode_tokens + 1U);
        EXPECT_GT(writer.promotions(), 0U);

        ScheduleReader reader(path, c.shape, c.capacity);
        EXPECT_EQ(reader.info().policy, name);
        EXPECT_EQ(reader.info().respects_capacity, name != "unlimited_hbm");
        cost::Residency r(c.shape.layers, c.shape.space());
        for (std::uint32_t s = 0; s < states.size(); ++s) {
          reader.apply(s, r);
          ASSERT_EQ(r, states[s]) << "state " << s;
        }

        std::vector<std::unique_ptr<policy::Policy>> replay;
        replay.push_back(make_replay_policy(path, ctx));
        auto again = trace::make_explicit_source(t);
        sim::SimulationOptions plain;
        plain.parallel = false;
        const auto judged = sim::simulate(*again, mem, replay, plain);
        EXPECT_EQ(judged.policies[0].totals.total_time_s, run.policies[0].totals.total_time_s);
        EXPECT_EQ(judged.policies[0].totals.hits, run.policies[0].totals.hits);
        EXPECT_EQ(judged.policies[0].totals.prefetch, run.policies[0].totals.prefetch);
      }
      std::filesystem::remove(path);
    }
  }
}

// A schedule whose writer failed before finish() leaves nothing behind, and an existing file stays.
TEST(ScheduleFile, UnfinishedWriterLeavesNoFile) {
  const std::string path = testing::TempDir() + "/unfinished.h5";
  std::filesystem::remove(path);
  const trace::TraceShape shape{8, 2, 1};
  {
    ScheduleWriter writer(path, shape, ScheduleInfo{"x", "y", true});
    writer.record(0, cost::Residency(1, shape.space()));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_THROW(ScheduleReader(path, shape, 4), core::InputError);
}

}  // namespace
}  // namespace kvsweep::schedule
