#include "verify/circuit_breaker.hpp"

namespace ztp::verify {

CircuitBreaker::CircuitBreaker(std::chrono::milliseconds cool_down) : m_cool_down(cool_down) {}

CircuitBreaker::State CircuitBreaker::state_of(const Entry& e, TimePoint now) const {
  if (!e.open) {
    return State::closed;
  }
  return now - e.opened_at >= m_cool_down ? State::half_open : State::open;
}

bool CircuitBreaker::allow(const std::string& base, int threshold, TimePoint now) {
  if (threshold <= 0) {
    return true;
  }
  std::lock_guard lock(m_mu);
  auto it = m_entries.find(base);
  if (it == m_entries.end()) {
    return true;
  }
  Entry& e = it->second;
  switch (state_of(e, now)) {
    case State::closed:
      return true;
    case State::open:
      return false;
    case State::half_open:
      if (e.trial_out) {
        return false;
      }
      e.trial_out = true;
      return true;
  }
  return true;
}

void CircuitBreaker::record_success(const std::string& base) {
  std::lock_guard lock(m_mu);
  auto it = m_entries.find(base);
  if (it != m_entries.end()) {
    it->second = Entry{};
  }
}

void CircuitBreaker::record_failure(const std::string& base, int threshold, TimePoint now,
                                    LastFailure last) {
  std::lock_guard lock(m_mu);
  Entry& e = m_entries[base];
  e.failures += 1;
  e.last = std::move(last);
  // Opens at the threshold; once open, a failed trial (or a straggler that was in flight when
  // it opened) restarts the cool-down.
  if (e.open || (threshold > 0 && e.failures >= threshold)) {
    e.open = true;
    e.opened_at = now;
    e.trial_out = false;
  }
}

CircuitBreaker::State CircuitBreaker::state(const std::string& base, TimePoint now) const {
  std::lock_guard lock(m_mu);
  auto it = m_entries.find(base);
  return it == m_entries.end() ? State::closed : state_of(it->second, now);
}

int CircuitBreaker::failures(const std::string& base) const {
  std::lock_guard lock(m_mu);
  auto it = m_entries.find(base);
  return it == m_entries.end() ? 0 : it->second.failures;
}

CircuitBreaker::LastFailure CircuitBreaker::last_failure(const std::string& base) const {
  std::lock_guard lock(m_mu);
  auto it = m_entries.find(base);
  return it == m_entries.end() ? LastFailure{} : it->second.last;
}

const char* state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::closed:
      return "closed";
    case CircuitBreaker::State::open:
      return "open";
    case CircuitBreaker::State::half_open:
      return "half_open";
  }
  return "closed";
}

}  // namespace ztp::verify
