#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "notify/channel.hpp"
#include "spec/spec.hpp"
#include "unit/store/store_test_util.hpp"

namespace ztp::notify::test {

// An answer of `status` with `body`, as a receiver gives it.
inline Result<sys::HttpResponse> answer(long status, std::string body = "") {
  sys::HttpResponse res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

// A Poster that records every request and answers from a script (then 200). With `hang`, it
// blocks until cancelled, like a receiver that never answers.
class FakePoster {
 public:
  std::deque<Result<sys::HttpResponse>> script;
  bool hang = false;

  Poster poster() {
    return [this](const sys::HttpRequest& req, const sys::HttpOptions& options) {
      std::unique_lock lock(m_mu);
      m_requests.push_back(HttpRequest{req.url, req.headers, std::string(req.body)});
      m_cv.notify_all();
      if (hang) {
        while (options.cancel == nullptr || !options.cancel->load()) {
          m_cv.wait_for(lock, std::chrono::milliseconds(5));
        }
        return Result<sys::HttpResponse>(make_error(Errc::unavailable, "cancelled"));
      }
      if (script.empty()) {
        return answer(200, "ok");
      }
      auto out = script.front();
      script.pop_front();
      return out;
    };
  }

  std::vector<HttpRequest> requests() {
    std::lock_guard lock(m_mu);
    return m_requests;
  }

 private:
  std::mutex m_mu;
  std::condition_variable m_cv;
  std::vector<HttpRequest> m_requests;
};

inline spec::Notifier notifier(spec::Notifier::Kind kind, std::vector<std::string> events = {}) {
  spec::Notifier n;
  n.kind = kind;
  n.url = "http://127.0.0.1:9/hook";
  n.routing_key = kind == spec::Notifier::Kind::pagerduty ? "0123456789abcdef0123456789abcdef" : "";
  n.secret = kind == spec::Notifier::Kind::webhook ? "s3cret" : "";
  n.events = std::move(events);
  return n;
}

// Fast retries for tests.
inline DeliveryOptions quick_delivery() {
  DeliveryOptions o;
  o.attempts = 3;
  o.backoff = sys::Backoff{std::chrono::milliseconds(1), 2.0, std::chrono::milliseconds(4), true};
  o.attempt_timeout = std::chrono::milliseconds(200);
  return o;
}

}  // namespace ztp::notify::test
