#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "target/local/local_target.hpp"
#include "util/result.hpp"

// The maintenance mode of an environment's front door on the local target: the proxy answers
// every request with a 503 maintenance page and Retry-After while the routes and the replicas
// stay as they are (ztp isolate / restore).
namespace ztp::target::local {

// The maintenance page of one environment, as the proxy keeps it.
struct FrontDoorMaintenance {
  std::string message;  // shown on the page; empty: a generic sentence
  int retry_after_s = 300;
  int64_t since_ms = 0;  // unix milliseconds when the page went up
};

// Puts the front door of `env` in maintenance (starting the proxy when it is down), or changes
// its page when it already is; returns it as applied. not_found when the proxy serves no
// routes for `env` (nothing was deployed there).
Result<FrontDoorMaintenance> enter_maintenance(LocalTarget& target, const std::string& env,
                                               const std::string& message, int retry_after_s);

// Takes the front door of `env` out of maintenance; false when it was not in maintenance or
// the proxy serves no routes for `env`.
Result<bool> leave_maintenance(LocalTarget& target, const std::string& env);

}  // namespace ztp::target::local
