#include "target/local/restart_policy.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ztp::testing::FakeClock;

RestartLimits limits(int max_restarts, milliseconds window) {
  return RestartLimits{max_restarts, window, milliseconds(100), seconds(10)};
}

TEST(RestartPolicyTest, BackoffDoublesFromTheInitialDelay) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(10, seconds(60)));
  std::vector<milliseconds> delays;
  for (int i = 0; i < 4; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value());
    delays.push_back(*d);
    clock.advance(*d);
  }
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                               milliseconds(400), milliseconds(800)}));
}

TEST(RestartPolicyTest, BackoffIsCappedAtTheMaximum) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(20, std::chrono::hours(1)));
  milliseconds last{0};
  for (int i = 0; i < 15; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value());
    last = *d;
    clock.advance(*d);
  }
  EXPECT_EQ(last, seconds(10));
}

TEST(RestartPolicyTest, MoreCrashesThanAllowedWithinTheWindowIsACrashLoop) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(3, seconds(60)));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(policy.record_crash().has_value()) << "crash " << i + 1;
    clock.advance(seconds(1));
  }
  EXPECT_FALSE(policy.record_crash().has_value());
}

TEST(RestartPolicyTest, CrashesSpreadBeyondTheWindowNeverLoop) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(2, seconds(10)));
  for (int i = 0; i < 20; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value()) << "crash " << i + 1;
    clock.advance(seconds(6));
  }
  EXPECT_EQ(policy.crashes_in_window(), 1);
}

TEST(RestartPolicyTest, BackoffShrinksOnceOldCrashesAgeOut) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(10, seconds(30)));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(policy.record_crash().has_value());
    clock.advance(seconds(1));
  }
  clock.advance(seconds(31));
  EXPECT_EQ(policy.crashes_in_window(), 0);
  EXPECT_EQ(policy.record_crash(), milliseconds(100));
}

TEST(RestartPolicyTest, ZeroRestartsLoopsOnTheFirstCrash) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(0, seconds(60)));
  EXPECT_FALSE(policy.record_crash().has_value());
}

}  // namespace
}  // namespace ztp::target::local
