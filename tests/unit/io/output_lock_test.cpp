#include "kvsweep/io/output_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace kvsweep::io {
namespace {

class OutputLockTest : public testing::TempDirTest {};

TEST_F(OutputLockTest, OneHolderAtATimeAndTheLockFileGoesWithIt) {
  const std::string out = path("r.h5");
  {
    OutputLock a = OutputLock::take(out);
    ASSERT_TRUE(a.locked());  // a local filesystem has flock
    EXPECT_TRUE(std::filesystem::exists(out + ".lock"));
    // A second taker (another open file description: in another process it is the same) is refused and
    // told who holds it.
    try {
      OutputLock b = OutputLock::take(out);
      FAIL() << "a second lock was granted";
    } catch (const LockHeld& e) {
      EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid())), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(out + ".lock"));  // released: removed
  OutputLock again = OutputLock::take(out);
  EXPECT_TRUE(again.locked());
}

TEST_F(OutputLockTest, AProcessThatDiesReleasesItsLock) {
  const std::string out = path("r.h5");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    OutputLock held = OutputLock::take(out);
    (void)!::write(ready[1], "x", 1);
    ::pause();  // killed below, without releasing: as kill -9 would end a run
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_THROW(OutputLock::take(out), LockHeld);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(std::filesystem::exists(out + ".lock"));  // left behind by the killed holder...
  OutputLock next = OutputLock::take(out);               // ...and taken over
  EXPECT_TRUE(next.locked());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(OutputLockTest, ALockFileThatCannotBeCreatedIsASystemError) {
  EXPECT_THROW(OutputLock::take(path("no/such/dir/r.h5")), std::system_error);
}

}  // namespace
}  // namespace kvsweep::io
