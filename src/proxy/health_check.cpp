#include "proxy/health_check.hpp"

namespace ztp::proxy {

HealthCheck::HealthCheck(HealthConfig config, const Clock& clock)
    : m_config(std::move(config)), m_clock(clock), m_next_due(clock.now()) {}

void HealthCheck::configure(const HealthConfig& config) {
  if (config.interval < m_config.interval) {
    auto sooner = m_clock.now() + config.interval;
    if (sooner < m_next_due) {
      m_next_due = sooner;
    }
  }
  m_config = config;
}

bool HealthCheck::due() const { return m_clock.now() >= m_next_due; }

void HealthCheck::probe_started() { m_next_due = m_clock.now() + m_config.interval; }

bool HealthCheck::record(bool ok, const std::string& error) {
  bool was = m_healthy;
  if (ok) {
    ++m_successes;
    m_failures = 0;
    if (!m_healthy && m_successes >= m_config.healthy_threshold) {
      m_healthy = true;
    }
  } else {
    ++m_failures;
    m_successes = 0;
    m_last_error = error;
    if (m_healthy && m_failures >= m_config.unhealthy_threshold) {
      m_healthy = false;
    }
  }
  return was != m_healthy;
}

void HealthCheck::assume_healthy() {
  m_healthy = true;
  m_successes = m_config.healthy_threshold;
  m_failures = 0;
  m_next_due = m_clock.now() + m_config.interval;
}

bool HealthCheck::eject(const std::string& error) {
  bool was = m_healthy;
  m_healthy = false;
  m_successes = 0;
  ++m_failures;
  m_last_error = error;
  return was;
}

}  // namespace ztp::proxy
