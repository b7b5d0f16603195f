#include "kvsweep/result/result_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/core/version.hpp"

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
      "kvsweep_version", "git_sha",        "hdf5_version", "host",       "start_time", "end_time"};
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

// Opens an existing HDF5 file for writing, which takes HDF5's lock on it (unless the user turned locking
// off): fails while another process, such as a run still appending, holds it open.
io::File open_for_writing(const std::string& path) {
  try {
    return io::File::open(path, io::OpenMode::kReadWrite);
  } catch (const io::H5Error& e) {
    throw ResultFileError(Kind::kBusy, path,
                          "cannot open it for writing; is another kvsweep run still writing it? (" +
                              std::string(e.what()) + ")");
  }
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

ResultFile::ResultFile(std::string path, Schema schema, io::File file, io::Dataset table, io::Datatype type)
    : path_(std::move(path)),
      schema_(std::move(schema)),
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
  // HDF5 truncates before it locks: check first that nobody is writing the file we are about to replace.
  if (force && io::is_hdf5_file(path)) open_for_writing(path).close();
  io::File file = io::File::create(path, force);
  io::Datatype type = schema.h5_type();
  const std::string table_name(kTable);
  io::AppendableOptions layout;
  layout.chunk_rows = std::max<hsize_t>(1, kChunkBytes / schema.record_size());
  io::Dataset table = io::Dataset::create_appendable(file.id(), table_name, type.id(), layout);
  write_provenance(file.id(), schema, info);
  file.flush();
  return ResultFile(path, schema, std::move(file), std::move(table), std::move(type));
}

ResultFile ResultFile::open_for_resume(const std::string& path, const std::vector<std::string>& policies,
                                       const std::vector<std::string>& axis_names) {
  if (!io::is_hdf5_file(path)) {
    throw ResultFileError(Kind::kNotResults, path,
                          "not an HDF5 file (missing, unreadable or another format)");
  }
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
  ResultFile out(path, std::move(schema), std::move(file), std::move(table), std::move(type));
  out.sweep_hash_ = read_text_attribute(root, "sweep_hash");
  return out;
}

void ResultFile::record_sweep(const FileInfo& info, const std::vector<std::string>& axis_names) {
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
  table_.append(type_.id(), records.data(), records.size() / size);
  file_.flush();  // the crash-safety point: everything appended so far survives a kill from here on
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
    out[i].ok = std::string_view(at + kId, strnlen(at + kId, kStatus)) == "ok";
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
  io::write_attribute(file_.id(), "end_time", utc_now_iso8601());
  file_.flush();
}

void ResultFile::close() {
  table_.close();
  file_.close();
}

}  // namespace kvsweep::result
