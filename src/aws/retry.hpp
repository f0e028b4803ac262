#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

#include "aws/aws_error.hpp"
#include "sys/backoff.hpp"
#include "util/result.hpp"

// The AWS SDKs' "standard" retry mode, which every call to AWS goes through:
//  - at most 3 attempts, the first included (AWS_MAX_ATTEMPTS or a profile's max_attempts
//    change it; the caller reads those and gives the number);
//  - retried: throttling errors (the SDKs' codes: Throttling, ThrottlingException,
//    ThrottledException, RequestThrottledException, TooManyRequestsException,
//    ProvisionedThroughputExceededException, TransactionInProgressException,
//    RequestLimitExceeded, BandwidthLimitExceeded, LimitExceededException, RequestThrottled,
//    SlowDown, PriorRequestNotComplete, EC2ThrottledException; or HTTP 429), transient errors
//    (RequestTimeout, RequestTimeoutException, HTTP 500, 502, 503, 504) and calls that got no
//    answer; nothing else (a 400 ValidationException is final);
//  - the wait before retry i (1 for the first) is min(r * 2^(i-1), 20 s), r uniform in [0, 1);
//  - a retry quota, a token bucket of 500 shared by a client's calls: a retry takes 5 tokens
//    (10 after no answer: a timeout or connection error); a successful call gives back what
//    its last retry took, or 1 when it did not retry, up to 500; without enough tokens the
//    call does not retry, so a failing service is not hammered.
// AWS_RETRY_MODE "legacy" and "adaptive" are accepted and run as standard: legacy differs only
// in the quota's costs and backoff bases, and adaptive adds a client-side rate limiter that a
// deploy tool making a few calls a second does not need. Clock-skew correction, which the
// SDKs add, is not done: a refused signature is reported, not retried.
namespace ztp::aws {

// The retry settings of one client.
struct RetryOptions {
  int max_attempts = 3;  // the first attempt included; 1 never retries
};

// The settings from a retry mode ("standard", "legacy", "adaptive"; empty: standard) and a
// max attempts value (a whole number from 1 up; empty: 3), as AWS_RETRY_MODE and
// AWS_MAX_ATTEMPTS (or a profile's retry_mode and max_attempts) give them. invalid for other
// values, naming `where` ("AWS_MAX_ATTEMPTS").
Result<RetryOptions> retry_options(std::string_view mode, std::string_view max_attempts,
                                   std::string_view where = "the retry settings");

// How a failed attempt counts for retrying.
enum class RetryKind {
  final,       // not retryable
  throttling,  // a throttling code or HTTP 429
  transient,   // RequestTimeout(Exception), HTTP 500/502/503/504
  no_answer,   // the request got no answer (timeout, refused, reset)
};

// The kind of `error` (AwsError::status 0 is no answer).
RetryKind retry_kind(const AwsError& error);

// The token bucket of the retry quota; thread-safe, so clients may share one.
class RetryQuota {
 public:
  static constexpr int k_capacity = 500;
  static constexpr int k_retry_cost = 5;
  static constexpr int k_no_answer_cost = 10;
  static constexpr int k_success_increment = 1;

  // Takes the cost of one retry after a failure of `kind`; 0 (taking nothing) when the bucket
  // holds less than that.
  int acquire(RetryKind kind);
  // Records a successful call: gives back `cost` (what its last retry took), or
  // k_success_increment when it is 0; the bucket never exceeds k_capacity.
  void release(int cost);
  // The tokens in the bucket.
  int available() const;

 private:
  mutable std::mutex m_mu;
  int m_tokens = k_capacity;
};

// The wait before retry `retry` (1 for the first): min(random * 2^(retry-1) s, 20 s), with
// `random` in [0, 1).
std::chrono::milliseconds retry_backoff(int retry, double random);

// What to do after a failed attempt.
struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};  // to wait before the next attempt
  std::string_view why_not{};          // when not: "not retryable", "attempts used up", ...
};

// The standard mode for one client: its attempts, quota and random source.
class RetryStrategy {
 public:
  // `quota` may be shared with other clients; nullptr gives this one its own.
  explicit RetryStrategy(RetryOptions options = {}, sys::Random random = nullptr,
                         std::shared_ptr<RetryQuota> quota = nullptr);

  int max_attempts() const { return m_options.max_attempts; }
  const RetryQuota& quota() const { return *m_quota; }

  // After attempt `attempt` (1-based) of a call failed with `error`: whether to try again and
  // after how long. A retry takes its tokens now; `call_cost` (per call, 0 at its start)
  // receives what it took.
  RetryDecision after_failure(int attempt, const AwsError& error, int& call_cost);
  // After the call succeeded: gives back `call_cost`, or 1 when it is 0.
  void after_success(int call_cost);

 private:
  RetryOptions m_options;
  sys::Random m_random;
  std::shared_ptr<RetryQuota> m_quota;
};

}  // namespace ztp::aws
