// A writer killed with SIGKILL in the middle of appending leaves a file that opens with every row it
// had flushed, and that can be appended to again (the crash-safety promise of ResultFile::append).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>

#include "kvsweep/result/result_file.hpp"
#include "result_test_util.hpp"

namespace kvsweep::result {
namespace {

using test::all_policies;
using test::row_for;

constexpr const char* kHash = "0123012301230123";

class ResultCrashTest : public test::TempDirTest {};

// Child: appends `record` forever, reporting the number of flushed rows on `fd` after each append.
[[noreturn]] void append_until_killed(const std::string& p, const Schema& s,
                                      const std::vector<std::byte>& record, int fd) {
  try {
    ResultFile f = ResultFile::open_for_resume(p, s.policies(), s.axis_names());
    for (std::uint64_t n = 1;; ++n) {
      f.append(record);  // flushed on return
      if (::write(fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) ::_exit(3);
    }
  } catch (...) {
    ::_exit(2);
  }
}

TEST_F(ResultCrashTest, KilledWriterLeavesEveryFlushedRow) {
  const Schema s(all_policies());
  // Encoded before the fork: the child only appends.
  const std::vector<std::byte> record = s.encode(row_for("aaaaaaaaaaaaaaaa", true));

  for (const std::uint64_t kill_after : {1u, 37u, 150u}) {
    const std::string p = path("r" + std::to_string(kill_after) + ".h5");
    ResultFile::create(p, s, {"points: []\n", kHash, {}, {}}).close();
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      append_until_killed(p, s, record, fds[1]);
    }
    ::close(fds[1]);
    std::uint64_t flushed = 0, n = 0;
    while (flushed < kill_after && ::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n))
      flushed = n;
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped on its own, exit " << WEXITSTATUS(status);
    ASSERT_EQ(flushed, kill_after);

    // Readable, with at least every row reported flushed (the child may have flushed one more before the
    // kill landed), each decodable; and appendable again.
    ResultFile f = ResultFile::open_for_resume(p, s.policies(), s.axis_names());
    const std::uint64_t rows = f.rows();
    EXPECT_GE(rows, flushed);
    EXPECT_EQ(s.point_id(f.read_row(rows - 1)), "aaaaaaaaaaaaaaaa");
    EXPECT_EQ(f.finished_ids(), (std::set<std::string>{"aaaaaaaaaaaaaaaa"}));
    f.append(s.encode(row_for("bbbbbbbbbbbbbbbb", false)));
    EXPECT_EQ(f.rows(), rows + 1);
    EXPECT_EQ(f.failed_attempts().at("bbbbbbbbbbbbbbbb"), 1u);
  }
}

}  // namespace
}  // namespace kvsweep::result
