#pragma once

#include <chrono>
#include <mutex>

#include "util/clock.hpp"

namespace ztp::testing {

// A clock that moves only when told: sleep_for() and advance() move both the steady and the
// wall time.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    std::lock_guard lock(m_mu);
    return m_steady;
  }
  std::chrono::system_clock::time_point wall_now() const override {
    std::lock_guard lock(m_mu);
    return m_wall;
  }
  void sleep_for(Duration d) override { advance(d); }
  void advance(Duration d) {
    std::lock_guard lock(m_mu);
    m_steady += d;
    m_wall += d;
  }

 private:
  mutable std::mutex m_mu;
  std::chrono::steady_clock::time_point m_steady{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point m_wall{std::chrono::seconds(1'800'000'000)};
};

}  // namespace ztp::testing
