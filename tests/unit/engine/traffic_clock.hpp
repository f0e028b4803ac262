#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "support/fake_clock.hpp"
#include "support/fake_target.hpp"

namespace ztp::testing {

// How one release answers the synthetic traffic.
struct Behaviour {
  double error_ratio = 0;
  double latency_ms = 5;
};

// The fake clock, with a steady load through the front door: while time passes (in 100 ms
// ticks), `rps` requests per simulated second are split among the release sets by their current
// weights and counted in the fake target's per-release counters.
class TrafficClock final : public Clock {
 public:
  TrafficClock(FakeClock& clock, FakeTarget& target, std::string env = "dev")
      : m_clock(clock), m_target(target), m_env(std::move(env)) {}

  int rps = 100;
  std::map<std::string, Behaviour> behaviour;
  // Called after each tick's traffic, e.g. to change a release's behaviour at some time.
  std::function<void()> on_tick;

  std::chrono::steady_clock::time_point now() const override { return m_clock.now(); }
  std::chrono::system_clock::time_point wall_now() const override { return m_clock.wall_now(); }
  void sleep_for(Duration d) override {
    while (d.count() > 0) {
      Duration tick = std::min<Duration>(d, std::chrono::milliseconds(100));
      m_clock.advance(tick);
      d -= tick;
      serve(tick);
      if (on_tick) {
        on_tick();
      }
    }
  }

 private:
  void serve(Duration tick) {
    auto weights = m_target.weights(m_env);
    int total = 0;
    for (const auto& [_, w] : weights) {
      total += w;
    }
    if (total == 0) {
      return;
    }
    for (const auto& [release, w] : weights) {
      auto& pending = m_pending[release];
      pending.requests += rps * (static_cast<double>(tick.count()) / 1000) * w / total;
      auto requests = static_cast<uint64_t>(std::floor(pending.requests + 1e-9));
      pending.requests -= static_cast<double>(requests);
      pending.errors += static_cast<double>(requests) * behaviour[release].error_ratio;
      auto errors = static_cast<uint64_t>(std::floor(pending.errors + 1e-9));
      pending.errors -= static_cast<double>(errors);
      if (requests > 0) {
        m_target.serve(release, requests, errors, behaviour[release].latency_ms);
      }
    }
  }

  struct Pending {
    double requests = 0;
    double errors = 0;
  };
  FakeClock& m_clock;
  FakeTarget& m_target;
  std::string m_env;
  std::map<std::string, Pending> m_pending;
};

}  // namespace ztp::testing
