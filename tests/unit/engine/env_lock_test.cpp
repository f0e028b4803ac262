#include "engine/env_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "support/support.hpp"

namespace ztp::engine {
namespace {

TEST(EnvLockTest, SecondHolderIsRefusedWithoutWaitAndNamesTheFirst) {
  testing::TempDir home;
  auto first = EnvLock::acquire(home.path(), "dev", "ztp deploy dev", false);
  ASSERT_TRUE(first.ok()) << first.error().message;
  // flock is per open file description: a second open in this process conflicts like another
  // process would.
  auto second = EnvLock::acquire(home.path(), "dev", "ztp deploy dev", false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("locked by ztp deploy dev (pid"), std::string::npos)
      << second.error().message;
  // Another environment is independent.
  EXPECT_TRUE(EnvLock::acquire(home.path(), "qa", "x", false).ok());
}

TEST(EnvLockTest, ReleasedOnDestructionAndOnProcessDeath) {
  testing::TempDir home;
  {
    auto held = EnvLock::acquire(home.path(), "dev", "a", false);
    ASSERT_TRUE(held.ok());
  }
  EXPECT_TRUE(EnvLock::acquire(home.path(), "dev", "b", false).ok());

  pid_t child = ::fork();
  if (child == 0) {
    auto held = EnvLock::acquire(home.path(), "prod", "child", false);
    ::kill(::getpid(), SIGKILL);  // dies holding it
    _exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(EnvLock::acquire(home.path(), "prod", "parent", false).ok());
}

TEST(EnvLockTest, WaiterIsToldAndProceedsWhenFreed) {
  testing::TempDir home;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  if (child == 0) {
    auto held = EnvLock::acquire(home.path(), "dev", "holder", false);
    char c = 'x';
    [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
    ::usleep(300 * 1000);
    _exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  std::optional<std::string> told;
  auto lock =
      EnvLock::acquire(home.path(), "dev", "waiter", true, [&](const std::string& m) { told = m; });
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(told.has_value());
  EXPECT_NE(told->find("locked by holder"), std::string::npos) << *told;
  ::waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace ztp::engine
