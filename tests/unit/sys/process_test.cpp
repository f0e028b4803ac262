#include "sys/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::sys {
namespace {

using namespace std::chrono_literals;

TEST(SpawnTest, CapturesOutputAndTheExitStatus) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
  auto run = run_captured(o, 10s);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->out, "out\n");
  EXPECT_EQ(run->err, "err\n");
  ASSERT_TRUE(WIFEXITED(run->wait_status));
  EXPECT_EQ(WEXITSTATUS(run->wait_status), 3);
  EXPECT_FALSE(run->timed_out);
}

TEST(SpawnTest, KillsWhatOutlivesItsTimeout) {
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto run = run_captured(o, 100ms);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->timed_out);
  ASSERT_TRUE(WIFSIGNALED(run->wait_status));
  EXPECT_EQ(WTERMSIG(run->wait_status), SIGKILL);
}

TEST(SpawnTest, AProgramThatCannotRunIsAnErrorNotAnExit127) {
  SpawnOptions o;
  o.argv = {"/nonexistent/program"};
  auto r = spawn(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find("cannot execute '/nonexistent/program'"), std::string::npos)
      << r.error().message;

  o.argv = {"true"};
  o.search_path = true;
  o.workdir = "/nonexistent-dir";
  auto dir = spawn(o);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("cannot enter workdir /nonexistent-dir"), std::string::npos)
      << dir.error().message;
}

TEST(SpawnTest, GivesTheChildItsEnvironmentWorkdirAndGroup) {
  ztp::testing::TempDir dir;
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$ZTP_X $(pwd) $(cut -d' ' -f5 /proc/$$/stat) $$\""};
  o.search_path = true;
  o.env = std::vector<std::string>{"ZTP_X=seen", "PATH=/usr/bin:/bin"};
  o.workdir = dir.path();
  o.new_process_group = true;
  auto run = run_captured(o, 10s);
  ASSERT_TRUE(run.ok()) << run.error().message;
  std::string expected_dir = std::filesystem::canonical(dir.path()).string();
  EXPECT_EQ(run->out.substr(0, 5 + expected_dir.size() + 1), "seen " + expected_dir + " ");
  // The pid equals its process group: the child leads a group of its own.
  std::string rest = run->out.substr(5 + expected_dir.size() + 1);
  auto space = rest.find(' ');
  EXPECT_EQ(rest.substr(0, space), rest.substr(space + 1, rest.size() - space - 2)) << run->out;
}

TEST(DetachTest, ReturnsTheDaemonsFirstReportAndLogsItsOutput) {
  ztp::testing::TempDir dir;
  DetachOptions o;
  o.log = dir.path() / "daemon.log";
  o.wait = 10s;
  auto reply = detach(o, [](int ready) {
    std::printf("to the log\n");
    std::fflush(stdout);
    // Forked twice after setsid(): never a session leader, so never a controlling terminal.
    bool leader = ::getsid(0) == ::getpid();
    report_ready(ready, leader ? "leader" : "ok");
    report_ready(ready, "a second report is ignored");
    return 0;
  });
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(*reply, "ok");
  ASSERT_TRUE(ztp::testing::wait_until([&] {
    auto text = fs::read_file(o.log);
    return text.ok() && *text == "to the log\n";
  }));
}

TEST(DetachTest, ADaemonThatNeverReportsTimesOutAndOneThatExitsSaysNothing) {
  ztp::testing::TempDir dir;
  DetachOptions o;
  o.log = dir.path() / "daemon.log";
  o.wait = 200ms;
  auto silent = detach(o, [](int) {
    ::sleep(2);
    return 0;
  });
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.error().code, Errc::timeout);
  auto gone = detach(o, [](int) { return 1; });
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, "");
}

TEST(CloseFdsTest, ClosesAllButWhatItKeeps) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int keep = ::open("/dev/null", O_RDONLY);
    int drop = ::open("/dev/null", O_RDONLY);
    close_fds_except({keep});
    bool ok = ::fcntl(keep, F_GETFD) >= 0 && ::fcntl(drop, F_GETFD) < 0 && ::fcntl(2, F_GETFD) >= 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(WriteAllTest, WritesEverythingAndSaysWhenThePipeBroke) {
  auto p = make_pipe();
  ASSERT_TRUE(p.ok());
  std::string big(100'000, 'x');
  std::thread reader([fd = (*p)[0]] {
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      total += static_cast<size_t>(n);
    }
    EXPECT_EQ(total, 100'000u);
    ::close(fd);
  });
  EXPECT_TRUE(write_all((*p)[1], big));
  ::close((*p)[1]);
  reader.join();
  auto q = make_pipe();
  ::close((*q)[0]);
  ::signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(write_all((*q)[1], "x"));
  ::close((*q)[1]);
}

}  // namespace
}  // namespace ztp::sys
