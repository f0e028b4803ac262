#pragma once

#include <map>

#include "sys/http.hpp"
#include "verify/transport.hpp"

namespace ztp::verify {

// Transport over sys::HttpMulti: every request runs at once with the others on a fresh
// connection (no reuse, so certificate details and connect failures are seen per attempt).
// Redirects are not followed; proxies from the environment are honoured except for loopback.
// Bodies past 4 MiB are counted but not kept.
class CurlTransport final : public Transport {
 public:
  void start(uint64_t id, const Request& request) override;
  std::vector<Completion> wait(std::chrono::milliseconds timeout) override;
  size_t in_flight() const override { return m_multi.in_flight(); }

 private:
  sys::HttpMulti m_multi;
  std::map<uint64_t, std::chrono::milliseconds> m_timeouts;  // of requests in flight, by id
};

}  // namespace ztp::verify
