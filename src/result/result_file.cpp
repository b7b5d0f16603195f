#include "kvsweep/result/result_file.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/version.hpp"
#include "kvsweep/policy/policy.hpp"

namespace kvsweep::result {

namespace {

using Kind = ResultFileError::Kind;

// With HDF5's default (oldest) format an attribute must fit one 64 KiB object-header message; a longer
// sweep text goes into a dataset of its own and the attribute says where.
constexpr std::size_t kMaxTextAttribute = 60000;
constexpr std::string_view kYamlDataset = "sweep_yaml";
// Rows per chunk: about 64 KiB, so a flush after one row rewrites little.
constexpr std::size_t kChunkBytes = 64 * 1024;

const std::vector<std::string>& reserved_attributes() {
  static const std::vector<std::string> names = {
      "format",          "schema_version", "sweep_hash",   "sweep_yaml", "axis_names", "policies",
      "online_policies", "kvsweep_version", "git_sha",     "hdf5_version", "host",     "start_time", "end_time"};
  return names;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

void delete_link(hid_t loc, const std::string& name) {
  if (io::has_link(loc, name)) io::check(H5Ldelete(loc, name.c_str(), H5P_DEFAULT), "H5Ldelete", name);
}

// A scalar fixed-length string dataset `name` holding `text` (replacing one of that name).
void write_text_dataset(hid_t loc, const std::string& name, const std::string& text) {
  delete_link(loc, name);
  io::Datatype type = io::Datatype::fixed_string(text.size() + 1);
  io::Dataspace space = io::Dataspace::scalar();
  io::Dataset ds(io::check_id(
      H5Dcreate2(loc, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "H5Dcreate2", name));
  io::check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.c_str()), "H5Dwrite", name);
}

std::string read_text_dataset(hid_t loc, const std::string& name) {
  io::Dataset ds = io::Dataset::open(loc, name);
  const io::Datatype type(io::check_id(H5Dget_type(ds.id()), "H5Dget_type", name));
  std::string text(H5Tget_size(type.id()), '\0');
  io::check(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()), "H5Dread", name);
  text.resize(strnlen(text.data(), text.size()));
  return text;
}

void write_long_text(hid_t root, const std::string& name, const std::string& text) {
  if (text.size() <= kMaxTextAttribute) {
    delete_link(root, std::string(kYamlDataset));
    io::write_attribute(root, name, text);
    return;
  }
  const std::string ds_name(kYamlDataset);
  write_text_dataset(root, ds_name, text);
  // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "literal" + std::string chains.
  std::string note = std::to_string(text.size());
  note.append(" bytes, in dataset /").append(ds_name);
  io::write_attribute(root, name, note);
}

std::string read_text_attribute(hid_t root, const std::string& name) {
  return io::has_attribute(root, name) ? io::read_attribute<std::string>(root, name) : std::string();
}

// The sweep text a file holds: the attribute, or the dataset a long text went to.
std::string read_sweep_text(hid_t root) {
  const std::string ds(kYamlDataset);
  return io::has_link(root, ds) ? read_text_dataset(root, ds) : read_text_attribute(root, "sweep_yaml");
}

// /sweep_points: the ids of the sweep's points, written beside and then moved over the old list so that
// a crash leaves one list or the other.
void write_point_ids(hid_t root, const std::vector<std::string>& ids) {
  constexpr std::size_t kId = 16;
  const std::string name = "sweep_points", fresh = "sweep_points.new";
  delete_link(root, fresh);
  io::Datatype type = io::Datatype::fixed_string(kId, io::Datatype::Pad::kNullPad);
  io::AppendableOptions layout;
  layout.chunk_rows = 4096;
  io::Dataset ds = io::Dataset::create_appendable(root, fresh, type.id(), layout);
  std::vector<char> raw(ids.size() * kId, '\0');
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i].copy(raw.data() + i * kId, kId);
  if (!ids.empty()) ds.append(type.id(), raw.data(), ids.size());
  ds.close();
  delete_link(root, name);
  io::check(H5Lmove(root, fresh.c_str(), root, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), "H5Lmove", name);
}

void write_provenance(hid_t root, const Schema& schema, const FileInfo& info) {
  for (const auto& [name, value] : info.extra) {
    if (std::find(reserved_attributes().begin(), reserved_attributes().end(), name) !=
        reserved_attributes().end()) {
      throw std::invalid_argument("results file: extra attribute '" + name +
                                  "' is one kvsweep writes itself");
    }
  }
  io::write_attribute(root, "format", ResultFile::kFormat);
  io::write_attribute(root, "schema_version", Schema::kVersion);
  io::write_attribute(root, "sweep_hash", info.sweep_hash);
  write_long_text(root, "sweep_yaml", info.sweep_yaml);
  write_point_ids(root, info.point_ids);
  // Comma-separated: names are YAML keys and policy identifiers, which never hold a comma, and a plain
  // string reads the same in h5py, PyTables and h5dump (an empty list included).
  io::write_attribute(root, "axis_names", core::join(schema.axis_names(), ","));
  io::write_attribute(root, "policies", core::join(schema.policies(), ","));
  // The policies that decide from past reads only (docs/design/online.md), so reports can split them.
  std::vector<std::string> online;
  for (const auto& p : schema.policies()) {
    if (policy::information_of(p) == policy::Information::kOnline) online.push_back(p);
  }
  io::write_attribute(root, "online_policies", core::join(online, ","));
  io::write_attribute(root, "kvsweep_version", core::version());
  io::write_attribute(root, "git_sha", core::git_sha());
  io::write_attribute(root, "hdf5_version", io::library_version());
  io::write_attribute(root, "host", host_name());
  io::write_attribute(root, "start_time", utc_now_iso8601());
  for (const auto& [name, value] : info.extra) io::write_attribute(root, name, value);
}

// The first difference between the table's columns and the schema's, for the error message.
std::string describe_difference(const io::Datatype& file_type, const Schema& schema) {
  if (file_type.type_class() != H5T_COMPOUND) return "the table is not a compound dataset";
  const std::vector<std::string> names = file_type.member_names();
  const auto& cols = schema.columns();
  for (std::size_t i = 0; i < std::min(names.size(), cols.size()); ++i) {
    if (names[i] != cols[i].name) {
      return "column " + std::to_string(i) + " is '" + names[i] + "' in the file, '" + cols[i].name +
             "' here";
    }
  }
  if (names.size() != cols.size()) {
    return "the file has " + std::to_string(names.size()) + " columns, this sweep " +
           std::to_string(cols.size());
  }
  return "same column names, but their types or sizes differ";
}

// The number after `key` in `text` ("eof = 1234"), or -1.
long long number_after(const std::string& text, const std::string& key) {
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + key.size(), nullptr, 10);
}

// One line for an errno, with what to do about it.
std::string errno_text(int err) {
  std::string text = std::strerror(err);
  text.append(" (errno ").append(std::to_string(err)).append(")");
  return text;
}

// The cause of a failed HDF5 write in one line: the errno its file driver saw, else HDF5's summary.
std::string write_cause(const io::H5Error& e) {
  const long long err = number_after(e.what(), "errno = ");
  if (err > 0) return errno_text(static_cast<int>(err));
  std::string what = e.what();
  if (what.size() > 300) what = what.substr(0, 300) + "...";
  return what;
}

// The file cannot be written where it is: say why, and what to do.
ResultFileError cannot_write(const std::string& path, int err) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const std::string where = dir.empty() ? std::string("the current directory") : dir.string();
  switch (err) {
    case EROFS:
      return ResultFileError(Kind::kCannotWrite, path,
                             "the filesystem of " + where + " is read-only: write the results elsewhere (-o)");
    case EACCES:
    case EPERM:
      return ResultFileError(Kind::kCannotWrite, path,
                             "no permission to write it in " + where + ": write the results elsewhere (-o)");
    case ENOSPC:
    case EDQUOT:
      return ResultFileError(Kind::kCannotWrite, path,
                             errno_text(err) + " on the filesystem of " + where + ": free space, then run again");
    default:
      return ResultFileError(Kind::kCannotWrite, path, "cannot write it: " + errno_text(err));
  }
}

// Takes the file's own lock (io::OutputLock) before anything touches it.
io::OutputLock take_lock(const std::string& path) {
  try {
    return io::OutputLock::take(path);
  } catch (const io::LockHeld& e) {
    throw ResultFileError(Kind::kBusy, path,
                          "another kvsweep run is writing it (its lock " + path + ".lock is " + e.what() +
                              "): wait for that run to end or stop it; two writers would corrupt the file");
  } catch (const std::system_error& e) {
    throw cannot_write(path, e.code().value());
  }
}

// Opens an existing HDF5 file for writing (which also takes HDF5's own lock, unless the user turned
// locking off). A failure says what is wrong: read-only filesystem, no permission, a truncated or broken
// file, or another process holding it open.
io::File open_for_writing(const std::string& path) {
  struct statvfs vfs {};
  if (::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0) throw cannot_write(path, EROFS);
  if (::access(path.c_str(), W_OK) != 0 && (errno == EACCES || errno == EPERM)) throw cannot_write(path, errno);
  try {
    return io::File::open(path, io::OpenMode::kReadWrite);
  } catch (const io::H5Error& e) {
    const std::string what = e.what();
    const long long eof = number_after(what, "truncated file: eof = "), stored = number_after(what, "stored_eof = ");
    if (eof >= 0) {
      throw ResultFileError(Kind::kDamaged, path,
                            "damaged: truncated at " + std::to_string(eof) + " of " +
                                (stored >= 0 ? std::to_string(stored) : std::string("?")) +
                                " bytes (a copy or transfer cut short?), so HDF5 cannot open it: restore it from "
                                "a whole copy, or start afresh with --force (its rows are lost)");
    }
    if (what.find("unable to lock file") != std::string::npos) {
      throw ResultFileError(Kind::kBusy, path,
                            "another process has it open under HDF5's file lock (a reader such as h5py or pandas "
                            "opened without HDF5_USE_FILE_LOCKING=FALSE, or another program): close it there, "
                            "then run again");
    }
    if (const long long err = number_after(what, "errno = "); err > 0 && err != EAGAIN) {
      throw cannot_write(path, static_cast<int>(err));
    }
    throw ResultFileError(Kind::kDamaged, path,
                          "damaged: HDF5 cannot open it for writing (" + write_cause(e) +
                              "): restore it from a copy, or start afresh with --force");
  }
}

// A row as it was written: a 16-digit point id and a status. A write that failed half way can leave a
// row of zeros at the end.
bool well_formed(const std::string& id, const std::string& status) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }) &&
         (status == "ok" || status == "failed");
}

}  // namespace

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ResultFile::ResultFile(std::string path, Schema schema, io::OutputLock lock, io::File file, io::Dataset table,
                       io::Datatype type)
    : path_(std::move(path)),
      schema_(std::move(schema)),
      lock_(std::move(lock)),
      file_(std::move(file)),
      table_(std::move(table)),
      type_(std::move(type)) {}

void ResultFile::check_can_create(const std::string& path, bool force) {
  std::error_code ec;
  const bool exists =
      std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found;
  if (exists && !force) {
    throw ResultFileError(Kind::kExists, path,
                          "the output file exists; give --force to overwrite it, or resume it");
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!exists && !dir.empty() && !std::filesystem::is_directory(dir, ec)) {
    throw ResultFileError(Kind::kNoDirectory, path,
                          "the directory " + dir.string() + " does not exist; create it first");
  }
}

ResultFile ResultFile::create(const std::string& path, const Schema& schema, const FileInfo& info,
                              bool force) {
  check_can_create(path, force);
  io::OutputLock lock = take_lock(path);
  // HDF5 truncates before it locks: check first that no other process holds the file we are about to
  // replace under HDF5's lock (a reader, say).
  if (force && io::is_hdf5_file(path)) open_for_writing(path).close();
  io::File file;
  try {
    file = io::File::create(path, force);
  } catch (const io::H5Error& e) {
    const long long err = number_after(e.what(), "errno = ");
    if (err > 0) throw cannot_write(path, static_cast<int>(err));
    throw;
  }
  try {
    io::Datatype type = schema.h5_type();
    const std::string table_name(kTable);
    io::AppendableOptions layout;
    layout.chunk_rows = std::max<hsize_t>(1, kChunkBytes / schema.record_size());
    ResultFile out(path, schema, std::move(lock), std::move(file), io::Dataset(), std::move(type));
    out.guarded_write(info.sweep_yaml.size() + 16 * info.point_ids.size(), [&] {
      out.table_ = io::Dataset::create_appendable(out.file_.id(), table_name, out.type_.id(), layout);
      write_provenance(out.file_.id(), schema, info);
      out.file_.flush();
    });
    return out;
  } catch (const WriteError& e) {
    // A file that was never complete holds nothing: remove it rather than leave a broken one.
    std::error_code ec;
    std::filesystem::remove(path, ec);
    throw ResultFileError(Kind::kCannotWrite, path, std::string("cannot create it: ") + e.what());
  }
}

ResultFile ResultFile::open_for_resume(const std::string& path, const std::vector<std::string>& policies,
                                       const std::vector<std::string>& axis_names) {
  if (!io::is_hdf5_file(path)) {
    throw ResultFileError(Kind::kNotResults, path,
                          "not an HDF5 file (missing, unreadable or another format)");
  }
  io::OutputLock lock = take_lock(path);
  io::File file = open_for_writing(path);
  const hid_t root = file.id();
  const std::string format = read_text_attribute(root, "format");
  if (format != kFormat) {
    throw ResultFileError(Kind::kNotResults, path,
                          "not a kvsweep results file: attribute 'format' is '" + format + "', expected '" +
                              std::string(kFormat) + "'");
  }
  const std::int64_t version = io::has_attribute(root, "schema_version")
                                   ? io::read_attribute<std::int64_t>(root, "schema_version")
                                   : -1;
  if (version != Schema::kVersion) {
    throw ResultFileError(Kind::kSchemaMismatch, path,
                          "results schema_version " + std::to_string(version) +
                              "; this kvsweep writes version " + std::to_string(Schema::kVersion) +
                              ": start a new file");
  }
  const std::vector<std::string> file_policies = core::split(read_text_attribute(root, "policies"), ',');
  std::vector<std::string> added;
  for (const auto& p : policies) {
    if (std::find(file_policies.begin(), file_policies.end(), p) == file_policies.end()) added.push_back(p);
  }
  if (!added.empty()) {
    throw ResultFileError(Kind::kSettingsChanged, path,
                          "the sweep now lists polic" + std::string(added.size() == 1 ? "y " : "ies ") +
                              core::join(added, ", ") + ", which this file has no columns for (it has " +
                              core::join(file_policies, ", ") +
                              "): write the extended sweep to a new file (-o), or drop " +
                              (added.size() == 1 ? "it" : "them") + " to resume");
  }
  const std::string table_name(kTable);
  if (!io::has_link(root, table_name)) {
    throw ResultFileError(Kind::kNotResults, path, "no table /" + table_name);
  }
  Schema schema(file_policies, axis_names);
  io::Dataset table = io::Dataset::open(root, table_name);
  io::Datatype type = schema.h5_type();
  const io::Datatype file_type = table.type();
  if (!file_type.equals(type.id())) {
    throw ResultFileError(Kind::kSchemaMismatch, path,
                          "its columns differ from this sweep's: " + describe_difference(file_type, schema));
  }
  ResultFile out(path, std::move(schema), std::move(lock), std::move(file), std::move(table), std::move(type));
  out.sweep_hash_ = read_text_attribute(root, "sweep_hash");
  // A write that failed half way (on a filesystem that could not reserve space) may have left its row
  // incomplete at the end of the table: drop it, so the point runs again.
  const std::vector<Status> rows = out.statuses();
  std::uint64_t keep = rows.size();
  while (keep > 0 && !well_formed(rows[keep - 1].point_id, rows[keep - 1].status)) --keep;
  if (keep < rows.size()) {
    out.guarded_write(0, [&] {
      out.table_.resize(keep);
      out.file_.flush();
    });
    out.dropped_rows_ = rows.size() - keep;
  }
  return out;
}

template <class F>
void ResultFile::guarded_write(std::uint64_t bytes, F&& write) {
  // The bytes, a new chunk of each dataset they may start, twice over (HDF5 may write a chunk before it
  // frees an older copy), and room for metadata (object headers, B-tree nodes, the superblock).
  const std::uint64_t reserve = 2 * (bytes + kChunkBytes) + 256 * 1024;
  try {
    file_.reserve(reserve);
  } catch (const std::system_error& e) {
    throw WriteError(path_, errno_text(e.code().value()) + ", needs about " + std::to_string(reserve / 1024) +
                                " KiB free");
  }
  try {
    write();
  } catch (const io::H5Error& e) {
    throw WriteError(path_, write_cause(e));
  }
}

void ResultFile::record_sweep(const FileInfo& info, const std::vector<std::string>& axis_names) {
  guarded_write(2 * info.sweep_yaml.size() + 16 * info.point_ids.size(), [&] { record_sweep_unguarded(info, axis_names); });
}

void ResultFile::record_sweep_unguarded(const FileInfo& info, const std::vector<std::string>& axis_names) {
  const hid_t root = file_.id();
  if (info.sweep_hash != sweep_hash_) {
    const std::string history = "sweep_history";
    if (!io::has_link(root, history)) io::Group::create(root, history);
    const io::Group group = io::Group::open(root, history);
    H5G_info_t group_info{};
    io::check(H5Gget_info(group.id(), &group_info), "H5Gget_info", history);
    write_text_dataset(group.id(), std::to_string(group_info.nlinks), read_sweep_text(root));
    io::write_attribute(root, "sweep_hash", info.sweep_hash);
    write_long_text(root, "sweep_yaml", info.sweep_yaml);
    sweep_hash_ = info.sweep_hash;
  }
  std::vector<std::string> axes = core::split(read_text_attribute(root, "axis_names"), ',');
  for (const auto& a : axis_names) {
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) axes.push_back(a);
  }
  io::write_attribute(root, "axis_names", core::join(axes, ","));
  write_point_ids(root, info.point_ids);
  file_.flush();
}

void ResultFile::append(std::span<const std::byte> records) {
  const std::size_t size = schema_.record_size();
  if (records.empty() || records.size() % size != 0) {
    throw std::invalid_argument("results append: " + std::to_string(records.size()) +
                                " bytes is not a whole number of " + std::to_string(size) + "-byte records");
  }
  guarded_write(records.size(), [&] {
    const std::uint64_t before = table_.length();
    try {
      table_.append(type_.id(), records.data(), records.size() / size);
      file_.flush();  // the crash-safety point: everything appended so far survives a kill from here on
    } catch (const io::H5Error&) {
      try {  // put the table's length back, so that a close does not write a row that is not there
        table_.resize(before);
        file_.flush();
      } catch (const io::H5Error&) {
      }
      throw;
    }
  });
}

std::uint64_t ResultFile::rows() const { return table_.length(); }

std::vector<std::byte> ResultFile::read_row(std::uint64_t index) const {
  std::vector<std::byte> record(schema_.record_size());
  table_.read(type_.id(), record.data(), index, 1);
  return record;
}

std::vector<std::byte> ResultFile::read_rows(std::uint64_t first, std::uint64_t count) const {
  std::vector<std::byte> records(static_cast<std::size_t>(count) * schema_.record_size());
  if (count > 0) table_.read(type_.id(), records.data(), first, count);
  return records;
}

std::vector<ResultFile::Status> ResultFile::statuses() const {
  // Read only point_id and status: HDF5 converts a compound to a memory type holding a subset of its
  // members, matched by name.
  constexpr std::size_t kId = 16, kStatus = 8;
  const std::size_t id_bytes = schema_.column("point_id").size, status_bytes = schema_.column("status").size;
  if (id_bytes != kId || status_bytes != kStatus)
    throw std::logic_error("results: point_id/status sizes changed");
  io::Datatype mem = io::Datatype::compound(kId + kStatus);
  mem.insert("point_id", 0, io::Datatype::fixed_string(kId, io::Datatype::Pad::kNullPad).id());
  mem.insert("status", kId, io::Datatype::fixed_string(kStatus, io::Datatype::Pad::kNullPad).id());
  const std::uint64_t n = rows();
  std::vector<char> raw(static_cast<std::size_t>(n) * (kId + kStatus));
  table_.read(mem.id(), raw.data(), 0, n);
  std::vector<Status> out(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char* at = raw.data() + i * (kId + kStatus);
    out[i].point_id.assign(at, strnlen(at, kId));
    out[i].status.assign(at + kId, strnlen(at + kId, kStatus));
    out[i].ok = out[i].status == "ok";
  }
  return out;
}

std::set<std::string> ResultFile::finished_ids() const {
  std::unordered_map<std::string, bool> latest;
  for (const auto& s : statuses()) latest[s.point_id] = s.ok;  // a later row overwrites: latest wins
  std::set<std::string> out;
  for (const auto& [id, ok] : latest) {
    if (ok) out.insert(id);
  }
  return out;
}

std::map<std::string, std::uint32_t> ResultFile::failed_attempts() const {
  std::unordered_map<std::string, std::pair<bool, std::uint32_t>> latest;  // id -> (latest ok, failed rows)
  for (const auto& s : statuses()) {
    auto& [ok, failures] = latest[s.point_id];
    ok = s.ok;
    if (!s.ok) ++failures;
  }
  std::map<std::string, std::uint32_t> out;
  for (const auto& [id, state] : latest) {
    if (!state.first) out[id] = state.second;
  }
  return out;
}

void ResultFile::write_detail(const std::string& point_id, const std::vector<std::string>& policies,
                              const std::vector<std::vector<double>>& series) {
  if (policies.size() != series.size()) throw std::invalid_argument("write_detail: one series per policy");
  std::uint64_t bytes = 0;
  for (const auto& s : series) bytes += 2 * sizeof(double) * s.size() + 4096;  // data, its chunk, a header
  guarded_write(bytes, [&] { write_detail_unguarded(point_id, policies, series); });
}

void ResultFile::write_detail_unguarded(const std::string& point_id, const std::vector<std::string>& policies,
                                        const std::vector<std::vector<double>>& series) {
  const hid_t root = file_.id();
  if (H5Lexists(root, "detail", H5P_DEFAULT) <= 0) io::Group::create(root, "detail");
  const io::Group detail = io::Group::open(root, "detail");
  if (H5Lexists(detail.id(), point_id.c_str(), H5P_DEFAULT) > 0) {
    io::check(H5Ldelete(detail.id(), point_id.c_str(), H5P_DEFAULT), "delete detail of", point_id);
  }
  const io::Group group = io::Group::create(detail.id(), point_id);
  for (std::size_t i = 0; i < policies.size(); ++i) {
    io::AppendableOptions layout;
    layout.chunk_rows = std::max<hsize_t>(1, std::min<hsize_t>(series[i].size(), hsize_t{1} << 14));
    io::Dataset d = io::Dataset::create_appendable(group.id(), policies[i] + "_step_time_s", H5T_IEEE_F64LE, layout);
    d.append(std::span<const double>(series[i]));
  }
  file_.flush();
}

void ResultFile::set_end_time() {
  guarded_write(64, [&] {
    io::write_attribute(file_.id(), "end_time", utc_now_iso8601());
    file_.flush();
  });
}

void ResultFile::close() {
  try {  // nothing is left to write after the last flush: no room needed, but a failure is still reported
    table_.close();
    file_.flush();
    file_.release_reserve();
    file_.close();
  } catch (const io::H5Error& e) {
    lock_.release();
    throw WriteError(path_, write_cause(e));
  }
  lock_.release();
}

}  // namespace kvsweep::result
