#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/result.hpp"
#include "verify/retry.hpp"

namespace ztp::verify {

// The security headers every page must carry: X-Frame-Options, X-Content-Type-Options,
// Referrer-Policy, Content-Security-Policy, and Strict-Transport-Security when `https`.
std::vector<std::string> security_header_names(bool https);

// The definition of built-in suite `name` for a base URL (its scheme decides whether
// Strict-Transport-Security is expected); `random` picks the unknown path of `error_pages`
// (`/ztp-probe-<16 hex digits>`). nullopt when `name` is not built in.
std::optional<spec::CheckSuite> builtin_suite(std::string_view name, std::string_view base_url,
                                              const Random& random = default_random());

// Suite `name` as `spec` defines it under `checks`, else the built-in one. Errc::not_found
// naming the known suites (defined and built in) when it is neither.
Result<spec::CheckSuite> resolve_suite(const spec::Spec& spec, const std::string& name,
                                       std::string_view base_url,
                                       const Random& random = default_random());

// The suites `env` verifies (its `verify` list, in order), resolved with resolve_suite.
Result<std::vector<spec::CheckSuite>> environment_suites(const spec::Spec& spec,
                                                         const spec::Environment& env,
                                                         std::string_view base_url,
                                                         const Random& random = default_random());

}  // namespace ztp::verify
