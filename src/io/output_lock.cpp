#include "kvsweep/io/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <utility>


namespace kvsweep::io {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// What the holder wrote into the lock file ("pid 4711 on node07 since 2026-12-07T06:00:00Z"), or "".
std::string holder_of(int fd) {
  char buf[256] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL; }

}  // namespace

OutputLock OutputLock::take(const std::string& output) {
  OutputLock lock;
  lock.lock_path_ = output + ".lock";
  // A holder removes the file while it still holds the lock: we may lock an inode that is already gone
  // from the directory. Then the path names another inode (or none): try again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock.lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), lock.lock_path_);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        std::string who = holder_of(fd);
        ::close(fd);
        throw LockHeld(who.empty() ? "held by another process" : "held by " + who);
      }
      if (unsupported(err)) {  // the filesystem has no locks: go on unlocked, keep nothing open
        ::close(fd);
        return lock;
      }
      ::close(fd);
      throw std::system_error(err, std::generic_category(), lock.lock_path_);
    }
    struct stat by_fd {}, by_path {};
    if (::fstat(fd, &by_fd) == 0 && ::stat(lock.lock_path_.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
        by_fd.st_ino == by_path.st_ino) {
      lock.fd_ = fd;
      lock.locked_ = true;
      // Who holds it, for the message a second run prints; best effort (a full disk may refuse it).
      const std::string who = "pid " + std::to_string(::getpid()) + " on " + host_name() + " since " +
                              utc_now() + "\n";
      if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, who.data(), who.size(), 0);
      return lock;
    }
    ::close(fd);  // removed under us by the last holder: the next open creates it afresh
  }
  throw std::system_error(EAGAIN, std::generic_category(), lock.lock_path_ + " keeps being replaced");
}

OutputLock::OutputLock(OutputLock&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), locked_(std::exchange(o.locked_, false)), lock_path_(std::move(o.lock_path_)) {}

OutputLock& OutputLock::operator=(OutputLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
    locked_ = std::exchange(o.locked_, false);
    lock_path_ = std::move(o.lock_path_);
  }
  return *this;
}

OutputLock::~OutputLock() { release(); }

void OutputLock::release() noexcept {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still locked: see take()
  ::close(fd_);
  fd_ = -1;
  locked_ = false;
}

}  // namespace kvsweep::io
