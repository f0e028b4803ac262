#include "notify/http_post.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace ztp::notify {
namespace {

constexpr size_t k_max_answer = 4096;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t len = size * n;
  if (body->size() < k_max_answer) {
    body->append(data, std::min(len, k_max_answer - body->size()));
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load() ? 1 : 0;  // non-zero aborts the transfer
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

PostOutcome outcome_for_status(long status, std::string body) {
  PostOutcome out;
  out.status = status;
  out.body = std::move(body);
  if (status >= 200 && status < 300) {
    return out;
  }
  std::string answer = out.body.substr(0, 200);
  out.error =
      answer.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {}: {}", status, answer);
  out.retry = status == 429 || status >= 500;
  return out;
}

PostOutcome curl_post(const HttpRequest& req, std::chrono::milliseconds timeout,
                      const std::atomic<bool>& cancel) {
  global_init();
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) {
    return {0, "", "could not create a libcurl handle", true};
  }
  CURL* e = easy.get();
  std::unique_ptr<curl_slist, ListDeleter> headers;
  for (const auto& [name, value] : req.headers) {
    std::string line = name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  // An empty Expect: keeps libcurl from waiting for 100 Continue on larger bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  std::string answer;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "ztp-notify");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&cancel));
  CURLcode code = curl_easy_perform(e);
  if (code != CURLE_OK) {
    PostOutcome out;
    out.retry = code != CURLE_ABORTED_BY_CALLBACK;
    if (code == CURLE_ABORTED_BY_CALLBACK) {
      out.error = "cancelled: the notifier was stopped";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      out.error = fmt::format("no answer from {} within {} ms", req.url, timeout.count());
    } else {
      out.error = fmt::format("{}: {}", req.url, *error != '\0' ? error : curl_easy_strerror(code));
    }
    return out;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  return outcome_for_status(status, std::move(answer));
}

}  // namespace ztp::notify
