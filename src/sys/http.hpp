#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sys/backoff.hpp"
#include "util/result.hpp"

// The one HTTP client of the project, on libcurl: a blocking session that keeps its connection
// alive (registries, notifications, cloud APIs), retries with backoff and Retry-After on top of
// it, and a multi-transfer driver for many requests at once (verification probes). Proxies come
// from the environment (http_proxy, https_proxy, no_proxy) and are never used for loopback.
namespace ztp::sys {

// One HTTP request.
struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE, ...
  std::string url;             // absolute
  std::vector<std::pair<std::string, std::string>> headers;  // an empty value sends "Name:"
  // The body, sent as is with its Content-Length when the method is not GET or HEAD, or when
  // it is not empty. The caller keeps the bytes alive until the request is done.
  std::string_view body;
  // Streams the body instead: called until it returns 0, filling at most `capacity` bytes of
  // `buffer`; `upload_size` bytes in all. A streamed upload is never retried.
  std::function<size_t(char* buffer, size_t capacity)> upload;
  std::int64_t upload_size = 0;
  bool follow_redirects = false;  // at most 5, http and https only
  // How much of the answer's body is kept: 0 means all; past it the transfer fails with
  // too_long, or with `truncate` the rest is counted (body_bytes) but not kept.
  std::int64_t max_body = 0;
  bool truncate = false;
  // Streams the answer's body here instead of into HttpResponse::body; returning false stops
  // the transfer (failure `stopped`). A streamed download is never retried.
  std::function<bool(std::string_view chunk)> on_body;
};

// The final answer (after redirects and 100 Continue).
struct HttpResponse {
  long status = 0;
  std::string reason;                                        // "Accepted"
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  std::int64_t body_bytes = 0;           // received, including what was not kept
  std::chrono::milliseconds elapsed{0};  // the whole exchange
  std::string cert_expiry;  // https with HttpOptions::cert_info: the server certificate's
                            // "Expire date" as libcurl prints it ("Jan  1 00:00:00 2030 GMT")

  // The first value of header `name`, compared without case; empty when absent.
  std::string header(std::string_view name) const;
};

// How long an exchange may take and how it connects.
struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{0};  // the whole exchange; 0: no limit
  std::chrono::seconds stall{0};         // abandon when no byte moves for this long; 0: never
  bool fresh_connection = false;         // a new connection, closed after (no reuse)
  bool cert_info = false;                // read the server certificate's expiry (https)
  bool direct = false;                   // never through a proxy, whatever the environment says
  std::string user_agent = "zerotouch";
  const std::atomic<bool>* cancel = nullptr;  // when it turns true, the transfer stops
};

// Why an exchange produced no answer.
struct HttpFailure {
  enum class Kind {
    refused,    // connection refused, reset or closed without an answer
    resolve,    // the host name did not resolve
    timeout,    // a deadline of HttpOptions passed
    tls,        // the TLS handshake or the certificate failed
    too_long,   // the body is longer than max_body
    cancelled,  // HttpOptions::cancel turned true
    stopped,    // on_body returned false
    other,      // anything else (the text says what)
  };
  Kind kind = Kind::other;
  std::string text;  // the cause alone, e.g. "connection refused"

  // As an Error: unavailable (no answer; retrying may help), timeout, or invalid (too_long,
  // stopped); the message is the text.
  Error error() const;
};

// A libcurl handle reused across requests, so one connection to a server is kept alive. Not
// thread-safe: one session per thread.
class HttpSession {
 public:
  HttpSession();
  ~HttpSession();
  HttpSession(HttpSession&&) noexcept;
  HttpSession& operator=(HttpSession&&) noexcept;

  // Performs one exchange. Any HTTP status is a response; an exchange without one is an
  // HttpFailure's error().
  Result<HttpResponse> perform(const HttpRequest& req, const HttpOptions& options);
  // The same, keeping the failure's kind.
  std::variant<HttpResponse, HttpFailure> exchange(const HttpRequest& req,
                                                   const HttpOptions& options);

 private:
  void* m_curl = nullptr;  // CURL*
};

// Many exchanges at once over one libcurl multi handle, driven from one thread: start() any
// number, then wait() repeatedly; each completes exactly once.
class HttpMulti {
 public:
  struct Completion {
    std::uint64_t id = 0;
    HttpResponse response;               // what arrived (elapsed is always set)
    std::optional<HttpFailure> failure;  // set when no answer came
  };

  HttpMulti();
  ~HttpMulti();
  HttpMulti(const HttpMulti&) = delete;
  HttpMulti& operator=(const HttpMulti&) = delete;

  // Starts `req` (its body is copied) now; its completion carries `id`.
  void start(std::uint64_t id, const HttpRequest& req, const HttpOptions& options);
  // Waits up to `timeout` for exchanges to finish and returns those that did (possibly none).
  std::vector<Completion> wait(std::chrono::milliseconds timeout);
  // Started exchanges not yet returned by wait().
  size_t in_flight() const;

 private:
  struct Transfer;
  void* m_multi;                                           // CURLM*
  std::map<void*, std::unique_ptr<Transfer>> m_transfers;  // by CURL*
  std::vector<Completion> m_done;                          // failed to start
};

// How hard HttpClient tries.
struct RetryPolicy {
  int attempts = 1;  // the first included; enable more only for requests safe to repeat
  Backoff backoff{std::chrono::milliseconds(500), 2.0, std::chrono::seconds(10), true};
  std::chrono::milliseconds max_retry_after{60'000};  // a longer Retry-After is not waited for
};

// True when another attempt may get a different outcome: no answer at all (unavailable,
// timeout), or 408, 429, 500, 502, 503, 504.
bool worth_retrying(const Result<HttpResponse>& outcome);

// The wait a response's Retry-After asks for, as delta-seconds or an HTTP-date relative to
// `now`; nullopt when it has none or it does not parse.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& res,
                                                     std::chrono::system_clock::time_point now);

// Sends requests through a session, signing each attempt and retrying what is worth it.
class HttpClient {
 public:
  // One exchange: the libcurl session by default; tests give a fake.
  using Send = std::function<Result<HttpResponse>(const HttpRequest&, const HttpOptions&)>;
  // Readies a request before each attempt (adds Authorization, dates, signatures); an error
  // ends the send with it.
  using Signer = std::function<Result<void>(HttpRequest&)>;
  // Waits between attempts; false when the wait was cut short and no retry should follow.
  using Wait = std::function<bool(std::chrono::milliseconds)>;
  // Sees each attempt's outcome (1-based), e.g. to log or keep the last failure.
  using Observer = std::function<void(int attempt, const Result<HttpResponse>& outcome)>;

  explicit HttpClient(HttpOptions options = {}, Send send = nullptr);

  HttpOptions& options() { return m_options; }
  void set_retry(RetryPolicy policy) { m_retry = policy; }
  void set_signer(Signer signer) { m_signer = std::move(signer); }
  void set_wait(Wait wait) { m_wait = std::move(wait); }
  void set_random(Random random) { m_random = std::move(random); }
  void set_observer(Observer observer) { m_observer = std::move(observer); }

  // Sends `req`: the last attempt's answer (any status) or failure. `attempts`, when given,
  // receives how many were made.
  Result<HttpResponse> send(const HttpRequest& req, int* attempts = nullptr);

 private:
  std::chrono::milliseconds pause_after(const Result<HttpResponse>& outcome, int failed);

  HttpOptions m_options;
  std::shared_ptr<HttpSession> m_session;
  Send m_send;
  RetryPolicy m_retry;
  Signer m_signer;
  Wait m_wait;
  Random m_random;
  Observer m_observer;
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

}  // namespace ztp::sys
