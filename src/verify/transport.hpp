#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ztp::verify {

// How a request ended before any expectation was looked at.
enum class TransportError {
  none,     // a response arrived (any status)
  refused,  // connection refused or reset: nothing listens there
  resolve,  // the host name did not resolve
  timeout,  // no complete response within the request's timeout
  tls,      // the TLS handshake or the certificate failed
  other,    // any other network failure (the text says which)
};

// One HTTP request of one attempt of a check.
struct Request {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host:port/path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{60'000};  // the whole exchange, connect included
};

// What one request produced: a response, or a transport error with its text.
struct Response {
  TransportError error = TransportError::none;
  std::string error_text;  // e.g. "connection refused"; empty when error is none
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;                                          // possibly truncated
  size_t body_bytes = 0;                                     // as received, before truncation
  std::chrono::milliseconds latency{0};                      // total time of the request
  // https: when the server's certificate expires (unknown: nullopt).
  std::optional<std::chrono::system_clock::time_point> cert_expiry;
};

// A finished request, with the id it was started with.
struct Completion {
  uint64_t id = 0;
  Response response;
};

// Sends HTTP requests concurrently. One owner drives it from one thread: start() any number of
// requests, then wait() repeatedly for them to finish. Every request completes exactly once,
// with a response or a transport error (its timeout included).
class Transport {
 public:
  virtual ~Transport() = default;
  // Starts `request` now; its completion carries `id`.
  virtual void start(uint64_t id, const Request& request) = 0;
  // Waits up to `timeout` for started requests to finish and returns those that did (possibly
  // none). Returns at once when nothing is in flight.
  virtual std::vector<Completion> wait(std::chrono::milliseconds timeout) = 0;
  // How many started requests have not completed yet.
  virtual size_t in_flight() const = 0;
};

}  // namespace ztp::verify
