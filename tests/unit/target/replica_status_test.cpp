#include "target/local/replica_status.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "support/support.hpp"
#include "target/local/process.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

ReplicaStatus sample_status() {
  ReplicaStatus s;
  s.supervisor_pid = 4321;
  s.supervisor_start_time = 987654321;
  s.pid = 4400;
  s.pid_start_time = 987654400;
  s.state = ReplicaState::backoff;
  s.restarts = 3;
  s.last_exit =
      LastExit{std::nullopt, 9, system_clock::time_point(milliseconds(1'800'000'000'123))};
  s.started_at = system_clock::time_point(milliseconds(1'799'999'000'456));
  s.env = "prod";
  s.release = "sha256:abc";
  s.replica = 2;
  s.port = 20002;
  s.command = {"/bin/sh", "-c", "echo 'hi there'"};
  s.workdir = "/srv/releases/abc";
  s.error = "";
  return s;
}

TEST(ReplicaStatusTest, JsonRoundTripKeepsEveryField) {
  ReplicaStatus s = sample_status();
  auto back = status_from_json(status_to_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(ReplicaStatusTest, JsonRoundTripWithoutExitOrStart) {
  ReplicaStatus s = sample_status();
  s.last_exit.reset();
  s.started_at.reset();
  s.state = ReplicaState::crashloop;
  s.last_exit = LastExit{3, std::nullopt, system_clock::time_point(milliseconds(5))};
  s.error = "the app crashed";
  auto back = status_from_json(status_to_json(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(ReplicaStatusTest, EveryStateNameParsesBack) {
  for (auto st : {ReplicaState::starting, ReplicaState::running, ReplicaState::backoff,
                  ReplicaState::crashloop, ReplicaState::stopping, ReplicaState::stopped}) {
    auto parsed = parse_replica_state(replica_state_name(st));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, st);
  }
  EXPECT_FALSE(parse_replica_state("exploded"));
}

TEST(ReplicaStatusTest, MalformedJsonIsInvalid) {
  auto r = status_from_json("{\"pid\": \"x\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_FALSE(status_from_json("not json"));
}

TEST(ReplicaStatusTest, ReadingAMissingStatusIsNotFound) {
  ztp::testing::TempDir dir;
  auto r = read_replica_status(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(ReplicaStatusTest, ReadsTheStatusFileOfADirectory) {
  ztp::testing::TempDir dir;
  ASSERT_TRUE(fs::atomic_write(dir / "status.json", status_to_json(sample_status())));
  auto r = read_replica_status(dir.path());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->port, 20002);
}

TEST(ReplicaStatusTest, StoppingADirectoryWithoutStatusIsFine) {
  ztp::testing::TempDir dir;
  EXPECT_TRUE(stop_replica(dir.path(), milliseconds(100)));
}

TEST(ProcessAliveTest, TrueForThisProcessWithItsStartTime) {
  auto start = process_start_time(::getpid());
  ASSERT_TRUE(start);
  EXPECT_TRUE(process_alive(::getpid(), *start));
}

TEST(ProcessAliveTest, FalseWithAWrongStartTime) {
  auto start = process_start_time(::getpid());
  ASSERT_TRUE(start);
  EXPECT_FALSE(process_alive(::getpid(), *start + 1));
}

TEST(ProcessAliveTest, FalseForANonexistentPid) {
  EXPECT_FALSE(process_alive(0, 0));
  EXPECT_FALSE(process_alive(-1, 0));
  EXPECT_FALSE(process_alive(std::numeric_limits<pid_t>::max(), 0));
}

TEST(SuperviseArgsTest, CarriesEveryOptionAndTheCommandAfterDashes) {
  SuperviseOptions o;
  o.state_dir = "/srv/state";
  o.workdir = "/srv/app";
  o.env = "qa";
  o.release = "r7";
  o.replica = 1;
  o.port = 20001;
  o.stop_timeout = milliseconds(1500);
  o.env_vars = {{"A", "b=c"}};
  o.command = {"./server", "--flag"};
  auto args = supervise_args(o);
  ASSERT_GE(args.size(), 4U);
  EXPECT_EQ(args.front(), "supervise");
  auto dashes = std::find(args.begin(), args.end(), "--");
  ASSERT_NE(dashes, args.end());
  EXPECT_EQ(std::vector<std::string>(dashes + 1, args.end()), o.command);
  auto at = [&](const std::string& flag) {
    auto it = std::find(args.begin(), args.end(), flag);
    return it == args.end() || it + 1 == args.end() ? std::string("<none>") : *(it + 1);
  };
  EXPECT_EQ(ztp::parse_duration(at("--stop-timeout")).value_or(milliseconds(0)),
            milliseconds(1500));
  EXPECT_EQ(at("--env-var"), "A=b=c");
  EXPECT_EQ(at("--port"), "20001");
}

}  // namespace
}  // namespace ztp::target::local
