#include "kvsweep/io/h5.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace kvsweep::io {

namespace {

struct StackText {
  std::string summary;  // frame descriptions, outermost first, "; "-separated
  std::string full;     // one frame per line with function, file, line, major and minor messages
};

std::string message_of(hid_t msg_id) {
  char buf[256] = {};
  if (H5Eget_msg(msg_id, nullptr, buf, sizeof buf) < 0) return "?";
  return buf;
}

herr_t collect_frame(unsigned n, const H5E_error2_t* err, void* data) {
  auto& text = *static_cast<StackText*>(data);
  std::string desc = err->desc != nullptr ? err->desc : "";
  std::replace(desc.begin(), desc.end(), '\n', ' ');  // some descriptions span lines; a summary must not
  if (!desc.empty()) {
    if (!text.summary.empty()) text.summary += "; ";
    text.summary += desc;
  }
  // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on long chains of operator+.
  std::string& f = text.full;
  f.append("#").append(std::to_string(n)).append(" ");
  f.append(err->func_name != nullptr ? err->func_name : "?").append("() at ");
  f.append(err->file_name != nullptr ? err->file_name : "?").append(":").append(std::to_string(err->line));
  f.append(": ").append(desc).append(" [").append(message_of(err->maj_num)).append(" / ");
  f.append(message_of(err->min_num)).append("]\n");
  return 0;
}

std::string quoted(std::string_view subject) {
  return subject.empty() ? std::string() : " '" + std::string(subject) + "'";
}

}  // namespace

void init_thread() {
  // Per thread: in the thread-safe build the automatic printer is a per-thread setting.
  thread_local const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

void throw_error(std::string_view op, std::string_view subject) {
  StackText text;
  // Copy the stack first: the calls made while formatting it must not clear it half way.
  const hid_t stack = H5Eget_current_stack();
  if (stack >= 0) {
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, collect_frame, &text);
    H5Eclose_stack(stack);
  }
  std::string what = std::string(op) + quoted(subject) + " failed";
  if (!text.summary.empty()) what += ": " + text.summary;
  throw H5Error(what, std::move(text.full));
}

// ---- Dataspace ---------------------------------------------------------------------------------

Dataspace Dataspace::scalar() {
  init_thread();
  return Dataspace(check_id(H5Screate(H5S_SCALAR), "H5Screate"));
}

Dataspace Dataspace::vector(hsize_t size, hsize_t max_size) {
  init_thread();
  return Dataspace(check_id(H5Screate_simple(1, &size, &max_size), "H5Screate_simple"));
}

std::vector<hsize_t> Dataspace::dims() const {
  const int rank = H5Sget_simple_extent_ndims(id());
  if (rank < 0) throw_error("H5Sget_simple_extent_ndims");
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(id(), d.data(), nullptr), "H5Sget_simple_extent_dims");
  return d;
}

void Dataspace::select_range(hsize_t offset, hsize_t count) {
  check(H5Sselect_hyperslab(id(), H5S_SELECT_SET, &offset, nullptr, &count, nullptr), "H5Sselect_hyperslab");
}

// ---- Datatype, PropertyList, Group, File ---------------------------------------------------------

Datatype Datatype::copy(hid_t type) {
  init_thread();
  return Datatype(check_id(H5Tcopy(type), "H5Tcopy"));
}

Datatype Datatype::fixed_string(std::size_t size, Pad pad) {
  Datatype t = copy(H5T_C_S1);
  check(H5Tset_size(t.id(), std::max<std::size_t>(size, 1)), "H5Tset_size");
  check(H5Tset_strpad(t.id(), pad == Pad::kNullPad ? H5T_STR_NULLPAD : H5T_STR_NULLTERM), "H5Tset_strpad");
  return t;
}

Datatype Datatype::compound(std::size_t size) {
  init_thread();
  return Datatype(check_id(H5Tcreate(H5T_COMPOUND, size), "H5Tcreate"));
}

void Datatype::insert(const std::string& name, std::size_t offset, hid_t member_type) {
  check(H5Tinsert(id(), name.c_str(), offset, member_type), "H5Tinsert", name);
}

bool Datatype::equals(hid_t other) const { return check_bool(H5Tequal(id(), other), "H5Tequal"); }

std::vector<std::string> Datatype::member_names() const {
  const int n = H5Tget_nmembers(id());
  if (n < 0) throw_error("H5Tget_nmembers");
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    char* raw = H5Tget_member_name(id(), static_cast<unsigned>(i));
    if (raw == nullptr) throw_error("H5Tget_member_name");
    names.emplace_back(raw);
    H5free_memory(raw);
  }
  return names;
}

std::size_t Datatype::size() const {
  const std::size_t s = H5Tget_size(id());
  if (s == 0) throw_error("H5Tget_size");
  return s;
}

H5T_class_t Datatype::type_class() const {
  const H5T_class_t c = H5Tget_class(id());
  if (c == H5T_NO_CLASS) throw_error("H5Tget_class");
  return c;
}

PropertyList PropertyList::create(hid_t cls) {
  init_thread();
  return PropertyList(check_id(H5Pcreate(cls), "H5Pcreate"));
}

Group Group::create(hid_t loc, const std::string& name) {
  init_thread();
  return Group(
      check_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", name));
}

Group Group::open(hid_t loc, const std::string& name) {
  init_thread();
  return Group(check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "H5Gopen2", name));
}

File File::create(const std::string& path, bool overwrite) {
  init_thread();
  // Checked here too because HDF5's own message for H5F_ACC_EXCL on an existing file is obscure.
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    throw H5Error("H5Fcreate '" + path + "' failed: the file exists and overwriting was not asked for", "");
  }
  const unsigned flags = overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL;
  return File(check_id(H5Fcreate(path.c_str(), flags, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate", path));
}

File File::open(const std::string& path, OpenMode mode) {
  init_thread();
  const unsigned flags = mode == OpenMode::kReadWrite ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return File(check_id(H5Fopen(path.c_str(), flags, H5P_DEFAULT), "H5Fopen", path));
}

void File::flush() { check(H5Fflush(id(), H5F_SCOPE_LOCAL), "H5Fflush"); }

bool File::reserve(std::uint64_t bytes) {
  void* handle = nullptr;
  if (H5Fget_vfd_handle(id(), H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
    H5Eclear2(H5E_DEFAULT);
    return false;  // a driver without a POSIX descriptor
  }
  const int fd = *static_cast<int*>(handle);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, static_cast<off_t>(bytes)) == 0) return true;
  const int err = errno;
  if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) return false;
  throw std::system_error(err, std::generic_category(), "fallocate");
}

void File::release_reserve() noexcept {
  void* handle = nullptr;
  if (H5Fget_vfd_handle(id(), H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  const int fd = *static_cast<int*>(handle);
  struct stat st {};
  if (::fstat(fd, &st) == 0) (void)!::ftruncate(fd, st.st_size);
}

// ---- Dataset -----------------------------------------------------------------------------------

Dataset Dataset::create_appendable(hid_t loc, const std::string& name, hid_t file_type,
                                   const AppendableOptions& options) {
  init_thread();
  Dataspace space = Dataspace::vector(0, H5S_UNLIMITED);
  PropertyList dcpl = PropertyList::create(H5P_DATASET_CREATE);
  const hsize_t chunk = std::max<hsize_t>(options.chunk_rows, 1);
  check(H5Pset_chunk(dcpl.id(), 1, &chunk), "H5Pset_chunk", name);
  if (options.shuffle) check(H5Pset_shuffle(dcpl.id()), "H5Pset_shuffle", name);
  if (options.deflate_level >= 0) {
    check(H5Pset_deflate(dcpl.id(), static_cast<unsigned>(std::min(options.deflate_level, 9))),
          "H5Pset_deflate", name);
  }
  return Dataset(
      check_id(H5Dcreate2(loc, name.c_str(), file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
               "H5Dcreate2", name));
}

Dataset Dataset::open(hid_t loc, const std::string& name, std::size_t chunk_cache_bytes) {
  init_thread();
  PropertyList dapl = PropertyList::create(H5P_DATASET_ACCESS);
  if (chunk_cache_bytes > 0) {
    // A prime slot count well above the number of chunks the cache can hold keeps collisions rare.
    check(H5Pset_chunk_cache(dapl.id(), 12421, chunk_cache_bytes, 1.0), "H5Pset_chunk_cache", name);
  }
  return Dataset(check_id(H5Dopen2(loc, name.c_str(), dapl.id()), "H5Dopen2", name));
}

Datatype Dataset::type() const { return Datatype(check_id(H5Dget_type(id()), "H5Dget_type")); }

Dataspace Dataset::space() const { return Dataspace(check_id(H5Dget_space(id()), "H5Dget_space")); }

std::uint64_t Dataset::length() const {
  const std::vector<hsize_t> d = space().dims();
  if (d.size() != 1) {
    throw H5Error("dataset length: expected a 1-D dataset, found rank " + std::to_string(d.size()), "");
  }
  return d[0];
}

void Dataset::write(hid_t mem_type, const void* rows, std::uint64_t offset, std::uint64_t count) {
  if (count == 0) return;
  Dataspace file_space = space();
  file_space.select_range(offset, count);
  Dataspace mem_space = Dataspace::vector(count, count);
  check(H5Dwrite(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, rows), "H5Dwrite");
}

void Dataset::resize(std::uint64_t rows) {
  const hsize_t n = rows;
  check(H5Dset_extent(id(), &n), "H5Dset_extent");
}

void Dataset::append(hid_t mem_type, const void* rows, std::uint64_t count) {
  if (count == 0) return;
  const std::uint64_t old_length = length();
  const hsize_t new_length = old_length + count;
  check(H5Dset_extent(id(), &new_length), "H5Dset_extent");
  write(mem_type, rows, old_length, count);
}

void Dataset::read(hid_t mem_type, void* out, std::uint64_t offset, std::uint64_t count) const {
  if (count == 0) return;
  Dataspace file_space = space();
  const std::vector<hsize_t> d = file_space.dims();
  if (d.size() != 1 || offset > d[0] || count > d[0] - offset) {
    throw H5Error("dataset read: rows [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
                      ") are outside the dataset's " + (d.size() == 1 ? std::to_string(d[0]) : "?") + " rows",
                  "");
  }
  file_space.select_range(offset, count);
  Dataspace mem_space = Dataspace::vector(count, count);
  check(H5Dread(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, out), "H5Dread");
}

bool has_link(hid_t loc, const std::string& name) {
  init_thread();
  return check_bool(H5Lexists(loc, name.c_str(), H5P_DEFAULT), "H5Lexists", name);
}

bool is_hdf5_file(const std::string& path) {
  init_thread();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  const htri_t r = H5Fis_hdf5(path.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  check(H5get_libversion(&major, &minor, &release), "H5get_libversion");
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

// ---- Attributes --------------------------------------------------------------------------------

namespace {

void write_scalar_attribute(hid_t obj, const std::string& name, hid_t type, const void* value) {
  init_thread();
  if (check_bool(H5Aexists(obj, name.c_str()), "H5Aexists", name)) {
    check(H5Adelete(obj, name.c_str()), "H5Adelete", name);
  }
  Dataspace space = Dataspace::scalar();
  Attribute attr(check_id(H5Acreate2(obj, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                          "H5Acreate2", name));
  check(H5Awrite(attr.id(), type, value), "H5Awrite", name);
}

Attribute open_attribute(hid_t obj, const std::string& name) {
  init_thread();
  return Attribute(check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
}

template <class T>
T read_numeric_attribute(hid_t obj, const std::string& name) {
  Attribute attr = open_attribute(obj, name);
  T value{};
  check(H5Aread(attr.id(), native_type<T>(), &value), "H5Aread", name);
  return value;
}

}  // namespace

void write_attribute(hid_t obj, const std::string& name, std::int64_t value) {
  write_scalar_attribute(obj, name, native_type<std::int64_t>(), &value);
}

void write_attribute(hid_t obj, const std::string& name, std::uint64_t value) {
  write_scalar_attribute(obj, name, native_type<std::uint64_t>(), &value);
}

void write_attribute(hid_t obj, const std::string& name, double value) {
  write_scalar_attribute(obj, name, native_type<double>(), &value);
}

void write_attribute(hid_t obj, const std::string& name, std::string_view value) {
  Datatype type = Datatype::fixed_string(value.size() + 1);
  std::string buf(value);  // NUL-terminated copy of exactly type.size() bytes
  write_scalar_attribute(obj, name, type.id(), buf.c_str());
}

bool has_attribute(hid_t obj, const std::string& name) {
  init_thread();
  return check_bool(H5Aexists(obj, name.c_str()), "H5Aexists", name);
}

template <>
std::int64_t read_attribute<std::int64_t>(hid_t obj, const std::string& name) {
  return read_numeric_attribute<std::int64_t>(obj, name);
}

template <>
std::uint64_t read_attribute<std::uint64_t>(hid_t obj, const std::string& name) {
  return read_numeric_attribute<std::uint64_t>(obj, name);
}

template <>
double read_attribute<double>(hid_t obj, const std::string& name) {
  return read_numeric_attribute<double>(obj, name);
}

template <>
std::string read_attribute<std::string>(hid_t obj, const std::string& name) {
  Attribute attr = open_attribute(obj, name);
  Datatype file_type(check_id(H5Aget_type(attr.id()), "H5Aget_type", name));
  if (file_type.type_class() != H5T_STRING) {
    throw H5Error("attribute '" + name + "' is not a string", "");
  }
  // The memory type takes the file's character set: HDF5 converts neither way between ASCII and UTF-8,
  // and h5py writes a Python str as a variable-length UTF-8 string.
  const H5T_cset_t cset = H5Tget_cset(file_type.id());
  if (cset < 0) throw H5Error("H5Tget_cset '" + name + "' failed", "");
  const htri_t variable = H5Tis_variable_str(file_type.id());
  if (check_bool(variable, "H5Tis_variable_str", name)) {
    Datatype mem = Datatype::copy(H5T_C_S1);
    check(H5Tset_size(mem.id(), H5T_VARIABLE), "H5Tset_size", name);
    check(H5Tset_cset(mem.id(), cset), "H5Tset_cset", name);
    char* raw = nullptr;
    check(H5Aread(attr.id(), mem.id(), &raw), "H5Aread", name);
    std::string value = raw != nullptr ? raw : "";
    H5free_memory(raw);
    return value;
  }
  const std::size_t size = file_type.size();
  Datatype mem = Datatype::fixed_string(size + 1);
  check(H5Tset_cset(mem.id(), cset), "H5Tset_cset", name);
  std::string buf(size + 1, '\0');
  check(H5Aread(attr.id(), mem.id(), buf.data()), "H5Aread", name);
  buf.resize(buf.find('\0') == std::string::npos ? buf.size() : buf.find('\0'));
  return buf;
}

}  // namespace kvsweep::io
