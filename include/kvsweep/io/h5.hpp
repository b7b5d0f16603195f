#pragma once
// A small RAII layer over the HDF5 C API, in the spirit of HighFive (which Debian does not package):
// one move-only handle type per HDF5 object kind, every C call checked, failures thrown as H5Error
// carrying HDF5's own error stack, destructors that never throw. Raw hid_t stays reachable (id()) so
// callers can build compound types or use any C call the wrapper does not cover; wrap such calls in
// check()/check_id() to keep the error text.
//
// The Debian library is built thread-safe: HDF5 serialises all calls behind one lock, and error stacks
// and the automatic error printer are per thread, which is why init_thread() is per thread.

#include <hdf5.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kvsweep::io {

// A failed HDF5 call. what() is "<operation> '<subject>' failed: <innermost HDF5 messages>";
// stack() holds the whole HDF5 error stack, one frame per line.
class H5Error : public std::runtime_error {
 public:
  H5Error(const std::string& what, std::string stack) : std::runtime_error(what), stack_(std::move(stack)) {}
  const std::string& stack() const { return stack_; }

 private:
  std::string stack_;
};

// Turns off HDF5's automatic printing of error stacks on the calling thread (idempotent, cheap). Every
// helper below calls it; call it before raw C calls made without the helpers.
void init_thread();

// Throws H5Error for `op` on `subject`, with the current HDF5 error stack (which it clears).
[[noreturn]] void throw_error(std::string_view op, std::string_view subject = {});
// Checked C calls: return the value when it signals success, throw H5Error otherwise. `op` names the
// call and `subject` the file/object it was about; neither is formatted unless the call failed.
inline hid_t check_id(hid_t id, std::string_view op, std::string_view subject = {}) {
  if (id < 0) throw_error(op, subject);
  return id;
}
inline herr_t check(herr_t status, std::string_view op, std::string_view subject = {}) {
  if (status < 0) throw_error(op, subject);
  return status;
}
// For htri_t results: true / false, or throws on a negative value.
inline bool check_bool(htri_t value, std::string_view op, std::string_view subject = {}) {
  if (value < 0) throw_error(op, subject);
  return value > 0;
}

// Owns one hid_t and closes it with Close. Move-only; the destructor never throws (a failed close is
// dropped, there is nobody to tell).
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Gives up ownership without closing.
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  // Closes now, checked (use where a failed close matters, e.g. the last write of a file).
  void close() {
    if (id_ < 0) return;
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    check(Close(id), "close");
  }

 private:
  void reset() noexcept {
    if (id_ >= 0) {
      if (Close(id_) < 0) H5Eclear2(H5E_DEFAULT);
      id_ = H5I_INVALID_HID;
    }
  }
  hid_t id_ = H5I_INVALID_HID;
};

class Dataspace : public Handle<&H5Sclose> {
 public:
  using Handle::Handle;
  static Dataspace scalar();
  // 1-D space of `size` elements growing up to `max_size` (H5S_UNLIMITED for no limit).
  static Dataspace vector(hsize_t size, hsize_t max_size);
  std::vector<hsize_t> dims() const;
  // Selects the 1-D hyperslab [offset, offset + count).
  void select_range(hsize_t offset, hsize_t count);
};

class Datatype : public Handle<&H5Tclose> {
 public:
  using Handle::Handle;
  // An owned copy of any type (predefined types such as H5T_NATIVE_INT must not be closed, copies may).
  static Datatype copy(hid_t type);
  // Fixed-length string type of `size` bytes (size >= 1). kNullTerm: a C string, the last byte is always
  // NUL; kNullPad: numpy's 'S<size>', a value may fill every byte and shorter ones are NUL-padded.
  enum class Pad { kNullTerm, kNullPad };
  static Datatype fixed_string(std::size_t size, Pad pad = Pad::kNullTerm);
  // An empty compound type of `size` bytes; members are added with insert().
  static Datatype compound(std::size_t size);
  void insert(const std::string& name, std::size_t offset, hid_t member_type);
  std::size_t size() const;
  H5T_class_t type_class() const;
  // H5Tequal: same class, size, byte order and, for compounds, same member names, offsets and types.
  bool equals(hid_t other) const;
  // Member names of a compound type, in member order.
  std::vector<std::string> member_names() const;
};

class PropertyList : public Handle<&H5Pclose> {
 public:
  using Handle::Handle;
  static PropertyList create(hid_t cls);  // e.g. H5P_DATASET_CREATE
};

class Attribute : public Handle<&H5Aclose> {
 public:
  using Handle::Handle;
};

class Group : public Handle<&H5Gclose> {
 public:
  using Handle::Handle;
  static Group create(hid_t loc, const std::string& name);
  static Group open(hid_t loc, const std::string& name);
};

enum class OpenMode { kReadOnly, kReadWrite };

class File : public Handle<&H5Fclose> {
 public:
  using Handle::Handle;
  // Creates `path`; throws H5Error if it exists unless `overwrite` (then it is truncated).
  static File create(const std::string& path, bool overwrite = false);
  static File open(const std::string& path, OpenMode mode = OpenMode::kReadOnly);
  // Writes everything buffered to disk (H5Fflush): rows appended before a flush survive a crash.
  void flush();
  // Reserves disk blocks for `bytes` beyond the file's current end without changing its size
  // (fallocate(FALLOC_FL_KEEP_SIZE) on the descriptor HDF5 writes through), so that the writes of the
  // next operation cannot fail half way for lack of space: a full disk is then found before anything
  // is written. Returns false where the filesystem cannot reserve (nothing reserved, nothing wrong);
  // throws std::system_error (ENOSPC, EDQUOT, EIO, ...) when the space is not there.
  bool reserve(std::uint64_t bytes);
  // Gives back the blocks reserve() set aside beyond the file's end (ftruncate to its own size). Best
  // effort, never throws; call it after the last flush.
  void release_reserve() noexcept;
};

// The native HDF5 memory type of an arithmetic C++ type (a predefined type: never close it).
template <class T>
hid_t native_type() {
  init_thread();
  if constexpr (std::is_same_v<T, std::uint8_t>)
    return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return H5T_NATIVE_DOUBLE;
  else
    static_assert(sizeof(T) == 0, "no native HDF5 type for T");
}

// Layout of a growable 1-D dataset. Rows are chunked (required for growth); compression applies per
// chunk, so appends aligned to whole chunks avoid re-reading and re-compressing partial chunks.
struct AppendableOptions {
  hsize_t chunk_rows = hsize_t{1} << 16;
  int deflate_level = -1;  // -1: no compression; 0..9: gzip level
  bool shuffle = false;    // byte shuffle before deflate (helps integers a lot)
};

class Dataset : public Handle<&H5Dclose> {
 public:
  using Handle::Handle;
  // Creates an empty 1-D dataset of `file_type` (any type, compound included) that grows without limit.
  static Dataset create_appendable(hid_t loc, const std::string& name, hid_t file_type,
                                   const AppendableOptions& options = {});
  // Opens a dataset. A `chunk_cache_bytes` > 0 sets this dataset's chunk cache: reads of compressed
  // chunks larger than the default 1 MiB cache would otherwise decompress a chunk on every read. HDF5
  // shares one cache among all open handles of a dataset, set by the first open: open it once, here.
  static Dataset open(hid_t loc, const std::string& name, std::size_t chunk_cache_bytes = 0);

  // Number of rows (the first dimension); throws H5Error if the dataset is not 1-D.
  std::uint64_t length() const;
  Datatype type() const;
  Dataspace space() const;

  // Grows the dataset by `count` rows of `mem_type` taken from `rows`. O(count); nothing is flushed.
  void append(hid_t mem_type, const void* rows, std::uint64_t count);
  // Sets the number of rows to `rows` (growing or shrinking; dropped rows are gone). Nothing is flushed.
  void resize(std::uint64_t rows);
  // Overwrites rows [offset, offset + count), which must exist.
  void write(hid_t mem_type, const void* rows, std::uint64_t offset, std::uint64_t count);
  // Reads rows [offset, offset + count) into `out` (room for count rows of mem_type); throws H5Error
  // when the range runs past the end.
  void read(hid_t mem_type, void* out, std::uint64_t offset, std::uint64_t count) const;

  template <class T>
  void append(std::span<const T> rows) {
    append(native_type<T>(), rows.data(), rows.size());
  }
  template <class T>
  void read(std::uint64_t offset, std::span<T> out) const {
    read(native_type<T>(), out.data(), offset, out.size());
  }
  template <class T>
  std::vector<T> read(std::uint64_t offset, std::uint64_t count) const {
    std::vector<T> out(count);
    read(native_type<T>(), out.data(), offset, count);
    return out;
  }
};

// True when `loc` has a direct child link `name` (no path walking).
bool has_link(hid_t loc, const std::string& name);

// True when `path` is a readable file that starts with the HDF5 signature (H5Fis_hdf5); false for a
// missing, unreadable or non-HDF5 file. Never throws.
bool is_hdf5_file(const std::string& path);
// The linked HDF5 library's version, "1.10.8" (H5get_libversion).
std::string library_version();

// Scalar attributes on any object (file, group, dataset). Writing replaces an existing attribute.
// Strings are stored as fixed-length NUL-terminated ASCII; both fixed and variable-length strings read.
void write_attribute(hid_t obj, const std::string& name, std::int64_t value);
void write_attribute(hid_t obj, const std::string& name, std::uint64_t value);
void write_attribute(hid_t obj, const std::string& name, double value);
void write_attribute(hid_t obj, const std::string& name, std::string_view value);
inline void write_attribute(hid_t obj, const std::string& name, const char* value) {
  write_attribute(obj, name, std::string_view(value));
}
// Any other integer goes through int64 / uint64 so that write_attribute(f, "n", 3) is not ambiguous.
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, std::int64_t> &&
         !std::same_as<T, std::uint64_t>) void write_attribute(hid_t obj, const std::string& name, T value) {
  if constexpr (std::is_signed_v<T>)
    write_attribute(obj, name, static_cast<std::int64_t>(value));
  else
    write_attribute(obj, name, static_cast<std::uint64_t>(value));
}

bool has_attribute(hid_t obj, const std::string& name);
// Reads a scalar attribute, converting numeric types as HDF5 does (use has_attribute first when the
// attribute is optional). Specialised for std::int64_t, std::uint64_t, double and std::string.
template <class T>
T read_attribute(hid_t obj, const std::string& name);
template <>
std::int64_t read_attribute<std::int64_t>(hid_t obj, const std::string& name);
template <>
std::uint64_t read_attribute<std::uint64_t>(hid_t obj, const std::string& name);
template <>
double read_attribute<double>(hid_t obj, const std::string& name);
template <>
std::string read_attribute<std::string>(hid_t obj, const std::string& name);

}  // namespace kvsweep::io
