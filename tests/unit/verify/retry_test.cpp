#include "verify/retry.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace ztp::verify {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

spec::Retry retry_without_jitter() {
  spec::Retry r;
  r.attempts = 10;
  r.interval = seconds(1);
  r.backoff = 2.0;
  r.max_interval = seconds(10);
  r.jitter = false;
  r.deadline = seconds(600);
  return r;
}

TEST(RetryTest, BackoffGrowsExponentiallyUpToTheCap) {
  auto r = retry_without_jitter();
  EXPECT_EQ(backoff_of(r).delay(1, 0.5), milliseconds(1000));
  EXPECT_EQ(backoff_of(r).delay(2, 0.5), milliseconds(2000));
  EXPECT_EQ(backoff_of(r).delay(3, 0.5), milliseconds(4000));
  EXPECT_EQ(backoff_of(r).delay(4, 0.5), milliseconds(8000));
  EXPECT_EQ(backoff_of(r).delay(5, 0.5), milliseconds(10000));
  EXPECT_EQ(backoff_of(r).delay(50, 0.5), milliseconds(10000));
}

TEST(RetryTest, BackoffOfOneKeepsTheIntervalConstant) {
  auto r = retry_without_jitter();
  r.backoff = 1.0;
  EXPECT_EQ(backoff_of(r).delay(1, 0), milliseconds(1000));
  EXPECT_EQ(backoff_of(r).delay(7, 0), milliseconds(1000));
}

TEST(RetryTest, JitterPicksBetweenHalfAndAllOfTheDelay) {
  auto r = retry_without_jitter();
  r.jitter = true;
  EXPECT_EQ(backoff_of(r).delay(3, 0.0), milliseconds(2000));
  EXPECT_EQ(backoff_of(r).delay(3, 0.5), milliseconds(3000));
  EXPECT_EQ(backoff_of(r).delay(3, 1.0), milliseconds(4000));
  // The cap applies before the jitter: a capped delay still spreads out.
  EXPECT_EQ(backoff_of(r).delay(9, 0.0), milliseconds(5000));
}

TEST(RetryTest, ScheduleStopsWhenAttemptsAreUsedUp) {
  ztp::testing::FakeClock clock;
  auto r = retry_without_jitter();
  r.attempts = 3;
  RetrySchedule schedule(r, clock.now(), nullptr);
  schedule.attempt_started();
  auto next = schedule.after_failure(clock.now());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - clock.now(), seconds(1));
  schedule.attempt_started();
  next = schedule.after_failure(clock.now() + seconds(1));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - clock.now(), seconds(3));
  schedule.attempt_started();
  EXPECT_FALSE(schedule.after_failure(clock.now() + seconds(3)).has_value());
  EXPECT_EQ(schedule.stop(), RetrySchedule::Stop::attempts);
  EXPECT_EQ(schedule.attempts(), 3);
}

TEST(RetryTest, ScheduleStopsWhenTheNextAttemptWouldPassTheDeadline) {
  ztp::testing::FakeClock clock;
  auto r = retry_without_jitter();
  r.deadline = milliseconds(2500);
  RetrySchedule schedule(r, clock.now(), nullptr);
  schedule.attempt_started();
  ASSERT_TRUE(schedule.after_failure(clock.now()).has_value());  // at 1s
  schedule.attempt_started();
  // The next would start at 1s + 2s = 3s, past the 2.5s deadline.
  EXPECT_FALSE(schedule.after_failure(clock.now() + seconds(1)).has_value());
  EXPECT_EQ(schedule.stop(), RetrySchedule::Stop::deadline);
}

TEST(RetryTest, ScheduleUsesTheInjectedRandomSource) {
  ztp::testing::FakeClock clock;
  auto r = retry_without_jitter();
  r.jitter = true;
  RetrySchedule schedule(r, clock.now(), [] { return 0.0; });
  schedule.attempt_started();
  auto next = schedule.after_failure(clock.now());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next - clock.now(), milliseconds(500));
}

TEST(RetryTest, RemainingTimeIsBoundedByTheDeadline) {
  ztp::testing::FakeClock clock;
  auto r = retry_without_jitter();
  r.deadline = seconds(5);
  RetrySchedule schedule(r, clock.now(), nullptr);
  EXPECT_EQ(schedule.remaining(clock.now()), seconds(5));
  EXPECT_EQ(schedule.remaining(clock.now() + seconds(4)), seconds(1));
  EXPECT_EQ(schedule.remaining(clock.now() + seconds(9)), milliseconds(1));
}

}  // namespace
}  // namespace ztp::verify
