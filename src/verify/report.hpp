#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace ztp::verify {

// The outcome of one check after its retries.
struct CheckResult {
  std::string suite;
  std::string name;
  std::string method;
  std::string url;  // the URL requested
  bool passed = false;
  Errc failure = Errc::unhealthy;  // when failed: unavailable, unhealthy or timeout
  int attempts = 0;                // requests sent (0 when refused by an open circuit breaker)
  std::chrono::milliseconds latency{0};  // of the last request
  std::optional<int> status;             // of the last response, when one arrived
  std::string reason;                    // when failed: `GET /: status 500, expected 200`
};

// The outcome of one suite: its checks in the order of the suite.
struct SuiteResult {
  std::string name;
  std::vector<CheckResult> checks;

  bool passed() const;
  // The most serious class among the failed checks (see most_serious); unhealthy when none.
  Errc failure() const;
};

// The outcome of verifying one base URL with some suites.
struct Report {
  std::string base_url;
  std::vector<SuiteResult> suites;
  std::chrono::milliseconds elapsed{0};

  bool passed() const;
  Errc failure() const;
  // ok when every check passed; else the most serious class with a message listing the failed
  // checks' reasons, one per line.
  Result<void> to_result() const;
};

// JSON forms, as `ztp verify --output json` prints them.
nlohmann::json to_json(const CheckResult& result);
nlohmann::json to_json(const SuiteResult& result);
nlohmann::json to_json(const Report& report);

}  // namespace ztp::verify
