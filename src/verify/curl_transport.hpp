#pragma once

#include <map>
#include <memory>

#include "verify/transport.hpp"

namespace ztp::verify {

// Transport over one libcurl multi handle: every started request is its own easy handle on a
// fresh connection (no reuse, so certificate details and connect failures are seen per
// attempt), all progressing at once in wait(). Redirects are not followed; proxies from the
// environment are honoured except for loopback addresses. Bodies past 4 MiB are counted but not
// kept.
class CurlTransport final : public Transport {
 public:
  CurlTransport();
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void start(uint64_t id, const Request& request) override;
  std::vector<Completion> wait(std::chrono::milliseconds timeout) override;
  size_t in_flight() const override;

 private:
  struct Transfer;
  void* m_multi;                                           // CURLM*
  std::map<void*, std::unique_ptr<Transfer>> m_transfers;  // by CURL*
  std::vector<Completion> m_failed_to_start;
};

}  // namespace ztp::verify
