#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"
#include "verify/circuit_breaker.hpp"
#include "verify/report.hpp"
#include "verify/retry.hpp"
#include "verify/transport.hpp"

namespace ztp::verify {

// Runs check suites against a base URL: every check of every suite at once, each with its own
// retry loop (spec::Retry), through `transport`, timed by `clock`, guarded by `breaker`. The
// references must outlive the Verifier; one run at a time per Verifier.
class Verifier {
 public:
  Verifier(Transport& transport, Clock& clock, CircuitBreaker& breaker,
           Random random = default_random());

  // Runs `suites` against `base_url` (`http://127.0.0.1:8081`, no trailing path) until every
  // check has passed or given up. A check path that is a full URL is requested as written.
  Report run(const std::vector<spec::CheckSuite>& suites, const std::string& base_url);

 private:
  Transport& m_transport;
  Clock& m_clock;
  CircuitBreaker& m_breaker;
  Random m_random;
};

// Runs `suites` against `base_url` over libcurl with the system clock (see Verifier::run).
// `breaker` keeps its state across calls; pass the same one for one environment.
Report verify(const std::vector<spec::CheckSuite>& suites, const std::string& base_url,
              CircuitBreaker& breaker);

// `base_url` joined with a check's `path`; a path that is already an http(s) URL is returned
// as it is.
std::string url_for(std::string_view base_url, std::string_view path);

// The scheme://host[:port] part of `url`, which the circuit breaker keys on.
std::string origin_of(std::string_view url);

// The URL a listen address (`127.0.0.1:8081`, `0.0.0.0:80`, `[::]:8080`) is reached at from
// this machine: `http://127.0.0.1:8081`; a wildcard host becomes the loopback address.
// Errc::invalid when `listen` is not host:port.
Result<std::string> base_url_for_listen(std::string_view listen);

}  // namespace ztp::verify
