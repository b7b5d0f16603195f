#pragma once
// The results file of a sweep: one HDF5 file holding the table /points (one compound row per attempt at
// a point, Schema's layout) and the sweep's provenance as attributes of the root group.
// docs/results.md "Results (HDF5)" documents the layout; pandas.read_hdf(path, "points") reads the table.
//
// Crash safety: every append() ends with H5Fflush, and the file uses HDF5's default (oldest compatible)
// format without SWMR, so a process killed at any moment leaves a file that opens with every flushed row
// and can be appended to again (ENVIRONMENT.md; tested with SIGKILL). Readers of a file a writer holds
// open need HDF5_USE_FILE_LOCKING=FALSE.
//
// A full disk: before each write the file reserves the disk blocks that write can need (io::File::
// reserve), so a full disk is found before HDF5 writes anything and the file stays as it was after the
// last flush (WriteError; nothing half-written). Where the filesystem cannot reserve, a write that fails
// is rolled back as far as HDF5 lets us (the table's length restored) and --resume drops a last row left
// incomplete (open_for_resume, dropped_rows()).
//
// One writer: create() and open_for_resume() take an advisory lock on `<path>.lock` (io::OutputLock)
// first, held until the ResultFile is gone, so a second run is refused (kBusy) whatever
// HDF5_USE_FILE_LOCKING says.
//
// Resume: a retried point gets a new row; when the table is read, the latest row of a point id wins
// (finished_ids(), failed_attempts(); in pandas drop_duplicates("point_id", keep="last")). A file is
// tied to what it computes, not to a sweep's text (driver/plan.cpp decides what may resume): the
// dataset /sweep_points holds the ids of the points of the sweep that wrote it last, so that a reader
// tells rows of points that have since left the sweep apart; the root attributes sweep_yaml/sweep_hash
// are that sweep's, and each text they held before is kept in /sweep_history/<n>.
//
// Per-point detail (`kvsweep run --detail`): the group /detail/<point_id> holds one float64 dataset per
// policy that made its schedule step by step (eval::PointResult::step_detail), <policy>_step_time_s, the
// time of each decode step (summed over layers); /points is unchanged. A retried point's group is
// replaced.
//
// Not thread-safe: one thread (rank 0's) owns a ResultFile.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/io/h5.hpp"
#include "kvsweep/io/output_lock.hpp"
#include "kvsweep/result/schema.hpp"

namespace kvsweep::result {

// A results file that cannot be used as asked. An InputError (where = the path), so the command line
// reports it like any bad input and exits 2; kind() tells the cases apart.
class ResultFileError : public core::InputError {
 public:
  enum class Kind {
    kExists,          // create() without force on an existing path
    kNotResults,      // not an HDF5 file, or not one written by kvsweep as results
    kSchemaMismatch,  // another schema version or another column layout
    kNoDirectory,     // create() in a directory that does not exist
    kBusy,            // another kvsweep run writes it (its lock), or another process holds it open
    kSettingsChanged, // the sweep would change results already in the file (policies, budgets, seed)
    kDamaged,         // an HDF5 file that does not open: truncated (copy cut short), or its structure broken
    kCannotWrite,     // read-only filesystem, no permission, no space: the file cannot be written there
  };
  ResultFileError(Kind kind, const std::string& path, const std::string& message)
      : core::InputError(path, message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// A write to an open results file failed (full disk, quota, I/O error). what() is one line: the cause
// ("No space left on device"), never HDF5's error stack. The file holds every row appended before.
class WriteError : public std::runtime_error {
 public:
  WriteError(const std::string& path, const std::string& cause)
      : std::runtime_error(cause), path_(path) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Provenance written as attributes when a file is created (besides the ones kvsweep knows itself:
// format, schema_version, axis_names, policies, kvsweep_version, git_sha, hdf5_version, host,
// start_time).
struct FileInfo {
  std::string sweep_yaml;  // the sweep file's text, as read
  std::string sweep_hash;  // 16 hex digits identifying the sweep; resume checks it
  // The ids of the sweep's points, written as /sweep_points.
  std::vector<std::string> point_ids;
  // More string attributes, e.g. {"yaml_cpp_version", "0.7.0"}, {"tbb_version", ...}, {"mpi_version", ...}.
  // A name kvsweep writes itself is refused (std::invalid_argument).
  std::map<std::string, std::string> extra;
};

class ResultFile {
 public:
  static constexpr std::string_view kFormat = "kvsweep-results";  // attribute `format`
  static constexpr std::string_view kTable = "points";            // the table's dataset, /points

  // Throws ResultFileError(kExists) when `path` exists (file, directory or anything) and !force, and
  // kNoDirectory when the directory it would go in does not exist.
  // Touches nothing: callers check before any work so a refused run leaves the old file byte-identical.
  static void check_can_create(const std::string& path, bool force);
  // Creates the file (truncating an existing one only when `force`), the empty table and the attributes,
  // and flushes. Before truncating an existing HDF5 file it opens it for writing, which takes HDF5's
  // file lock: a file another run is writing is refused (kBusy), not truncated under it. Throws
  // ResultFileError(kExists, kBusy), io::H5Error.
  static ResultFile create(const std::string& path, const Schema& schema, const FileInfo& info,
                           bool force = false);
  // Opens an existing results file to append rows of a sweep with `policies` and `axis_names`. The file
  // keeps its columns: schema() has the file's policy list (in its order), which must hold every one of
  // `policies`, and `axis_names`. Throws ResultFileError: kNotResults (not HDF5, no `format` =
  // kvsweep-results or no /points table), kBusy (another run or process holds it), kDamaged (truncated
  // or broken), kCannotWrite (read-only filesystem, no permission), kSchemaMismatch (another
  // schema_version, or columns that the policy list does not explain), kSettingsChanged (a policy the
  // file has no columns for). A last row left incomplete by a failed write (an empty point id or status)
  // is dropped: dropped_rows() says how many.
  static ResultFile open_for_resume(const std::string& path, const std::vector<std::string>& policies,
                                    const std::vector<std::string>& axis_names);
  std::uint64_t dropped_rows() const { return dropped_rows_; }
  // Whether this file holds its `<path>.lock` (false on a filesystem without locks).
  bool locked() const { return lock_.locked(); }
  // What the file says about the sweeps that wrote it (read when opened for resume).
  const std::string& sweep_hash() const { return sweep_hash_; }
  // Makes the file the results of this sweep from now on: sweep_yaml and sweep_hash become its text
  // and hash (a different text before is kept in /sweep_history/<n>), /sweep_points its point ids, and
  // axis_names the union of the file's axes and `axis_names`. Flushes. Used when resuming.
  void record_sweep(const FileInfo& info, const std::vector<std::string>& axis_names);

  // Appends whole records (a multiple of schema().record_size() bytes, as Schema::encode made them,
  // possibly on another rank) and flushes. Throws std::invalid_argument for a partial record, WriteError
  // when the disk refuses (the file then holds what it held before).
  void append(std::span<const std::byte> records);
  std::uint64_t rows() const;
  // The record of row `index` (< rows()), decodable with schema().
  std::vector<std::byte> read_row(std::uint64_t index) const;
  // Rows [first, first + count) as consecutive records.
  std::vector<std::byte> read_rows(std::uint64_t first, std::uint64_t count) const;

  // Ids whose latest row has status "ok". Reads two columns of every row: O(rows).
  std::set<std::string> finished_ids() const;
  // For each id whose latest row has status "failed": how many rows of that id failed. A retry's row
  // then carries attempt = that count + 1. O(rows).
  std::map<std::string, std::uint32_t> failed_attempts() const;

  // Writes /detail/<point_id> (see above): series[i] belongs to policies[i]. Flushes. Throws WriteError.
  void write_detail(const std::string& point_id, const std::vector<std::string>& policies,
                    const std::vector<std::vector<double>>& series);
  // Writes the attribute end_time (ISO 8601 UTC, now) and flushes. Throws WriteError.
  void set_end_time();

  const Schema& schema() const { return schema_; }
  const std::string& path() const { return path_; }
  // Closes the file now, checked; the destructor closes it too, silently.
  void close();

 private:
  ResultFile(std::string path, Schema schema, io::OutputLock lock, io::File file, io::Dataset table,
             io::Datatype type);
  struct Status {
    std::string point_id;
    std::string status;
    bool ok = false;
  };
  void record_sweep_unguarded(const FileInfo& info, const std::vector<std::string>& axis_names);
  void write_detail_unguarded(const std::string& point_id, const std::vector<std::string>& policies,
                              const std::vector<std::vector<double>>& series);
  std::vector<Status> statuses() const;

  // Reserves room for a write of about `bytes` (with HDF5's chunks and metadata around it), then runs
  // `write`; turns a refusal or an HDF5 failure into WriteError.
  template <class F>
  void guarded_write(std::uint64_t bytes, F&& write);

  std::string path_;
  Schema schema_;
  io::OutputLock lock_;  // before file_: released after the file is closed
  io::File file_;
  io::Dataset table_;
  io::Datatype type_;  // schema_.h5_type(), built once
  std::string sweep_hash_;
  std::uint64_t dropped_rows_ = 0;
};

// "2025-01-31T12:34:56Z" for now (UTC), as the start_time / end_time attributes hold it.
std::string utc_now_iso8601();

}  // namespace kvsweep::result
