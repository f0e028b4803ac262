#pragma once

#include <chrono>
#include <deque>
#include <optional>

#include "util/clock.hpp"

namespace ztp::target::local {

// Limits of the restart policy.
struct RestartLimits {
  int max_restarts = 5;  // more crashes than this within `window` is a crash loop
  std::chrono::milliseconds window = std::chrono::seconds(60);
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(100);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(10);
};

// When to restart a crashed app. The delay doubles with each crash inside the window
// (initial, 2x, 4x, ... capped at max_backoff), so it shrinks again once old crashes age out;
// more than max_restarts crashes inside the window is a crash loop.
class RestartPolicy {
 public:
  RestartPolicy(const Clock& clock, RestartLimits limits);
  // Records a crash now: the delay before the next start, or nullopt for a crash loop.
  std::optional<std::chrono::milliseconds> record_crash();
  // Crashes recorded within the window before now.
  int crashes_in_window() const;

 private:
  void prune() const;

  const Clock& m_clock;
  RestartLimits m_limits;
  mutable std::deque<std::chrono::steady_clock::time_point> m_crashes;
};

}  // namespace ztp::target::local
