#include "sys/http.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "sys/time.hpp"
#include "util/text.hpp"

namespace ztp::sys {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Hosts never sent through a proxy: loopback, plus whatever no_proxy already says (setting
// CURLOPT_NOPROXY replaces the environment's list).
const std::string& no_proxy_list() {
  static const std::string list = [] {
    std::string l = "localhost,127.0.0.1,::1";
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
        l += ",";
        l += v;
        break;
      }
    }
    return l;
  }();
  return list;
}

}  // namespace

// The state of one exchange while libcurl runs it; the callbacks fill it.
struct Exchange {
  const HttpRequest* req = nullptr;
  HttpOptions options;
  HttpResponse response;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  bool too_long = false;
  bool stopped = false;

  Exchange() = default;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() {
    if (headers != nullptr) {
      curl_slist_free_all(headers);
    }
  }

  static size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    size_t len = size * n;
    std::string_view chunk(data, len);
    x->response.body_bytes += static_cast<std::int64_t>(len);
    if (x->req->on_body) {
      if (!x->req->on_body(chunk)) {
        x->stopped = true;
        return 0;  // aborts with CURLE_WRITE_ERROR
      }
      return len;
    }
    auto& body = x->response.body;
    std::int64_t limit = x->req->max_body;
    if (limit > 0 && static_cast<std::int64_t>(body.size() + len) > limit) {
      if (!x->req->truncate) {
        x->too_long = true;
        return 0;
      }
      chunk = chunk.substr(0, static_cast<size_t>(limit) - body.size());
    }
    body.append(chunk);
    return len;
  }

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    size_t len = size * n;
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a redirect or a 100 Continue): only the last one counts.
      x->response.headers.clear();
      size_t space = line.find(' ');
      size_t reason = space == std::string_view::npos ? space : line.find(' ', space + 1);
      x->response.reason = reason == std::string_view::npos
                               ? std::string()
                               : std::string(text::trim(line.substr(reason)));
      return len;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      x->response.headers.emplace_back(std::string(text::trim(line.substr(0, colon))),
                                       std::string(text::trim(line.substr(colon + 1))));
    }
    return len;
  }

  static size_t on_upload(char* buffer, size_t size, size_t n, void* user) {
    auto* x = static_cast<Exchange*>(user);
    return x->req->upload(buffer, size * n);
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* x = static_cast<Exchange*>(user);
    return x->options.cancel != nullptr && x->options.cancel->load() ? 1 : 0;
  }

  // Sets every option of `curl` for this exchange.
  void configure(CURL* curl, std::string_view body) {
    const HttpRequest& r = *req;
    for (const auto& [name, value] : r.headers) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      headers = curl_slist_append(headers, line.c_str());
    }
    // libcurl would otherwise wait for a 100 Continue before sending a larger body.
    headers = curl_slist_append(headers, "Expect:");
    bool sends_body = (r.method != "GET" && r.method != "HEAD") || !body.empty() || r.upload;
    bool typed = std::any_of(r.headers.begin(), r.headers.end(),
                             [](const auto& h) { return text::iequals(h.first, "content-type"); });
    if (sends_body && !typed) {
      // Not libcurl's default application/x-www-form-urlencoded: no body here is a form.
      headers = curl_slist_append(headers, "Content-Type:");
    }
    curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOPROXY, options.direct ? "*" : no_proxy_list().c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    if (options.timeout.count() > 0) {
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    }
    if (options.stall.count() > 0) {
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall.count()));
    }
    if (options.fresh_connection) {
      curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    }
    if (options.cert_info && r.url.rfind("https://", 0) == 0) {
      curl_easy_setopt(curl, CURLOPT_CERTINFO, 1L);
    }
    if (options.cancel != nullptr) {
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Exchange::on_progress);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Exchange::on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Exchange::on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
    if (r.follow_redirects) {
      curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    }
    if (r.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
      return;
    }
    if (!sends_body) {
      return;
    }
    if (r.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    if (r.upload) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Exchange::on_upload);
      curl_easy_setopt(curl, CURLOPT_READDATA, this);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.upload_size));
      return;
    }
    // Never a null pointer: libcurl would then read the body from its read callback (stdin).
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }

  // What the transfer left in `curl`: the status, timing and certificate of an answer.
  void read_answer(CURL* curl) {
    curl_off_t total_us = 0;
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &total_us);
    response.elapsed = std::chrono::milliseconds(total_us / 1000);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_certinfo* info = nullptr;
    if (options.cert_info && curl_easy_getinfo(curl, CURLINFO_CERTINFO, &info) == CURLE_OK &&
        info != nullptr && info->num_of_certs > 0) {
      for (curl_slist* s = info->certinfo[0]; s != nullptr; s = s->next) {
        std::string_view line(s->data);
        constexpr std::string_view k_key = "Expire date:";
        if (line.rfind(k_key, 0) == 0) {
          response.cert_expiry = std::string(text::trim(line.substr(k_key.size())));
        }
      }
    }
  }

  // Why the transfer that ended with `code` has no answer.
  HttpFailure failure(CURL* curl, CURLcode code) const {
    using Kind = HttpFailure::Kind;
    if (too_long) {
      return {Kind::too_long,
              fmt::format("the answer is longer than the {} bytes expected", req->max_body)};
    }
    if (stopped) {
      return {Kind::stopped, "the receiver of the body stopped the transfer"};
    }
    long os_errno = 0;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    switch (code) {
      case CURLE_ABORTED_BY_CALLBACK:
        return {Kind::cancelled, "cancelled"};
      case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED || os_errno == 0) {
          return {Kind::refused, "connection refused"};
        }
        return {Kind::refused,
                fmt::format("could not connect: {}", std::strerror(static_cast<int>(os_errno)))};
      case CURLE_GOT_NOTHING:
        return {Kind::refused, "the server closed the connection without a response"};
      case CURLE_RECV_ERROR:
        return {Kind::refused, "connection reset while reading the response"};
      case CURLE_SEND_ERROR:
        return {Kind::refused, "connection reset while sending the request"};
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        return {Kind::resolve, "could not resolve the host name"};
      case CURLE_OPERATION_TIMEDOUT:
        if (options.timeout.count() > 0) {
          return {Kind::timeout, fmt::format("no response within {} ms", options.timeout.count())};
        }
        return {Kind::timeout, fmt::format("no data moved for {} s (connect timeout {} ms)",
                                           options.stall.count(), options.connect_timeout.count())};
      default:
        break;
    }
    std::string text = *error != '\0' ? std::string(text::trim(error)) : curl_easy_strerror(code);
    switch (code) {
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
        return {Kind::tls, text};
      default:
        return {Kind::other, text};
    }
  }
};

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (text::iequals(k, name)) {
      return v;
    }
  }
  return {};
}

Error HttpFailure::error() const {
  switch (kind) {
    case Kind::timeout:
      return make_error(Errc::timeout, text);
    case Kind::too_long:
    case Kind::stopped:
      return make_error(Errc::invalid, text);
    default:
      return make_error(Errc::unavailable, text);
  }
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
    : m_curl(std::exchange(other.m_curl, nullptr)) {}

HttpSession& HttpSession::operator=(HttpSession&& other) noexcept {
  if (this != &other) {
    if (m_curl != nullptr) {
      curl_easy_cleanup(static_cast<CURL*>(m_curl));
    }
    m_curl = std::exchange(other.m_curl, nullptr);
  }
  return *this;
}

std::variant<HttpResponse, HttpFailure> HttpSession::exchange(const HttpRequest& req,
                                                              const HttpOptions& options) {
  auto* curl = static_cast<CURL*>(m_curl);
  if (curl == nullptr) {
    return HttpFailure{HttpFailure::Kind::other, "libcurl could not create a handle"};
  }
  // Resetting keeps the connection cache, so the next request reuses the open connection.
  curl_easy_reset(curl);
  Exchange x;
  x.req = &req;
  x.options = options;
  x.configure(curl, req.body);
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    return x.failure(curl, code);
  }
  x.read_answer(curl);
  return std::move(x.response);
}

Result<HttpResponse> HttpSession::perform(const HttpRequest& req, const HttpOptions& options) {
  auto outcome = exchange(req, options);
  if (auto* failure = std::get_if<HttpFailure>(&outcome)) {
    return failure->error();
  }
  return std::get<HttpResponse>(std::move(outcome));
}

struct HttpMulti::Transfer {
  std::uint64_t id = 0;
  HttpRequest req;
  std::string body;  // the request's own copy
  Exchange x;
  CURL* easy = nullptr;

  ~Transfer() {
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
  }
};

HttpMulti::HttpMulti() {
  global_init();
  m_multi = curl_multi_init();
}

HttpMulti::~HttpMulti() {
  auto* multi = static_cast<CURLM*>(m_multi);
  for (auto& [easy, transfer] : m_transfers) {
    curl_multi_remove_handle(multi, static_cast<CURL*>(easy));
  }
  m_transfers.clear();
  curl_multi_cleanup(multi);
}

void HttpMulti::start(std::uint64_t id, const HttpRequest& req, const HttpOptions& options) {
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->req = req;
  t->body = std::string(req.body);
  t->req.body = t->body;
  t->x.req = &t->req;
  t->x.options = options;
  t->easy = curl_easy_init();
  if (t->easy == nullptr) {
    m_done.push_back(
        {id, {}, HttpFailure{HttpFailure::Kind::other, "could not create a libcurl handle"}});
    return;
  }
  t->x.configure(t->easy, t->req.body);
  CURLMcode rc = curl_multi_add_handle(static_cast<CURLM*>(m_multi), t->easy);
  if (rc != CURLM_OK) {
    m_done.push_back({id, {}, HttpFailure{HttpFailure::Kind::other, curl_multi_strerror(rc)}});
    return;
  }
  CURL* key = t->easy;
  m_transfers.emplace(key, std::move(t));
}

size_t HttpMulti::in_flight() const { return m_transfers.size() + m_done.size(); }

std::vector<HttpMulti::Completion> HttpMulti::wait(std::chrono::milliseconds timeout) {
  std::vector<Completion> out = std::move(m_done);
  m_done.clear();
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
    CURL* easy = msg->easy_handle;
    auto it = m_transfers.find(easy);
    if (it == m_transfers.end()) {
      continue;
    }
    Transfer& t = *it->second;
    CURLcode code = msg->data.result;
    Completion c{t.id, {}, std::nullopt};
    t.x.read_answer(easy);
    if (code != CURLE_OK) {
      c.failure = t.x.failure(easy, code);
      t.x.response.status = 0;
    }
    c.response = std::move(t.x.response);
    curl_multi_remove_handle(multi, easy);
    out.push_back(std::move(c));
    m_transfers.erase(it);
  }
  return out;
}

bool worth_retrying(const Result<HttpResponse>& outcome) {
  if (!outcome.ok()) {
    return outcome.error().code == Errc::unavailable || outcome.error().code == Errc::timeout;
  }
  switch (outcome->status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& res,
                                                     std::chrono::system_clock::time_point now) {
  std::string value(text::trim(res.header("retry-after")));
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) {
      return std::chrono::milliseconds::max();
    }
    return std::chrono::seconds(std::stol(value));
  }
  auto at = parse_http_date(value);
  if (!at.ok()) {
    return std::nullopt;
  }
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*at - now);
  return std::max(wait, std::chrono::milliseconds(0));
}

HttpClient::HttpClient(HttpOptions options, Send send)
    : m_options(std::move(options)), m_send(std::move(send)) {
  if (!m_send) {
    m_session = std::make_shared<HttpSession>();
    m_send = [session = m_session](const HttpRequest& req, const HttpOptions& o) {
      return session->perform(req, o);
    };
  }
}

std::chrono::milliseconds HttpClient::pause_after(const Result<HttpResponse>& outcome, int failed) {
  if (!m_random) {
    m_random = default_random();
  }
  auto pause = m_retry.backoff.delay(failed, m_random());
  if (outcome.ok()) {
    if (auto asked = retry_after(*outcome, std::chrono::system_clock::now())) {
      pause = std::max(pause, *asked);
    }
  }
  return pause;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& req, int* attempts) {
  bool repeatable = !req.upload && !req.on_body;
  for (int attempt = 1;; ++attempt) {
    if (attempts != nullptr) {
      *attempts = attempt;
    }
    HttpRequest signed_req = req;
    if (m_signer) {
      ZTP_TRY(m_signer(signed_req));
    }
    Result<HttpResponse> outcome = m_send(signed_req, m_options);
    if (m_observer) {
      m_observer(attempt, outcome);
    }
    if (!repeatable || attempt >= m_retry.attempts || !worth_retrying(outcome) ||
        (m_options.cancel != nullptr && m_options.cancel->load())) {
      return outcome;
    }
    auto pause = pause_after(outcome, attempt);
    if (pause > m_retry.max_retry_after) {
      return outcome;  // the server asks for longer than we wait: its answer stands
    }
    bool go_on = true;
    if (m_wait) {
      go_on = m_wait(pause);
    } else {
      std::this_thread::sleep_for(pause);
    }
    if (!go_on) {
      return outcome;
    }
  }
}

namespace {

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

}  // namespace ztp::sys
