#include "verify/suites.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace ztp::verify {
namespace {

spec::Check builtin_check(std::string name, std::string path) {
  spec::Check check;
  check.name = std::move(name);
  check.method = "GET";
  check.path = std::move(path);
  return check;
}

spec::CheckSuite security_headers(bool https) {
  spec::Check check = builtin_check("security headers on /", "/");
  // Any status: the headers are judged on whatever `/` answers (smoke suites judge content).
  check.expect_status.clear();
  for (const auto& name : security_header_names(https)) {
    spec::HeaderExpectation e;
    e.name = name;
    check.expect_headers.push_back(std::move(e));
  }
  return spec::CheckSuite{"security_headers", {std::move(check)}, {}};
}

spec::CheckSuite error_pages(const Random& random) {
  uint64_t token = 0;
  for (int i = 0; i < 4; ++i) {
    token = (token << 16) | static_cast<uint64_t>(random() * 65536.0) % 65536;
  }
  spec::Check check =
      builtin_check("unknown path answers 404", fmt::format("/ztp-probe-{:016x}", token));
  check.expect_status = {404};
  return spec::CheckSuite{"error_pages", {std::move(check)}, {}};
}

std::string known_suites(const spec::Spec& spec) {
  std::string out;
  for (const auto& suite : spec.checks) {
    out += out.empty() ? "" : ", ";
    out += suite.name;
  }
  for (const auto& name : spec::builtin_suite_names()) {
    out += out.empty() ? "" : ", ";
    out += name + " (built in)";
  }
  return out;
}

}  // namespace

std::vector<std::string> security_header_names(bool https) {
  std::vector<std::string> names{"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                                 "Content-Security-Policy"};
  if (https) {
    names.emplace_back("Strict-Transport-Security");
  }
  return names;
}

std::optional<spec::CheckSuite> builtin_suite(std::string_view name, std::string_view base_url,
                                              const Random& random) {
  if (name == "security_headers") {
    return security_headers(base_url.rfind("https://", 0) == 0);
  }
  if (name == "error_pages") {
    return error_pages(random ? random : default_random());
  }
  return std::nullopt;
}

Result<spec::CheckSuite> resolve_suite(const spec::Spec& spec, const std::string& name,
                                       std::string_view base_url, const Random& random) {
  if (const auto* suite = spec.find_suite(name)) {
    return *suite;
  }
  if (auto suite = builtin_suite(name, base_url, random)) {
    return std::move(*suite);
  }
  return make_error(Errc::not_found, fmt::format("{}: no check suite `{}`; known: {}",
                                                 spec.file.string(), name, known_suites(spec)));
}

Result<std::vector<spec::CheckSuite>> environment_suites(const spec::Spec& spec,
                                                         const spec::Environment& env,
                                                         std::string_view base_url,
                                                         const Random& random) {
  std::vector<spec::CheckSuite> out;
  for (const auto& name : env.verify) {
    auto suite = resolve_suite(spec, name, base_url, random);
    if (!suite.ok()) {
      Error e = suite.take_error();
      e.message = fmt::format("environment {}: {}", env.name, e.message);
      return e;
    }
    out.push_back(std::move(*suite));
  }
  return out;
}

}  // namespace ztp::verify
