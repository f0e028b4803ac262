#pragma once

#include <chrono>
#include <string>

#include "proxy/routes.hpp"
#include "util/clock.hpp"

namespace ztp::proxy {

// The health state machine of one backend (no I/O): a new backend starts unhealthy with its
// first probe due at once; `healthy_threshold` consecutive passes make it healthy,
// `unhealthy_threshold` consecutive failures (or one passive ejection) make it unhealthy.
// Used by the control thread only.
class HealthCheck {
 public:
  HealthCheck(HealthConfig config, const Clock& clock);

  // Takes new thresholds and interval, keeping the current state and counts.
  void configure(const HealthConfig& config);
  const HealthConfig& config() const { return m_config; }

  // True when the next probe is due.
  bool due() const;
  // Marks a probe as started: the next one is due one interval from now.
  void probe_started();
  // Records a probe's outcome (`error` says why it failed); true when the state changed.
  bool record(bool ok, const std::string& error = {});
  // A connection to the backend failed on the request path: unhealthy at once.
  // True when the state changed.
  bool eject(const std::string& error);

  // Starts healthy (a proxy taking over inherits the verdict of the one it replaces); the
  // next probe is one interval away.
  void assume_healthy();

  bool healthy() const { return m_healthy; }
  int consecutive_successes() const { return m_successes; }
  int consecutive_failures() const { return m_failures; }
  const std::string& last_error() const { return m_last_error; }

 private:
  HealthConfig m_config;
  const Clock& m_clock;
  bool m_healthy = false;
  int m_successes = 0;
  int m_failures = 0;
  std::string m_last_error;
  std::chrono::steady_clock::time_point m_next_due;
};

}  // namespace ztp::proxy
