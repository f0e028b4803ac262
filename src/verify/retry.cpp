#include "verify/retry.hpp"

#include <algorithm>

namespace ztp::verify {

sys::Backoff backoff_of(const spec::Retry& retry) {
  return sys::Backoff{retry.interval, retry.backoff, retry.max_interval, retry.jitter};
}

RetrySchedule::RetrySchedule(const spec::Retry& retry, TimePoint start, Random random)
    : m_retry(retry), m_deadline(start + retry.deadline), m_random(std::move(random)) {}

std::optional<RetrySchedule::TimePoint> RetrySchedule::after_failure(TimePoint now) {
  if (m_attempts >= m_retry.attempts) {
    m_stop = Stop::attempts;
    return std::nullopt;
  }
  double r = m_retry.jitter && m_random ? m_random() : 0.0;
  TimePoint next = now + backoff_of(m_retry).delay(m_attempts, r);
  if (next >= m_deadline) {
    m_stop = Stop::deadline;
    return std::nullopt;
  }
  return next;
}

std::chrono::milliseconds RetrySchedule::remaining(TimePoint now) const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - now);
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace ztp::verify
