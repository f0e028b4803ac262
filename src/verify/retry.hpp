#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "spec/spec.hpp"
#include "sys/backoff.hpp"

namespace ztp::verify {

using sys::default_random;
using sys::Random;

// A check's retry settings as a backoff: interval * backoff^(failed-1), capped at
// max_interval, with "equal jitter" when jitter is on, so retries of many checks spread out.
sys::Backoff backoff_of(const spec::Retry& retry);

// The retry loop of one check as pure decisions over time: when to try again after a failure,
// and when to give up (attempts used up, or the next attempt would start at or past the
// deadline).
class RetrySchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Why the schedule gave up.
  enum class Stop { attempts, deadline };

  // The first attempt starts at `start`; the deadline is start + retry.deadline.
  RetrySchedule(const spec::Retry& retry, TimePoint start, Random random);

  // Records that an attempt starts.
  void attempt_started() { ++m_attempts; }
  // After a failed attempt that ended at `now`: when the next one starts, or nullopt to give
  // up (stop() then says why).
  std::optional<TimePoint> after_failure(TimePoint now);
  // The longest the attempt starting at `now` may last: what is left until the deadline (at
  // least 1 ms).
  std::chrono::milliseconds remaining(TimePoint now) const;

  int attempts() const { return m_attempts; }
  TimePoint deadline() const { return m_deadline; }
  Stop stop() const { return m_stop; }

 private:
  spec::Retry m_retry;
  TimePoint m_deadline;
  Random m_random;
  int m_attempts = 0;
  Stop m_stop = Stop::attempts;
};

}  // namespace ztp::verify
