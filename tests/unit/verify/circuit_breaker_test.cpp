#include "verify/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace ztp::verify {
namespace {

using State = CircuitBreaker::State;
using std::chrono::seconds;

const std::string k_base = "http://127.0.0.1:8081";

CircuitBreaker::LastFailure refused() {
  return {Errc::unavailable, "GET /: connection refused (http://127.0.0.1:8081/)"};
}

TEST(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker(seconds(30));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.allow(k_base, 3, clock.now()));
    breaker.record_failure(k_base, 3, clock.now(), refused());
  }
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::closed);
  breaker.record_failure(k_base, 3, clock.now(), refused());
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::open);
  EXPECT_FALSE(breaker.allow(k_base, 3, clock.now()));
  EXPECT_EQ(breaker.failures(k_base), 3);
  EXPECT_EQ(breaker.last_failure(k_base).failure, Errc::unavailable);
}

TEST(CircuitBreakerTest, SuccessResetsTheCount) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker;
  breaker.record_failure(k_base, 3, clock.now(), refused());
  breaker.record_failure(k_base, 3, clock.now(), refused());
  breaker.record_success(k_base);
  breaker.record_failure(k_base, 3, clock.now(), refused());
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::closed);
  EXPECT_EQ(breaker.failures(k_base), 1);
}

TEST(CircuitBreakerTest, HalfOpenAfterCoolDownLetsOneTrialThrough) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker(seconds(30));
  breaker.record_failure(k_base, 1, clock.now(), refused());
  clock.advance(seconds(29));
  EXPECT_FALSE(breaker.allow(k_base, 1, clock.now()));
  clock.advance(seconds(1));
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::half_open);
  EXPECT_TRUE(breaker.allow(k_base, 1, clock.now()));
  EXPECT_FALSE(breaker.allow(k_base, 1, clock.now())) << "only one trial at a time";
}

TEST(CircuitBreakerTest, SuccessfulTrialCloses) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker(seconds(30));
  breaker.record_failure(k_base, 1, clock.now(), refused());
  clock.advance(seconds(30));
  ASSERT_TRUE(breaker.allow(k_base, 1, clock.now()));
  breaker.record_success(k_base);
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::closed);
  EXPECT_TRUE(breaker.allow(k_base, 1, clock.now()));
  EXPECT_TRUE(breaker.allow(k_base, 1, clock.now()));
  EXPECT_EQ(breaker.failures(k_base), 0);
}

TEST(CircuitBreakerTest, FailedTrialReopensForAnotherCoolDown) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker(seconds(30));
  breaker.record_failure(k_base, 1, clock.now(), refused());
  clock.advance(seconds(30));
  ASSERT_TRUE(breaker.allow(k_base, 1, clock.now()));
  breaker.record_failure(k_base, 1, clock.now(), refused());
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::open);
  clock.advance(seconds(29));
  EXPECT_FALSE(breaker.allow(k_base, 1, clock.now()));
  clock.advance(seconds(1));
  EXPECT_TRUE(breaker.allow(k_base, 1, clock.now()));
}

TEST(CircuitBreakerTest, ThresholdZeroNeverOpens) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker;
  for (int i = 0; i < 100; ++i) {
    breaker.record_failure(k_base, 0, clock.now(), refused());
  }
  EXPECT_EQ(breaker.state(k_base, clock.now()), State::closed);
  EXPECT_TRUE(breaker.allow(k_base, 0, clock.now()));
}

TEST(CircuitBreakerTest, BaseUrlsAreIndependent) {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker;
  breaker.record_failure(k_base, 1, clock.now(), refused());
  EXPECT_FALSE(breaker.allow(k_base, 1, clock.now()));
  EXPECT_TRUE(breaker.allow("http://127.0.0.1:9082", 1, clock.now()));
  EXPECT_EQ(breaker.state("http://127.0.0.1:9082", clock.now()), State::closed);
}

}  // namespace
}  // namespace ztp::verify
