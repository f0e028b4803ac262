#include "proxy/health_check.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace ztp::proxy {
namespace {

using std::chrono::milliseconds;

HealthConfig config(int rise, int fall) {
  HealthConfig c;
  c.interval = milliseconds(1000);
  c.healthy_threshold = rise;
  c.unhealthy_threshold = fall;
  return c;
}

TEST(HealthCheckTest, NewBackendStartsUnhealthyWithAProbeDue) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.due());
}

TEST(HealthCheckTest, RisesAfterHealthyThresholdPasses) {
  testing::FakeClock clock;
  HealthCheck h(config(2, 3), clock);
  EXPECT_FALSE(h.record(true));
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.record(true));
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.consecutive_successes(), 2);
}

TEST(HealthCheckTest, AFailureResetsTheRise) {
  testing::FakeClock clock;
  HealthCheck h(config(2, 3), clock);
  h.record(true);
  h.record(false, "status 500");
  h.record(true);
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.last_error(), "status 500");
  h.record(true);
  EXPECT_TRUE(h.healthy());
}

TEST(HealthCheckTest, FallsAfterUnhealthyThresholdFailures) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  h.record(true);
  ASSERT_TRUE(h.healthy());
  EXPECT_FALSE(h.record(false, "timeout after 1000 ms"));
  EXPECT_FALSE(h.record(false, "timeout after 1000 ms"));
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.record(false, "timeout after 1000 ms"));
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.consecutive_failures(), 3);
}

TEST(HealthCheckTest, ASuccessResetsTheFall) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 2), clock);
  h.record(true);
  h.record(false);
  h.record(true);
  h.record(false);
  EXPECT_TRUE(h.healthy());
}

TEST(HealthCheckTest, EjectionIsImmediate) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  h.record(true);
  EXPECT_TRUE(h.eject("connect: Connection refused"));
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.last_error(), "connect: Connection refused");
  EXPECT_EQ(h.consecutive_successes(), 0);
  EXPECT_TRUE(h.record(true));
  EXPECT_TRUE(h.healthy());
}

TEST(HealthCheckTest, ProbesFollowTheInterval) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  h.probe_started();
  EXPECT_FALSE(h.due());
  clock.advance(milliseconds(999));
  EXPECT_FALSE(h.due());
  clock.advance(milliseconds(1));
  EXPECT_TRUE(h.due());
}

TEST(HealthCheckTest, ReconfiguringKeepsTheState) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  h.record(true);
  h.configure(config(5, 1));
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.record(false));
  EXPECT_FALSE(h.healthy());
}

TEST(HealthCheckTest, AShorterIntervalTakesEffectAtOnce) {
  testing::FakeClock clock;
  HealthCheck h(config(1, 3), clock);
  h.probe_started();
  HealthConfig faster = config(1, 3);
  faster.interval = milliseconds(100);
  h.configure(faster);
  clock.advance(milliseconds(100));
  EXPECT_TRUE(h.due());
}

}  // namespace
}  // namespace ztp::proxy
