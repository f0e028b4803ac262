#include "verify/report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "verify/expectations.hpp"

namespace ztp::verify {

bool SuiteResult::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.passed; });
}

Errc SuiteResult::failure() const {
  bool any = false;
  Errc worst = Errc::unhealthy;
  for (const auto& c : checks) {
    if (!c.passed) {
      worst = any ? most_serious(worst, c.failure) : c.failure;
      any = true;
    }
  }
  return worst;
}

bool Report::passed() const {
  return std::all_of(suites.begin(), suites.end(), [](const SuiteResult& s) { return s.passed(); });
}

Errc Report::failure() const {
  bool any = false;
  Errc worst = Errc::unhealthy;
  for (const auto& s : suites) {
    if (!s.passed()) {
      worst = any ? most_serious(worst, s.failure()) : s.failure();
      any = true;
    }
  }
  return worst;
}

Result<void> Report::to_result() const {
  if (passed()) {
    return {};
  }
  std::string message = fmt::format("verification of {} failed:", base_url);
  for (const auto& s : suites) {
    for (const auto& c : s.checks) {
      if (!c.passed) {
        message += fmt::format("\n  {} / {}: {}", s.name, c.name, c.reason);
      }
    }
  }
  return make_error(failure(), message);
}

nlohmann::json to_json(const CheckResult& r) {
  nlohmann::json j{{"suite", r.suite},
                   {"name", r.name},
                   {"method", r.method},
                   {"url", r.url},
                   {"passed", r.passed},
                   {"attempts", r.attempts},
                   {"latency_ms", r.latency.count()}};
  j["status"] = r.status ? nlohmann::json(*r.status) : nlohmann::json(nullptr);
  if (!r.passed) {
    j["failure"] = errc_name(r.failure);
    j["reason"] = r.reason;
  }
  return j;
}

nlohmann::json to_json(const SuiteResult& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks) {
    checks.push_back(to_json(c));
  }
  nlohmann::json j{{"name", r.name}, {"passed", r.passed()}, {"checks", checks}};
  if (!r.passed()) {
    j["failure"] = errc_name(r.failure());
  }
  return j;
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json suites = nlohmann::json::array();
  for (const auto& s : r.suites) {
    suites.push_back(to_json(s));
  }
  nlohmann::json j{{"url", r.base_url},
                   {"passed", r.passed()},
                   {"elapsed_ms", r.elapsed.count()},
                   {"suites", suites}};
  if (!r.passed()) {
    j["failure"] = errc_name(r.failure());
  }
  return j;
}

}  // namespace ztp::verify
