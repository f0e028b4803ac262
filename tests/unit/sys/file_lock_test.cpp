#include "sys/file_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/support.hpp"

namespace ztp::sys {
namespace {

// Whether another process can take the lock on `path` right now.
bool free_for_another_process(const std::filesystem::path& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    _exit(FileLock::acquire(path, false).ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(FileLockTest, HoldsAgainstOtherProcessesUntilReleased) {
  ztp::testing::TempDir dir;
  auto path = dir.path() / "x.lock";
  {
    auto lock = FileLock::acquire(path);
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    EXPECT_FALSE(free_for_another_process(path));
    FileLock moved = std::move(*lock);
    EXPECT_FALSE(free_for_another_process(path)) << "a moved lock is still held";
  }
  EXPECT_TRUE(free_for_another_process(path));
}

TEST(FileLockTest, AnUnopenableFileIsAnErrorNamingIt) {
  ztp::testing::TempDir dir;
  auto r = FileLock::acquire(dir.path() / "missing" / "x.lock");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::internal);
  EXPECT_NE(r.error().message.find("missing/x.lock"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ztp::sys
