#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace ztp::artifact {

// How long a registry request may take: `connect` to open the connection, `stall` without a
// single byte moving either way (the transfer is then abandoned with Errc::timeout).
struct RegistryTimeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::seconds stall{30};
};

// One HTTP request to a registry or its token server.
struct HttpRequest {
  std::string method = "GET";        // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;                   // absolute
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // sent as is (with its Content-Length) unless GET or HEAD
  bool follow_redirects = false;     // only blob and manifest reads may be redirected
  std::int64_t max_body = 0;         // 0: no limit; else a longer answer is an error
};

// The answer: status, reason phrase, headers of the final response (names lower-cased) and body.
struct HttpResponse {
  long status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first value of header `lower_name`, or empty.
  std::string header(std::string_view lower_name) const;
};

// A libcurl easy handle reused across requests, so one registry connection is kept alive.
// Not thread-safe: one session per thread.
class HttpSession {
 public:
  HttpSession();
  ~HttpSession();
  HttpSession(HttpSession&&) noexcept;
  HttpSession& operator=(HttpSession&&) noexcept;

  void set_timeouts(RegistryTimeouts timeouts) { m_timeouts = timeouts; }
  // Bypasses any configured HTTP proxy (for loopback registries).
  void set_no_proxy(bool no_proxy) { m_no_proxy = no_proxy; }

  // Performs `req`. A transport failure is an error whose message is the cause alone ("Connection
  // refused", "no data moved for 30 s"): unavailable when the peer cannot be reached or broke
  // the connection, timeout when a deadline passed, invalid when the answer exceeded max_body.
  // Any HTTP status is a successful transfer.
  Result<HttpResponse> perform(const HttpRequest& req);

 private:
  void* m_curl = nullptr;  // CURL*
  RegistryTimeouts m_timeouts;
  bool m_no_proxy = false;
};

// `reference` (an absolute URL, a network-path "//host/p", an absolute path "/p" or a relative
// one) resolved against `base` as RFC 3986 says. invalid when either is not a URL.
Result<std::string> resolve_url(const std::string& base, const std::string& reference);

// `url` with `key=value` added to its query (after '&' when it already has one), the value
// percent-encoded.
Result<std::string> append_query(const std::string& url, std::string_view key,
                                 std::string_view value);

// `text` percent-encoded for a URL query value.
std::string url_escape(std::string_view text);

}  // namespace ztp::artifact
