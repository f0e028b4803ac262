#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/fake_clock.hpp"
#include "verify/transport.hpp"

namespace ztp::verify::testing {

// What the fake server answers to one request, and how long it takes.
struct FakeReply {
  Response response;
  std::chrono::milliseconds latency{0};
};

// A request the fake saw, with the fake time it started at.
struct SentRequest {
  Request request;
  std::chrono::steady_clock::time_point at;
};

// A Transport whose requests finish after their reply's latency on a FakeClock: wait() advances
// the clock to the next completion (or by its timeout). A reply slower than the request's
// timeout ends as TransportError::timeout at the timeout.
class FakeTransport final : public Transport {
 public:
  // `reply(request, n)`: the answer to the n-th request (1-based) for request.url.
  using Responder = std::function<FakeReply(const Request&, int)>;

  FakeTransport(ztp::testing::FakeClock& clock, Responder reply)
      : m_clock(clock), m_reply(std::move(reply)) {}

  void start(uint64_t id, const Request& request) override {
    int n = ++m_calls[request.url];
    FakeReply reply = m_reply(request, n);
    if (reply.latency > request.timeout) {
      reply.response = Response{};
      reply.response.error = TransportError::timeout;
      reply.latency = request.timeout;
    }
    reply.response.latency = reply.latency;
    m_sent.push_back({request, m_clock.now()});
    m_pending.push_back({id, m_clock.now() + reply.latency, std::move(reply.response)});
    m_max_concurrent = std::max(m_max_concurrent, m_pending.size());
  }

  std::vector<Completion> wait(std::chrono::milliseconds timeout) override {
    std::vector<Completion> out;
    if (m_pending.empty()) {
      return out;
    }
    auto earliest =
        std::min_element(m_pending.begin(), m_pending.end(), [](const auto& a, const auto& b) {
          return a.due < b.due;
        })->due;
    auto now = m_clock.now();
    if (earliest > now + timeout) {
      m_clock.advance(timeout);
      return out;
    }
    if (earliest > now) {
      m_clock.advance(std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now));
    }
    now = m_clock.now();
    for (auto it = m_pending.begin(); it != m_pending.end();) {
      if (it->due <= now) {
        out.push_back(Completion{it->id, std::move(it->response)});
        it = m_pending.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  size_t in_flight() const override { return m_pending.size(); }

  const std::vector<SentRequest>& sent() const { return m_sent; }
  size_t max_concurrent() const { return m_max_concurrent; }

 private:
  struct Pending {
    uint64_t id;
    std::chrono::steady_clock::time_point due;
    Response response;
  };
  ztp::testing::FakeClock& m_clock;
  Responder m_reply;
  std::map<std::string, int> m_calls;
  std::vector<Pending> m_pending;
  std::vector<SentRequest> m_sent;
  size_t m_max_concurrent = 0;
};

// A response with `status` and `body`.
inline FakeReply reply(int status, std::string body = "",
                       std::chrono::milliseconds latency = std::chrono::milliseconds(5)) {
  FakeReply r;
  r.response.status = status;
  r.response.body_bytes = body.size();
  r.response.body = std::move(body);
  r.latency = latency;
  return r;
}

// A refused connection.
inline FakeReply refused() {
  FakeReply r;
  r.response.error = TransportError::refused;
  r.response.error_text = "connection refused";
  r.latency = std::chrono::milliseconds(1);
  return r;
}

}  // namespace ztp::verify::testing
