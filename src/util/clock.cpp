#include "util/clock.hpp"

#include <thread>

namespace ztp {

std::chrono::steady_clock::time_point SystemClock::now() const {
  return std::chrono::steady_clock::now();
}

std::chrono::system_clock::time_point SystemClock::wall_now() const {
  return std::chrono::system_clock::now();
}

void SystemClock::sleep_for(Duration d) { std::this_thread::sleep_for(d); }

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace ztp
