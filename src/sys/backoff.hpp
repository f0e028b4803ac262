#pragma once

#include <chrono>
#include <functional>

// Exponential backoff with optional jitter, and the random source that spreads it.
namespace ztp::sys {

// A source of uniform random numbers in [0, 1), injected so jitter is reproducible in tests.
using Random = std::function<double()>;

// A Random seeded from the operating system.
Random default_random();

// The waits between attempts of something that failed.
struct Backoff {
  std::chrono::milliseconds initial{1000};  // after the first failure
  double multiplier = 2.0;                  // between one wait and the next (at least 1)
  std::chrono::milliseconds max{30000};     // no wait is longer (at least `initial`)
  bool jitter = false;                      // "equal jitter": a uniform share of half to all

  // The wait after the `failed`-th failure (1-based): initial * multiplier^(failed-1), capped
  // at max; with jitter, between half of it and all of it as `random` in [0, 1) says.
  std::chrono::milliseconds delay(int failed, double random = 0.0) const;
};

}  // namespace ztp::sys
