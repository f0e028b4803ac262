#include "verify/retry.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

namespace ztp::verify {

Random default_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

std::chrono::milliseconds backoff_delay(const spec::Retry& retry, int failed, double random) {
  double base = static_cast<double>(retry.interval.count());
  double cap = static_cast<double>(std::max(retry.max_interval, retry.interval).count());
  double delay = base * std::pow(std::max(retry.backoff, 1.0), std::max(failed - 1, 0));
  delay = std::min(delay, cap);
  if (retry.jitter) {
    double r = std::clamp(random, 0.0, 1.0);
    delay = delay / 2 + delay / 2 * r;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(delay)));
}

RetrySchedule::RetrySchedule(const spec::Retry& retry, TimePoint start, Random random)
    : m_retry(retry), m_deadline(start + retry.deadline), m_random(std::move(random)) {}

std::optional<RetrySchedule::TimePoint> RetrySchedule::after_failure(TimePoint now) {
  if (m_attempts >= m_retry.attempts) {
    m_stop = Stop::attempts;
    return std::nullopt;
  }
  double r = m_retry.jitter && m_random ? m_random() : 0.0;
  TimePoint next = now + backoff_delay(m_retry, m_attempts, r);
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
