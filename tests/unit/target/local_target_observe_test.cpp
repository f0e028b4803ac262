// How LocalTarget reads one replica from its supervisor's status and the proxy's health checks.
#include <gtest/gtest.h>

#include "target/local/local_target_impl.hpp"

namespace ztp::target::local {
namespace {

ReplicaStatus running_on(int port) {
  ReplicaStatus s;
  s.state = ReplicaState::running;
  s.release = "1";
  s.port = port;
  return s;
}

proxy::BackendHealth backend(std::string state, int port, int failures = 0) {
  proxy::BackendHealth b;
  b.id = "prod-r1-2";
  b.address = "127.0.0.1:" + std::to_string(port);
  b.release = "1";
  b.state = std::move(state);
  b.consecutive_failures = failures;
  return b;
}

// A release started again reuses its replicas' ids. Until the proxy routes the new process, the
// only entry with that id may be the drained backend of the process that ran before, on another
// port: it says nothing of the new one, which is starting, not draining.
TEST(ObserveReplicaTest, ADrainedBackendOfAnEarlierProcessWithTheSameIdDoesNotDescribeIt) {
  auto r =
      detail::observe_replica("prod-r1-2", running_on(24365), true, {backend("drained", 26781)});
  EXPECT_EQ(r.state, Replica::State::starting);
  EXPECT_EQ(r.address, "127.0.0.1:24365");
}

TEST(ObserveReplicaTest, TheEntryAtTheReplicasAddressDecidesItsState) {
  std::vector<proxy::BackendHealth> health{backend("healthy", 24365), backend("drained", 26781)};
  EXPECT_EQ(detail::observe_replica("prod-r1-2", running_on(24365), true, health).state,
            Replica::State::healthy);
  EXPECT_EQ(detail::observe_replica("prod-r1-2", running_on(26781), true, health).state,
            Replica::State::draining);
}

TEST(ObserveReplicaTest, AFailedCheckIsUnhealthyButNoCheckYetIsStarting) {
  auto failed = backend("unhealthy", 24365, 2);
  failed.last_error = "connection refused";
  auto r = detail::observe_replica("prod-r1-2", running_on(24365), true, {failed});
  EXPECT_EQ(r.state, Replica::State::unhealthy);
  EXPECT_EQ(r.detail, "connection refused");
  EXPECT_EQ(detail::observe_replica("prod-r1-2", running_on(24365), true,
                                    {backend("unhealthy", 24365, 0)})
                .state,
            Replica::State::starting);
}

TEST(ObserveReplicaTest, ADeadSupervisorIsStoppedWhateverTheProxySays) {
  EXPECT_EQ(
      detail::observe_replica("prod-r1-2", running_on(24365), false, {backend("healthy", 24365)})
          .state,
      Replica::State::stopped);
}

}  // namespace
}  // namespace ztp::target::local
