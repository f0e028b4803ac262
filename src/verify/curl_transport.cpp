#include "verify/curl_transport.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "verify/expectations.hpp"

namespace ztp::verify {
namespace {

constexpr size_t k_max_body = 4 * 1024 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// Hosts never sent through a proxy: loopback, plus whatever no_proxy already says.
std::string no_proxy_list() {
  std::string list = "localhost,127.0.0.1,::1";
  for (const char* name : {"no_proxy", "NO_PROXY"}) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      list += ",";
      list += v;
      break;
    }
  }
  return list;
}

TransportError classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      return TransportError::refused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportError::resolve;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportError::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return TransportError::tls;
    default:
      return TransportError::other;
  }
}

std::string describe(CURLcode code, const char* detail, long os_errno,
                     std::chrono::milliseconds timeout) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ECONNREFUSED || os_errno == 0) {
        return "connection refused";
      }
      return fmt::format("could not connect: {}", std::strerror(static_cast<int>(os_errno)));
    case CURLE_GOT_NOTHING:
      return "the server closed the connection without a response";
    case CURLE_RECV_ERROR:
      return "connection reset while reading the response";
    case CURLE_SEND_ERROR:
      return "connection reset while sending the request";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "could not resolve the host";
    case CURLE_OPERATION_TIMEDOUT:
      return fmt::format("no response within {} ms", timeout.count());
    default:
      break;
  }
  if (detail != nullptr && *detail != '\0') {
    return trim(detail);
  }
  return curl_easy_strerror(code);
}

}  // namespace

struct CurlTransport::Transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::chrono::milliseconds timeout{0};
  bool https = false;
  char error[CURL_ERROR_SIZE] = {};
  Response response;

  ~Transfer() {
    if (headers != nullptr) {
      curl_slist_free_all(headers);
    }
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
  }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    t->response.body_bytes += len;
    if (t->response.body.size() < k_max_body) {
      t->response.body.append(data, std::min(len, k_max_body - t->response.body.size()));
    }
    return len;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after 100 Continue): only the final response's headers count.
      t->response.headers.clear();
      return len;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      t->response.headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    return len;
  }
};

CurlTransport::CurlTransport() {
  global_init();
  m_multi = curl_multi_init();
}

CurlTransport::~CurlTransport() {
  auto* multi = static_cast<CURLM*>(m_multi);
  for (auto& [easy, transfer] : m_transfers) {
    curl_multi_remove_handle(multi, static_cast<CURL*>(easy));
  }
  m_transfers.clear();
  curl_multi_cleanup(multi);
}

void CurlTransport::start(uint64_t id, const Request& request) {
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->timeout = request.timeout;
  t->https = request.url.rfind("https://", 0) == 0;
  t->easy = curl_easy_init();
  CURL* e = t->easy;
  if (e == nullptr) {
    Completion c{id, {}};
    c.response.error = TransportError::other;
    c.response.error_text = "could not create a libcurl handle";
    m_failed_to_start.push_back(std::move(c));
    return;
  }
  static const std::string no_proxy = no_proxy_list();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "ztp-verify");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  if (t->https) {
    curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
  }
  for (const auto& [name, value] : request.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    t->headers = curl_slist_append(t->headers, line.c_str());
  }
  // libcurl adds `Expect: 100-continue` to larger bodies; a probe wants one plain exchange.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

  CURLMcode rc = curl_multi_add_handle(static_cast<CURLM*>(m_multi), e);
  if (rc != CURLM_OK) {
    Completion c{id, {}};
    c.response.error = TransportError::other;
    c.response.error_text = curl_multi_strerror(rc);
    m_failed_to_start.push_back(std::move(c));
    return;
  }
  m_transfers.emplace(e, std::move(t));
}

size_t CurlTransport::in_flight() const { return m_transfers.size() + m_failed_to_start.size(); }

std::vector<Completion> CurlTransport::wait(std::chrono::milliseconds timeout) {
  std::vector<Completion> out = std::move(m_failed_to_start);
  m_failed_to_start.clear();
  auto* multi = static_cast<CURLM*>(m_multi);
  if (m_transfers.empty()) {
    return out;
  }
  int running = 0;
  curl_multi_perform(multi, &running);
  if (out.empty() && running == static_cast<int>(m_transfers.size())) {
    int fds = 0;
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::max<int64_t>(timeout.count(), 0)),
                    &fds);
    curl_multi_perform(multi, &running);
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    CURL* e = msg->easy_handle;
    CURLcode code = msg->data.result;
    auto it = m_transfers.find(e);
    if (it == m_transfers.end()) {
      continue;
    }
    Transfer& t = *it->second;
    Response& r = t.response;
    curl_off_t total_us = 0;
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    r.latency = std::chrono::milliseconds(total_us / 1000);
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      r.status = static_cast<int>(status);
      if (t.https) {
        curl_certinfo* info = nullptr;
        if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &info) == CURLE_OK && info != nullptr &&
            info->num_of_certs > 0) {
          for (curl_slist* s = info->certinfo[0]; s != nullptr; s = s->next) {
            std::string_view line(s->data);
            constexpr std::string_view k_key = "Expire date:";
            if (line.rfind(k_key, 0) == 0) {
              r.cert_expiry = parse_cert_date(trim(line.substr(k_key.size())));
            }
          }
        }
      }
    } else {
      long os_errno = 0;
      curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
      r.error = classify(code);
      r.error_text = describe(code, t.error, os_errno, t.timeout);
      if (r.error == TransportError::timeout) {
        r.latency = std::max(r.latency, t.timeout);
      }
    }
    curl_multi_remove_handle(multi, e);
    out.push_back(Completion{t.id, std::move(r)});
    m_transfers.erase(it);
  }
  return out;
}

}  // namespace ztp::verify
