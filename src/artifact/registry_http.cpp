#include "artifact/registry_http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace ztp::artifact {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// What the callbacks fill while a transfer runs.
struct Sink {
  HttpResponse* response = nullptr;
  std::int64_t max_body = 0;
  bool too_long = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  if (sink->max_body > 0 &&
      static_cast<std::int64_t>(sink->response->body.size() + len) > sink->max_body) {
    sink->too_long = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->response->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect or a 100 Continue): only the last one counts.
    sink->response->headers.clear();
    size_t space = line.find(' ');
    size_t reason = space == std::string_view::npos ? space : line.find(' ', space + 1);
    sink->response->reason =
        reason == std::string_view::npos ? std::string() : std::string(trim(line.substr(reason)));
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    sink->response->headers.emplace_back(lower(trim(line.substr(0, colon))),
                                         std::string(trim(line.substr(colon + 1))));
  }
  return len;
}

Error transport_error(CURLcode code, const char* detail, long os_errno,
                      const RegistryTimeouts& timeouts, bool too_long, std::int64_t max_body) {
  if (too_long) {
    return make_error(Errc::invalid,
                      fmt::format("the answer is longer than the {} bytes expected", max_body));
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(Errc::timeout,
                        fmt::format("no data moved for {} s (connect timeout {} ms)",
                                    timeouts.stall.count(), timeouts.connect.count()));
    case CURLE_COULDNT_CONNECT:
      if (os_errno != 0) {
        return make_error(Errc::unavailable, std::strerror(static_cast<int>(os_errno)));
      }
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
      return make_error(Errc::unavailable, "could not resolve the host name");
    default:
      break;
  }
  std::string text =
      detail != nullptr && *detail != '\0' ? std::string(trim(detail)) : curl_easy_strerror(code);
  return make_error(Errc::unavailable, text);
}

struct UrlHandle {
  CURLU* h = curl_url();
  ~UrlHandle() { curl_url_cleanup(h); }
  UrlHandle() = default;
  UrlHandle(const UrlHandle&) = delete;
  UrlHandle& operator=(const UrlHandle&) = delete;

  Result<std::string> get() const {
    char* out = nullptr;
    if (curl_url_get(h, CURLUPART_URL, &out, 0) != CURLUE_OK) {
      return make_error(Errc::invalid, "cannot form a URL");
    }
    std::string s(out);
    curl_free(out);
    return s;
  }
};

}  // namespace

std::string HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) {
      return v;
    }
  }
  return {};
}

HttpSession::HttpSession() {
  global_init();
  m_curl = curl_easy_init();
}

HttpSession::~HttpSession() {
  if (m_curl != nullptr) {
    curl_easy_cleanup(static_cast<CURL*>(m_curl));
  }
}

HttpSession::HttpSession(HttpSession&& other) noexcept
    : m_curl(std::exchange(other.m_curl, nullptr)),
      m_timeouts(other.m_timeouts),
      m_no_proxy(other.m_no_proxy) {}

HttpSession& HttpSession::operator=(HttpSession&& other) noexcept {
  if (this != &other) {
    if (m_curl != nullptr) {
      curl_easy_cleanup(static_cast<CURL*>(m_curl));
    }
    m_curl = std::exchange(other.m_curl, nullptr);
    m_timeouts = other.m_timeouts;
    m_no_proxy = other.m_no_proxy;
  }
  return *this;
}

Result<HttpResponse> HttpSession::perform(const HttpRequest& req) {
  auto* curl = static_cast<CURL*>(m_curl);
  if (curl == nullptr) {
    return make_error(Errc::internal, "libcurl could not create a handle");
  }
  // Resetting keeps the connection cache, so the next request reuses the open connection.
  curl_easy_reset(curl);
  HttpResponse response;
  Sink sink{&response, req.max_body, false};
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  for (const auto& h : req.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  // libcurl would otherwise wait for a 100 Continue before sending a large body.
  headers = curl_slist_append(headers, "Expect:");
  bool sends_body = req.method != "GET" && req.method != "HEAD";
  bool typed = std::any_of(req.headers.begin(), req.headers.end(), [](const std::string& h) {
    return lower(h.substr(0, 13)) == "content-type:";
  });
  if (sends_body && !typed) {
    // Not libcurl's default application/x-www-form-urlencoded: a registry body is never a form.
    headers = curl_slist_append(headers, "Content-Type:");
  }

  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "zerotouch");
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_timeouts.connect.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(m_timeouts.stall.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  if (m_no_proxy) {
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  }
  if (req.follow_redirects) {
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    if (req.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    // Never a null pointer: libcurl would then read the body from its read callback (stdin).
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    long os_errno = 0;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    return transport_error(code, error, os_errno, m_timeouts, sink.too_long, req.max_body);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<std::string> resolve_url(const std::string& base, const std::string& reference) {
  UrlHandle url;
  if (curl_url_set(url.h, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return make_error(Errc::invalid, fmt::format("\"{}\" is not a URL", base));
  }
  // Setting a relative URL on a handle that holds one resolves it against that one.
  if (curl_url_set(url.h, CURLUPART_URL, reference.c_str(), 0) != CURLUE_OK) {
    return make_error(
        Errc::invalid,
        fmt::format("\"{}\" is not a URL or a reference relative to {}", reference, base));
  }
  return url.get();
}

Result<std::string> append_query(const std::string& url, std::string_view key,
                                 std::string_view value) {
  UrlHandle h;
  if (curl_url_set(h.h, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return make_error(Errc::invalid, fmt::format("\"{}\" is not a URL", url));
  }
  std::string pair = fmt::format("{}={}", key, value);
  // With APPENDQUERY, URLENCODE leaves the first '=' alone and encodes the rest.
  if (curl_url_set(h.h, CURLUPART_QUERY, pair.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE) !=
      CURLUE_OK) {
    return make_error(Errc::invalid, fmt::format("cannot add {} to the URL {}", key, url));
  }
  return h.get();
}

std::string url_escape(std::string_view text) {
  global_init();
  char* out = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (out == nullptr) {
    return {};
  }
  std::string s(out);
  curl_free(out);
  return s;
}

}  // namespace ztp::artifact
