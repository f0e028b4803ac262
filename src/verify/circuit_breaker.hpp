#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "util/result.hpp"

namespace ztp::verify {

// Fails checks fast against a base URL (scheme://host:port) that keeps failing. Closed, it lets
// every request through and counts consecutive failures; at the threshold it opens and refuses
// requests for `cool_down`; then it is half-open and lets exactly one trial through: a success
// closes it, a failure opens it again. The caller owns it, so successive suite runs against one
// environment share its state. Thread-safe.
class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  enum class State { closed, open, half_open };

  // The last failure that counted, to explain a refusal.
  struct LastFailure {
    Errc failure = Errc::unavailable;
    std::string reason;
  };

  explicit CircuitBreaker(std::chrono::milliseconds cool_down = std::chrono::seconds(30));

  // Whether a request to `base` may be sent at `now`; false: fail fast. In half-open state the
  // first caller gets the trial and later callers are refused until it is recorded.
  // `threshold` 0 disables the breaker for this request.
  bool allow(const std::string& base, int threshold, TimePoint now);
  // A request to `base` got an answer from a working server: closes the breaker.
  void record_success(const std::string& base);
  // A request to `base` failed (network, timeout or 5xx): counts towards `threshold`
  // consecutive failures and opens at it; reopens a half-open breaker.
  void record_failure(const std::string& base, int threshold, TimePoint now, LastFailure last);

  // The state of `base` at `now` (open turns half-open once the cool-down has passed).
  State state(const std::string& base, TimePoint now) const;
  // Consecutive failures counted for `base`.
  int failures(const std::string& base) const;
  // The failure that last counted against `base` (default when none).
  LastFailure last_failure(const std::string& base) const;
  std::chrono::milliseconds cool_down() const { return m_cool_down; }

 private:
  struct Entry {
    int failures = 0;
    bool open = false;
    bool trial_out = false;  // half-open: the one trial request is in flight
    TimePoint opened_at{};
    LastFailure last;
  };
  State state_of(const Entry& e, TimePoint now) const;

  std::chrono::milliseconds m_cool_down;
  mutable std::mutex m_mu;
  std::map<std::string, Entry> m_entries;
};

// Returns the name of a breaker state: "closed", "open", "half_open".
const char* state_name(CircuitBreaker::State state);

}  // namespace ztp::verify
