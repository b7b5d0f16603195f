#pragma once
// A schedule as a file (docs/schedule-file.md): which KV blocks HBM holds in every state of a point,
// written as the blocks promoted and evicted per state, sequence and layer, so that any program can
// write one and `kvsweep judge` scores it with the one judge.
//
//   attributes on "/":  format = "kvsweep-schedule", version = 1, decode_tokens (D), layers (L),
//                       kv_block_tokens (k), capacity = "hbm" | "unlimited",
//                       policy, point_id (informative: who wrote it, for which point)
//   /prompt_tokens  uint32[B]   P_b of every sequence (one value for a lone sequence)
//   /promote        {state, sequence, layer, block: uint32}[N], rows in ascending state
//   /evict          the same
//
// State 0 is HBM after prefill, before the first decode step; state s (1..D) is HBM while decode step s
// reads (R(P - 1 + s) in the cost model's terms). Block j of sequence b holds its tokens [j k, (j + 1) k)
// (k = 1: the token itself). A block is held or not; a held block holds every token of it that exists,
// so a new token that falls in a held block is held without a row. held(s) = held(s - 1) - evict(s) +
// promote(s).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/cost/residency.hpp"
#include "kvsweep/policy/policy.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::schedule {

inline constexpr const char* kFormat = "kvsweep-schedule";
inline constexpr std::int64_t kVersion = 1;

// One row of /promote or /evict (the file's compound type, member names as here).
struct Row {
  std::uint32_t state = 0;
  std::uint32_t sequence = 0;
  std::uint32_t layer = 0;
  std::uint32_t block = 0;
  bool operator==(const Row&) const = default;
};

struct ScheduleInfo {
  std::string policy;    // informative
  std::string point_id;  // informative
  bool respects_capacity = true;  // false: capacity = "unlimited" (the unlimited_hbm reference)
};

// Records a schedule as it is produced: record(s, R) for s = 0, 1, ..., D in order, then finish().
// Writes `path` + ".tmp" and renames it over `path` in finish(): a run that fails half way leaves no
// schedule file (the destructor removes the temporary one). Thread-compatible: one writer per thread
// at a time (HDF5 itself serialises the calls of several writers).
class ScheduleWriter {
 public:
  ScheduleWriter(std::string path, const trace::TraceShape& shape, const ScheduleInfo& info);
  ~ScheduleWriter();
  ScheduleWriter(const ScheduleWriter&) = delete;
  ScheduleWriter& operator=(const ScheduleWriter&) = delete;

  // The residency of state s (blocks whole, as the judge checks); its difference to state s - 1 is
  // appended.
  void record(std::uint32_t state, const cost::Residency& r);
  void finish();
  const std::string& path() const { return path_; }
  std::uint64_t promotions() const { return promotions_; }
  std::uint64_t evictions() const { return evictions_; }

 private:
  void flush_rows();
  struct H5;
  std::string path_, tmp_;
  trace::TraceShape shape_;
  std::unique_ptr<H5> h5_;
  cost::Residency prev_;
  std::uint32_t next_state_ = 0;
  std::vector<Row> promote_, evict_;
  std::vector<std::size_t> bases_;    // each sequence's first position
  std::vector<std::size_t> changed_;  // scratch of record(): blocks with a changed bit
  std::uint64_t promotions_ = 0, evictions_ = 0;
  bool finished_ = false;
};

// Reads a schedule file state by state for a point of `shape` and HBM capacity `capacity_entries`
// (k entries per held block, as the judge counts), checking as it goes. Every problem is a
// core::InputError naming the file and, for a row, the state, sequence, layer and block: a shape that
// does not match, a block that does not exist (yet), a promotion of a held block or an eviction of one
// not held, rows out of state order, capacity exceeded (not for capacity = "unlimited").
class ScheduleReader {
 public:
  ScheduleReader(const std::string& path, const trace::TraceShape& shape, std::uint64_t capacity_entries);
  ~ScheduleReader();

  const ScheduleInfo& info() const { return info_; }
  // Applies state s's rows (s = 0, 1, ..., D in order) to r, which holds state s - 1 (nothing for s = 0).
  void apply(std::uint32_t state, cost::Residency& r);

 private:
  struct Stream;
  [[noreturn]] void refuse(const Row& row, const std::string& what) const;
  std::string path_;
  trace::TraceShape shape_;
  std::uint64_t capacity_;
  ScheduleInfo info_;
  std::unique_ptr<Stream> promote_, evict_;
  std::uint64_t held_blocks_ = 0;
  std::vector<std::pair<std::uint32_t, std::size_t>> promoted_;  // scratch of apply(): (layer, first position)
};

// A policy that replays a schedule file (name "schedule"; offline: it is whatever wrote the file).
// Bad rows surface as core::InputError from step() / place_prefill().
std::unique_ptr<policy::Policy> make_replay_policy(const std::string& path, const policy::PolicyContext& ctx);

}  // namespace kvsweep::schedule
