#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "spec/spec.hpp"

namespace ztp::verify {

// A source of uniform random numbers in [0, 1), injected so jitter is reproducible in tests.
using Random = std::function<double()>;

// A Random seeded from the operating system.
Random default_random();

// The wait after the `failed`-th failed attempt (1-based) before the next one:
// interval * backoff^(failed-1), capped at max_interval; with jitter, a uniform share of it
// between half and all of it ("equal jitter"), so retries of many checks spread out but never
// come back at once. `random` is in [0, 1).
std::chrono::milliseconds backoff_delay(const spec::Retry& retry, int failed, double random);

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
