#pragma once

#include <functional>
#include <string>

#include "util/result.hpp"

namespace ztp::engine {

// Runs an environment's check suites against `base_url` (`http://127.0.0.1:8081`, no trailing
// path). An error (Errc::unhealthy for a failed check) carries the failed checks' reasons,
// which the strategies quote in their own error. An empty VerifyFn verifies nothing.
using VerifyFn = std::function<Result<void>(const std::string& base_url)>;

}  // namespace ztp::engine
