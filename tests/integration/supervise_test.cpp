// Drives the real `ztp supervise` binary: detached supervisors of small shell-script apps.
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>

#include "support/support.hpp"
#include "target/local/replica_status.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ztp::testing::wait_until;

constexpr milliseconds k_wait = seconds(20);

class SuperviseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_work = m_tmp / "release";
    std::filesystem::create_directories(m_work);
  }

  void TearDown() override {
    for (const auto& dir : m_dirs) {
      (void)stop_replica(dir, seconds(10));
    }
  }

  // Options for a replica named `name` running `/bin/sh -c script` in the release dir.
  SuperviseOptions options(const std::string& name, const std::string& script) {
    SuperviseOptions o;
    o.state_dir = m_tmp / name;
    o.workdir = m_work;
    o.env = "dev";
    o.release = "rel-1";
    o.replica = 2;
    o.port = ztp::testing::free_port();
    o.stop_timeout = seconds(5);
    o.command = {"/bin/sh", "-c", script};
    o.ztp_binary = ztp::testing::ztp_binary();
    m_dirs.push_back(o.state_dir);
    return o;
  }

  // The status, or a default one (state starting, pid 0) while it cannot be read.
  static ReplicaStatus status(const std::filesystem::path& dir) {
    auto s = read_replica_status(dir);
    return s ? *s : ReplicaStatus{};
  }

  static std::string file(const std::filesystem::path& p) {
    auto text = fs::read_file(p);
    return text ? *text : std::string();
  }

  ztp::testing::TempDir m_tmp;
  std::filesystem::path m_work;
  std::vector<std::filesystem::path> m_dirs;
};

TEST_F(SuperviseTest, RunsTheAppInItsWorkdirWithItsEnvironmentAndLogs) {
  auto o =
      options("env", R"(printf 'PORT=%s\nZTP_ENV=%s\nZTP_RELEASE=%s\nZTP_REPLICA=%s\nEXTRA=%s\n' \
      "$PORT" "$ZTP_ENV" "$ZTP_RELEASE" "$ZTP_REPLICA" "$EXTRA" > env.tmp && mv env.tmp env.out
echo to-stdout; echo to-stderr >&2
exec sleep 60)");
  o.env_vars = {{"EXTRA", "a b=c"}};
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;

  ReplicaStatus s = status(o.state_dir);
  EXPECT_EQ(s.supervisor_pid, *pid);
  EXPECT_EQ(s.state, ReplicaState::running);
  EXPECT_TRUE(process_alive(s.supervisor_pid, s.supervisor_start_time));
  EXPECT_TRUE(process_alive(s.pid, s.pid_start_time));
  EXPECT_EQ(s.port, o.port);
  EXPECT_EQ(s.command, o.command);
  EXPECT_TRUE(s.started_at.has_value());
  EXPECT_EQ(file(o.state_dir / "supervisor.pid"), std::to_string(*pid) + "\n");

  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(m_work / "env.out"); }, k_wait));
  EXPECT_EQ(file(m_work / "env.out"), "PORT=" + std::to_string(o.port) +
                                          "\nZTP_ENV=dev\nZTP_RELEASE=rel-1\nZTP_REPLICA=2\n"
                                          "EXTRA=a b=c\n");
  EXPECT_TRUE(wait_until(
      [&] { return file(o.state_dir / "stdout.log").find("to-stdout") != std::string::npos; },
      k_wait));
  EXPECT_TRUE(wait_until(
      [&] { return file(o.state_dir / "stderr.log").find("to-stderr") != std::string::npos; },
      k_wait));
}

TEST_F(SuperviseTest, RestartsAnAppKilledWithSigkill) {
  auto o = options("restart", "exec sleep 60");
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;
  ReplicaStatus first = status(o.state_dir);
  ASSERT_GT(first.pid, 0);
  ASSERT_EQ(::kill(first.pid, SIGKILL), 0);

  ASSERT_TRUE(wait_until(
      [&] {
        auto s = status(o.state_dir);
        return s.restarts == 1 && s.state == ReplicaState::running && s.pid != 0;
      },
      k_wait));
  ReplicaStatus s = status(o.state_dir);
  EXPECT_NE(s.pid, first.pid);
  EXPECT_TRUE(process_alive(s.pid, s.pid_start_time));
  ASSERT_TRUE(s.last_exit.has_value());
  EXPECT_EQ(s.last_exit->signal, SIGKILL);
  EXPECT_EQ(s.supervisor_pid, *pid);
}

TEST_F(SuperviseTest, AnAppThatExitsAtOnceEndsInCrashloopAndTheSupervisorStays) {
  auto o = options("crash", "echo boom >&2; exit 3");
  o.max_restarts = 2;
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;

  ASSERT_TRUE(
      wait_until([&] { return status(o.state_dir).state == ReplicaState::crashloop; }, k_wait));
  ReplicaStatus s = status(o.state_dir);
  EXPECT_EQ(s.restarts, 2);
  ASSERT_TRUE(s.last_exit.has_value());
  EXPECT_EQ(s.last_exit->code, 3);
  EXPECT_EQ(s.pid, 0);
  EXPECT_NE(s.error.find("crashed more than 2 times"), std::string::npos) << s.error;
  EXPECT_TRUE(process_alive(s.supervisor_pid, s.supervisor_start_time));
  EXPECT_NE(file(o.state_dir / "stderr.log").find("boom"), std::string::npos);

  ASSERT_TRUE(stop_replica(o.state_dir, seconds(10)));
  EXPECT_EQ(status(o.state_dir).state, ReplicaState::stopped);
  EXPECT_FALSE(process_alive(s.supervisor_pid, s.supervisor_start_time));
}

TEST_F(SuperviseTest, SigtermToTheSupervisorStopsTheAppGracefully) {
  auto o = options("term", R"(trap 'echo term > got-term; exit 0' TERM
echo ready > ready
while :; do sleep 0.05; done)");
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(m_work / "ready"); }, k_wait));
  ReplicaStatus before = status(o.state_dir);

  ASSERT_EQ(::kill(*pid, SIGTERM), 0);
  ASSERT_TRUE(wait_until(
      [&] { return !process_alive(before.supervisor_pid, before.supervisor_start_time); }, k_wait));
  ReplicaStatus s = status(o.state_dir);
  EXPECT_EQ(s.state, ReplicaState::stopped);
  EXPECT_EQ(s.pid, 0);
  ASSERT_TRUE(s.last_exit.has_value());
  EXPECT_EQ(s.last_exit->code, 0);
  EXPECT_EQ(file(m_work / "got-term"), "term\n");
  EXPECT_FALSE(process_alive(before.pid, before.pid_start_time));
}

TEST_F(SuperviseTest, AnAppIgnoringSigtermIsKilledAfterTheStopTimeout) {
  auto o = options("stubborn", R"(trap '' TERM
echo ready > stubborn-ready
while :; do sleep 0.05; done)");
  o.stop_timeout = milliseconds(300);
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;
  ASSERT_TRUE(
      wait_until([&] { return std::filesystem::exists(m_work / "stubborn-ready"); }, k_wait));
  ReplicaStatus before = status(o.state_dir);

  ASSERT_TRUE(stop_replica(o.state_dir, seconds(15)));
  ReplicaStatus s = status(o.state_dir);
  EXPECT_EQ(s.state, ReplicaState::stopped);
  ASSERT_TRUE(s.last_exit.has_value());
  EXPECT_EQ(s.last_exit->signal, SIGKILL);
  EXPECT_TRUE(s.error.empty()) << "the supervisor itself should have stopped it: " << s.error;
  EXPECT_FALSE(process_alive(before.pid, before.pid_start_time));
}

TEST_F(SuperviseTest, LogsRotateAtTheSizeLimit) {
  auto o = options("logs", "seq 1 1000; exec sleep 60");
  o.log_max_bytes = 1024;
  o.log_files = 2;
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;
  auto log = o.state_dir / "stdout.log";
  ASSERT_TRUE(wait_until(
      [&] {
        std::string text = file(log);
        return text.size() >= 5 && text.compare(text.size() - 5, 5, "1000\n") == 0;
      },
      k_wait));

  EXPECT_FALSE(std::filesystem::exists(log.string() + ".3"));
  std::string all;
  for (const auto& p : {log.string() + ".2", log.string() + ".1", log.string()}) {
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    EXPECT_LE(std::filesystem::file_size(p), 1024U) << p;
    all += file(p);
  }
  // What is kept is the tail of the output, in order and without gaps.
  std::istringstream lines(all);
  std::string line;
  std::vector<int> numbers;
  while (std::getline(lines, line)) {
    numbers.push_back(std::stoi(line));
  }
  ASSERT_FALSE(numbers.empty());
  EXPECT_GT(numbers.front(), 1) << "the oldest output must have been rotated away";
  EXPECT_EQ(numbers.back(), 1000);
  for (size_t i = 1; i < numbers.size(); ++i) {
    ASSERT_EQ(numbers[i], numbers[i - 1] + 1) << "gap after " << numbers[i - 1];
  }
}

TEST_F(SuperviseTest, AMissingExecutableFailsTheDetachWithTheReason) {
  auto o = options("noexec", "unused");
  auto r = ztp::testing::run_ztp(
      {"supervise", "--state-dir", o.state_dir.string(), "--workdir", m_work.string(), "--env",
       "dev", "--release", "rel-1", "--replica", "0", "--port", std::to_string(o.port), "--",
       "/nonexistent/app", "--flag"},
      {}, {}, seconds(60));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot execute '/nonexistent/app'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  ReplicaStatus s = status(o.state_dir);
  EXPECT_EQ(s.state, ReplicaState::stopped);
  EXPECT_TRUE(wait_until([&] { return !process_alive(s.supervisor_pid, s.supervisor_start_time); },
                         k_wait));
}

TEST_F(SuperviseTest, AMissingWorkdirFailsBeforeAnythingStarts) {
  auto o = options("nowork", "exec sleep 60");
  o.workdir = m_tmp / "no-such-release";
  auto r = spawn_supervisor(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find("no-such-release"), std::string::npos) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(o.state_dir / "status.json"));
}

TEST_F(SuperviseTest, ASecondSupervisorForTheSameReplicaIsRefused) {
  auto o = options("twice", "exec sleep 60");
  auto first = spawn_supervisor(o);
  ASSERT_TRUE(first) << first.error().message;
  auto second = spawn_supervisor(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_EQ(status(o.state_dir).supervisor_pid, *first);
}

TEST_F(SuperviseTest, KillingTheSupervisorTakesTheAppDown) {
  auto o = options("orphan", "exec sleep 60");
  auto pid = spawn_supervisor(o);
  ASSERT_TRUE(pid) << pid.error().message;
  ReplicaStatus s = status(o.state_dir);
  ASSERT_TRUE(process_alive(s.pid, s.pid_start_time));

  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return !process_alive(s.pid, s.pid_start_time); }, k_wait));
  EXPECT_TRUE(wait_until([&] { return !process_alive(s.supervisor_pid, s.supervisor_start_time); },
                         k_wait));
}

}  // namespace
}  // namespace ztp::target::local
