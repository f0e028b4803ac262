#include "aws/retry.hpp"

#include <gtest/gtest.h>

namespace ztp::aws {
namespace {

using std::chrono::milliseconds;

AwsError failure(std::string code, long status) {
  AwsError e;
  e.code = std::move(code);
  e.status = status;
  return e;
}

TEST(RetryTest, OptionsFromModeAndMaxAttempts) {
  EXPECT_EQ(retry_options("", "")->max_attempts, 3);
  EXPECT_EQ(retry_options("standard", "5")->max_attempts, 5);
  EXPECT_EQ(retry_options("legacy", "")->max_attempts, 3);
  EXPECT_EQ(retry_options(" Adaptive ", " 1 ")->max_attempts, 1);
  auto bad_mode = retry_options("turbo", "", "AWS_RETRY_MODE");
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_EQ(bad_mode.error().code, Errc::invalid);
  EXPECT_NE(bad_mode.error().message.find("AWS_RETRY_MODE"), std::string::npos);
  EXPECT_FALSE(retry_options("", "0").ok());
  EXPECT_FALSE(retry_options("", "-2").ok());
  EXPECT_FALSE(retry_options("", "3x").ok());
}

TEST(RetryTest, KindsOfFailure) {
  EXPECT_EQ(retry_kind(failure("ThrottlingException", 400)), RetryKind::throttling);
  EXPECT_EQ(retry_kind(failure("RequestLimitExceeded", 503)), RetryKind::throttling);
  EXPECT_EQ(retry_kind(failure("", 429)), RetryKind::throttling);
  EXPECT_EQ(retry_kind(failure("RequestTimeout", 400)), RetryKind::transient);
  EXPECT_EQ(retry_kind(failure("RequestTimeoutException", 408)), RetryKind::transient);
  for (long status : {500L, 502L, 503L, 504L}) {
    EXPECT_EQ(retry_kind(failure("InternalFailure", status)), RetryKind::transient) << status;
  }
  EXPECT_EQ(retry_kind(failure("", 0)), RetryKind::no_answer);
  EXPECT_EQ(retry_kind(failure("ValidationException", 400)), RetryKind::final);
  EXPECT_EQ(retry_kind(failure("AccessDeniedException", 400)), RetryKind::final);
  EXPECT_EQ(retry_kind(failure("NotImplemented", 501)), RetryKind::final);
}

TEST(RetryTest, QuotaDrainsAndRefills) {
  RetryQuota quota;
  EXPECT_EQ(quota.available(), 500);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(quota.acquire(RetryKind::throttling), 5) << i;
  }
  EXPECT_EQ(quota.available(), 0);
  EXPECT_EQ(quota.acquire(RetryKind::transient), 0);
  EXPECT_EQ(quota.available(), 0);
  quota.release(5);  // a call that retried once succeeded
  EXPECT_EQ(quota.available(), 5);
  EXPECT_EQ(quota.acquire(RetryKind::no_answer), 0);  // a timeout's retry needs 10
  quota.release(0);                                   // a call that did not retry succeeded
  EXPECT_EQ(quota.available(), 6);
  for (int i = 0; i < 600; ++i) {
    quota.release(0);
  }
  EXPECT_EQ(quota.available(), 500);  // never above the capacity

  RetryQuota timeouts;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(timeouts.acquire(RetryKind::no_answer), 10);
  }
  EXPECT_EQ(timeouts.acquire(RetryKind::no_answer), 0);
}

TEST(RetryTest, BackoffBounds) {
  EXPECT_EQ(retry_backoff(1, 0.0), milliseconds(0));
  EXPECT_EQ(retry_backoff(1, 0.5), milliseconds(500));
  EXPECT_EQ(retry_backoff(1, 0.9999), milliseconds(999));
  EXPECT_EQ(retry_backoff(2, 0.5), milliseconds(1000));
  EXPECT_EQ(retry_backoff(3, 0.75), milliseconds(3000));
  EXPECT_EQ(retry_backoff(5, 0.9999), milliseconds(15998));
  EXPECT_EQ(retry_backoff(6, 0.9999), milliseconds(20000));
  EXPECT_EQ(retry_backoff(100, 0.5), milliseconds(20000));
  for (int retry = 1; retry <= 40; ++retry) {
    for (double r : {0.0, 0.3, 0.999999}) {
      auto d = retry_backoff(retry, r);
      EXPECT_GE(d, milliseconds(0));
      EXPECT_LE(d, milliseconds(20000));
    }
  }
}

TEST(RetryTest, StrategyRetriesThrottlingNotValidation) {
  RetryStrategy strategy({3}, [] { return 0.5; });
  int cost = 0;
  RetryDecision first = strategy.after_failure(1, failure("ThrottlingException", 400), cost);
  EXPECT_TRUE(first.retry);
  EXPECT_EQ(first.delay, milliseconds(500));
  EXPECT_EQ(cost, 5);
  RetryDecision second = strategy.after_failure(2, failure("", 503), cost);
  EXPECT_TRUE(second.retry);
  EXPECT_EQ(second.delay, milliseconds(1000));
  EXPECT_EQ(strategy.quota().available(), 490);
  RetryDecision third = strategy.after_failure(3, failure("", 503), cost);
  EXPECT_FALSE(third.retry);
  EXPECT_EQ(third.why_not, "attempts used up");
  EXPECT_EQ(strategy.quota().available(), 490);
  strategy.after_success(cost);
  EXPECT_EQ(strategy.quota().available(), 495);

  int other = 0;
  RetryDecision validation = strategy.after_failure(1, failure("ValidationException", 400), other);
  EXPECT_FALSE(validation.retry);
  EXPECT_EQ(validation.why_not, "not retryable");
  EXPECT_EQ(other, 0);
  EXPECT_EQ(strategy.quota().available(), 495);
}

TEST(RetryTest, NoTokensNoRetry) {
  auto quota = std::make_shared<RetryQuota>();
  while (quota->acquire(RetryKind::throttling) != 0) {
  }
  RetryStrategy a(
      {5}, [] { return 0.0; }, quota);
  RetryStrategy b(
      {5}, [] { return 0.0; }, quota);
  int cost = 0;
  RetryDecision d = a.after_failure(1, failure("Throttling", 400), cost);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.why_not, "retry quota exhausted");
  b.after_success(0);
  b.after_success(0);
  b.after_success(0);
  b.after_success(0);
  b.after_success(0);
  EXPECT_EQ(quota->available(), 5);  // the clients share the bucket
  EXPECT_TRUE(a.after_failure(1, failure("Throttling", 400), cost).retry);
  EXPECT_EQ(quota->available(), 0);
  EXPECT_EQ(RetryStrategy().max_attempts(), 3);
}

}  // namespace
}  // namespace ztp::aws
