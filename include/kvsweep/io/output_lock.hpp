#pragma once
// One writer per output file, whatever HDF5_USE_FILE_LOCKING says: an advisory lock (flock(2)) on a
// sidecar file `<output>.lock`. HDF5's own lock is gone when users turn it off (they must, to read a
// file while a run writes it), and two writers then corrupt the file; this lock does not depend on it.
//
// The kernel releases a flock when its holder dies, so a killed run never leaves a stale lock: at most an
// empty `<output>.lock` that the next run takes over. A holder removes the file when it lets go (then
// closes it); a run that opened the file just before its removal notices (the path no longer names the
// inode it locked) and tries again, so two runs can never both believe they hold the lock.
// On filesystems without locks (flock fails with ENOLCK, EOPNOTSUPP or ENOSYS: some NFS or Lustre
// mounts) nothing is locked and locked() says so; the caller decides whether to go on.
#include <stdexcept>
#include <string>
#include <system_error>

namespace kvsweep::io {

// The lock is held by another process; what() names it: "held by pid 4711 on node07 since ...".
class LockHeld : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class OutputLock {
 public:
  OutputLock() = default;
  // Takes the lock of `output` (a path; the lock file is `output` + ".lock"), without waiting. Throws
  // LockHeld when another process holds it, std::system_error (errno: EROFS, EACCES, ENOSPC, ...) when
  // the lock file cannot be created or opened.
  static OutputLock take(const std::string& output);
  OutputLock(OutputLock&& o) noexcept;
  OutputLock& operator=(OutputLock&& o) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();  // release()

  bool locked() const { return locked_; }
  const std::string& lock_path() const { return lock_path_; }
  // Removes the lock file and lets go. Idempotent; never throws.
  void release() noexcept;

 private:
  int fd_ = -1;
  bool locked_ = false;
  std::string lock_path_;
};

}  // namespace kvsweep::io
