#include "sys/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>

namespace ztp::sys {

Random default_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

std::chrono::milliseconds Backoff::delay(int failed, double random) const {
  double base = static_cast<double>(initial.count());
  double cap = static_cast<double>(std::max(max, initial).count());
  double wait = base * std::pow(std::max(multiplier, 1.0), std::max(failed - 1, 0));
  wait = std::min(wait, cap);
  if (jitter) {
    double r = std::clamp(random, 0.0, 1.0);
    wait = wait / 2 + wait / 2 * r;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(wait)));
}

}  // namespace ztp::sys
