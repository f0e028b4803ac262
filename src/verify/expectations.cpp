#include "verify/expectations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <vector>

#include "sys/time.hpp"
#include "util/text.hpp"

namespace ztp::verify {
namespace {

int rank(Errc code) {
  switch (code) {
    case Errc::unavailable:
      return 3;
    case Errc::timeout:
      return 2;
    case Errc::unhealthy:
      return 1;
    default:
      return 0;
  }
}

std::string quote(std::string_view text) {
  constexpr size_t k_max = 120;
  std::string out = "\"";
  for (char c : text.substr(0, k_max)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  if (text.size() > k_max) {
    out += "...";
  }
  out += '"';
  return out;
}

std::string expected_statuses(const std::vector<int>& codes) {
  std::string out;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (i > 0) {
      out += i + 1 == codes.size() ? " or " : ", ";
    }
    out += std::to_string(codes[i]);
  }
  return out;
}

std::string network_reason(const Response& r, std::string_view url) {
  std::string what = r.error_text;
  if (what.empty()) {
    switch (r.error) {
      case TransportError::refused:
        what = "connection refused";
        break;
      case TransportError::resolve:
        what = "could not resolve the host";
        break;
      case TransportError::timeout:
        what = fmt::format("no response within {} ms", r.latency.count());
        break;
      case TransportError::tls:
        what = "TLS failed";
        break;
      case TransportError::other:
      case TransportError::none:
        what = "request failed";
        break;
    }
  }
  return fmt::format("{} ({})", what, url);
}

// Collects failed expectations of one attempt.
class Failures {
 public:
  void add(Errc code, std::string text) {
    m_failure = m_parts.empty() ? code : most_serious(m_failure, code);
    m_parts.push_back(std::move(text));
  }
  Verdict verdict(const spec::Check& check) const {
    Verdict v;
    if (m_parts.empty()) {
      return v;
    }
    v.passed = false;
    v.failure = m_failure;
    v.reason = fmt::format("{} {}: {}", check.method, check.path, fmt::join(m_parts, "; "));
    return v;
  }

 private:
  std::vector<std::string> m_parts;
  Errc m_failure = Errc::unhealthy;
};

void check_headers(const spec::Check& check, const Response& r, Failures& failures) {
  for (const auto& e : check.expect_headers) {
    auto value = find_header(r.headers, e.name);
    if (!e.present) {
      if (value) {
        failures.add(Errc::unhealthy,
                     fmt::format("header {} present ({}), expected absent", e.name, quote(*value)));
      }
      continue;
    }
    if (!value) {
      failures.add(Errc::unhealthy, fmt::format("header {} missing", e.name));
      continue;
    }
    if (e.equals && *value != *e.equals) {
      failures.add(Errc::unhealthy, fmt::format("header {} is {}, expected {}", e.name,
                                                quote(*value), quote(*e.equals)));
    }
    if (e.matches) {
      bool ok = false;
      try {
        ok = std::regex_search(*value, std::regex(*e.matches));
      } catch (const std::regex_error& err) {
        failures.add(Errc::unhealthy, fmt::format("header {}: invalid regex /{}/: {}", e.name,
                                                  *e.matches, err.what()));
        continue;
      }
      if (!ok) {
        failures.add(Errc::unhealthy, fmt::format("header {} is {}, does not match /{}/", e.name,
                                                  quote(*value), *e.matches));
      }
    }
  }
}

void check_body(const spec::Check& check, const Response& r, Failures& failures) {
  for (const auto& needle : check.body_contains) {
    if (r.body.find(needle) == std::string::npos) {
      failures.add(Errc::unhealthy, fmt::format("body does not contain {} (got {} bytes)",
                                                quote(needle), r.body_bytes));
    }
  }
  if (check.body_regex) {
    try {
      if (!std::regex_search(r.body, std::regex(*check.body_regex))) {
        failures.add(Errc::unhealthy, fmt::format("body does not match /{}/ (got {} bytes)",
                                                  *check.body_regex, r.body_bytes));
      }
    } catch (const std::regex_error& err) {
      failures.add(Errc::unhealthy,
                   fmt::format("invalid body_regex /{}/: {}", *check.body_regex, err.what()));
    }
  }
}

void check_certificate(const spec::Check& check, const Response& r, std::string_view url,
                       std::chrono::system_clock::time_point now, Failures& failures) {
  if (!check.min_cert_days || url.substr(0, 8) != "https://") {
    return;
  }
  if (!r.cert_expiry) {
    failures.add(Errc::unhealthy, "certificate expiry unknown (the server sent no certificate)");
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::hours>(*r.cert_expiry - now);
  long days = static_cast<long>(std::chrono::floor<std::chrono::days>(left).count());
  if (days < *check.min_cert_days) {
    std::string date = sys::format_utc(*r.cert_expiry, "%Y-%m-%d");
    std::string when = days < 0 ? fmt::format("certificate expired {} days ago ({})", -days, date)
                                : fmt::format("certificate expires in {} days ({})", days, date);
    failures.add(Errc::unhealthy, fmt::format("{}, minimum {}", when, *check.min_cert_days));
  }
}

}  // namespace

Errc most_serious(Errc a, Errc b) { return rank(b) > rank(a) ? b : a; }

std::optional<std::string> find_header(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [key, value] : headers) {
    if (text::iequals(key, name)) {
      if (out) {
        *out += ", ";
        *out += value;
      } else {
        out = value;
      }
    }
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_cert_date(std::string_view text) {
  for (const char* format : {"%b %d %H:%M:%S %Y GMT", "%Y-%m-%d %H:%M:%S GMT"}) {
    if (auto at = sys::parse_utc(text, format); at.ok()) {
      return *at;
    }
  }
  return std::nullopt;
}

Verdict evaluate(const spec::Check& check, const Response& response, std::string_view url,
                 std::chrono::system_clock::time_point now) {
  Failures failures;
  const Response& r = response;
  if (r.error != TransportError::none) {
    if (r.error == TransportError::timeout && check.max_latency &&
        r.latency >= *check.max_latency) {
      failures.add(Errc::timeout, fmt::format("took more than {} ms, limit {} ms",
                                              r.latency.count(), check.max_latency->count()));
    } else {
      failures.add(r.error == TransportError::timeout ? Errc::timeout : Errc::unavailable,
                   network_reason(r, url));
    }
    return failures.verdict(check);
  }
  bool status_ok = check.expect_status.empty() ||
                   std::find(check.expect_status.begin(), check.expect_status.end(), r.status) !=
                       check.expect_status.end();
  if (!status_ok) {
    failures.add(Errc::unhealthy, fmt::format("status {}, expected {}", r.status,
                                              expected_statuses(check.expect_status)));
  } else {
    check_body(check, r, failures);
    check_headers(check, r, failures);
  }
  if (check.max_latency && r.latency > *check.max_latency) {
    failures.add(Errc::timeout, fmt::format("took {} ms, limit {} ms", r.latency.count(),
                                            check.max_latency->count()));
  }
  check_certificate(check, r, url, now, failures);
  return failures.verdict(check);
}

}  // namespace ztp::verify
