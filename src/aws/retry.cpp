#include "aws/retry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "util/text.hpp"

namespace ztp::aws {
namespace {

constexpr double k_max_backoff_ms = 20'000;

}  // namespace

Result<RetryOptions> retry_options(std::string_view mode, std::string_view max_attempts,
                                   std::string_view where) {
  RetryOptions options;
  std::string m = text::to_lower(text::trim(mode));
  if (!m.empty() && m != "standard" && m != "legacy" && m != "adaptive") {
    return make_error(
        Errc::invalid,
        fmt::format("{}: retry mode '{}' is not one of standard, legacy, adaptive", where, mode));
  }
  std::string_view n = text::trim(max_attempts);
  if (!n.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), value);
    if (ec != std::errc() || end != n.data() + n.size() || value < 1) {
      return make_error(Errc::invalid,
                        fmt::format("{}: max attempts '{}' is not a whole number from 1 up", where,
                                    max_attempts));
    }
    options.max_attempts = value;
  }
  return options;
}

RetryKind retry_kind(const AwsError& error) {
  if (error.status == 0) {
    return RetryKind::no_answer;
  }
  if (is_throttling(error)) {
    return RetryKind::throttling;
  }
  if (error.code == "RequestTimeout" || error.code == "RequestTimeoutException" ||
      error.status == 500 || error.status == 502 || error.status == 503 || error.status == 504) {
    return RetryKind::transient;
  }
  return RetryKind::final;
}

int RetryQuota::acquire(RetryKind kind) {
  int cost = kind == RetryKind::no_answer ? k_no_answer_cost : k_retry_cost;
  std::lock_guard lock(m_mu);
  if (m_tokens < cost) {
    return 0;
  }
  m_tokens -= cost;
  return cost;
}

void RetryQuota::release(int cost) {
  std::lock_guard lock(m_mu);
  m_tokens = std::min(k_capacity, m_tokens + (cost > 0 ? cost : k_success_increment));
}

int RetryQuota::available() const {
  std::lock_guard lock(m_mu);
  return m_tokens;
}

std::chrono::milliseconds retry_backoff(int retry, double random) {
  double r = std::clamp(random, 0.0, 1.0);
  // Past 2^15 s the cap holds anyway; the exponent is bounded so it stays finite.
  double ms = r * std::ldexp(1000.0, std::clamp(retry - 1, 0, 15));
  return std::chrono::milliseconds(static_cast<long long>(std::min(ms, k_max_backoff_ms)));
}

RetryStrategy::RetryStrategy(RetryOptions options, sys::Random random,
                             std::shared_ptr<RetryQuota> quota)
    : m_options(options),
      m_random(random ? std::move(random) : sys::default_random()),
      m_quota(quota ? std::move(quota) : std::make_shared<RetryQuota>()) {}

RetryDecision RetryStrategy::after_failure(int attempt, const AwsError& error, int& call_cost) {
  RetryKind kind = retry_kind(error);
  if (kind == RetryKind::final) {
    return {false, {}, "not retryable"};
  }
  if (attempt >= m_options.max_attempts) {
    return {false, {}, "attempts used up"};
  }
  int cost = m_quota->acquire(kind);
  if (cost == 0) {
    return {false, {}, "retry quota exhausted"};
  }
  call_cost = cost;
  return {true, retry_backoff(attempt, m_random()), {}};
}

void RetryStrategy::after_success(int call_cost) { m_quota->release(call_cost); }

}  // namespace ztp::aws
