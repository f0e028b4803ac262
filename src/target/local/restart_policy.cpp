#include "target/local/restart_policy.hpp"

#include "sys/backoff.hpp"

namespace ztp::target::local {

using std::chrono::milliseconds;

RestartPolicy::RestartPolicy(const Clock& clock, RestartLimits limits)
    : m_clock(clock), m_limits(limits) {}

void RestartPolicy::prune() const {
  auto horizon = m_clock.now() - m_limits.window;
  while (!m_crashes.empty() && m_crashes.front() <= horizon) {
    m_crashes.pop_front();
  }
}

int RestartPolicy::crashes_in_window() const {
  prune();
  return static_cast<int>(m_crashes.size());
}

std::optional<milliseconds> RestartPolicy::record_crash() {
  m_crashes.push_back(m_clock.now());
  prune();
  int n = static_cast<int>(m_crashes.size());
  if (n > m_limits.max_restarts) {
    return std::nullopt;
  }
  return sys::Backoff{m_limits.initial_backoff, 2.0, m_limits.max_backoff, false}.delay(n);
}

}  // namespace ztp::target::local
