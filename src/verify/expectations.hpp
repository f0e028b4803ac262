#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "spec/spec.hpp"
#include "util/result.hpp"
#include "verify/transport.hpp"

namespace ztp::verify {

// The judgement of one attempt of a check.
struct Verdict {
  bool passed = true;
  // When failed: unavailable (network), unhealthy (an expectation), timeout (max_latency or
  // no response in time); the most serious when several expectations failed.
  Errc failure = Errc::unhealthy;
  // When failed: every failed expectation, after `METHOD path: `, joined by "; ", e.g.
  // `GET /: status 500, expected 200` or `GET /: header Content-Security-Policy missing`.
  std::string reason;
};

// Judges `response` against the expectations of `check`. `url` is the requested URL (named in
// network failures); `now` is the wall time the certificate's days left are counted from. A
// failed status skips the body and header expectations (an error page is not the content).
Verdict evaluate(const spec::Check& check, const Response& response, std::string_view url,
                 std::chrono::system_clock::time_point now);

// The more serious of two failure classes: unavailable > timeout > unhealthy > anything else.
Errc most_serious(Errc a, Errc b);

// The value of header `name` (case-insensitive) in `headers`; repeated headers are joined with
// ", ". nullopt when absent.
std::optional<std::string> find_header(
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name);

// Parses a certificate date as libcurl reports it in CURLINFO_CERTINFO ("Expire date"):
// `Jan  1 00:00:00 2030 GMT` (OpenSSL) or `2030-01-01 00:00:00 GMT`. nullopt when unreadable.
std::optional<std::chrono::system_clock::time_point> parse_cert_date(std::string_view text);

}  // namespace ztp::verify
