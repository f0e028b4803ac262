#pragma once

#include <chrono>
#include <thread>

#include "util/clock.hpp"

namespace ztp::testing {

// The machine's clock run `factor` times faster from the moment it is made: a minute of AWS
// time passes in 60/factor real seconds, so a scenario with real delays (health checks every
// 30 s, a 300 s deregistration delay) finishes quickly while tests wait on conditions.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(
      double factor, std::chrono::system_clock::time_point start = std::chrono::system_clock::now())
      : m_factor(factor), m_wall_start(start) {}

  std::chrono::steady_clock::time_point now() const override { return m_steady_start + scaled(); }
  std::chrono::system_clock::time_point wall_now() const override {
    return m_wall_start + std::chrono::duration_cast<std::chrono::system_clock::duration>(scaled());
  }
  // Sleeps d/factor of real time.
  void sleep_for(Duration d) override {
    std::this_thread::sleep_for(
        std::chrono::duration<double, std::milli>(static_cast<double>(d.count()) / m_factor));
  }

 private:
  std::chrono::steady_clock::duration scaled() const {
    auto real = std::chrono::steady_clock::now() - m_steady_start;
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(real * m_factor);
  }

  double m_factor;
  std::chrono::system_clock::time_point m_wall_start;
  std::chrono::steady_clock::time_point m_steady_start = std::chrono::steady_clock::now();
};

}  // namespace ztp::testing
