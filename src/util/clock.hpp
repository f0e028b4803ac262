#pragma once

#include <chrono>

namespace ztp {

// Time source injected wherever timing matters (retry, backoff, pauses, analysis, health
// transitions), so tests drive time with a fake instead of sleeping.
class Clock {
 public:
  using Duration = std::chrono::milliseconds;
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and intervals.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock time, for records and display.
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
  // Blocks for `d` (a fake advances its time instead).
  virtual void sleep_for(Duration d) = 0;
};

// The real clocks of the machine.
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wall_now() const override;
  void sleep_for(Duration d) override;
};

// The process-wide system clock.
Clock& system_clock();

}  // namespace ztp
