#pragma once

#include "proxy/coro.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "proxy/routes.hpp"

namespace ztp::proxy {

// Outcome of one active health check.
struct ProbeResult {
  bool ok = false;
  std::string error;  // why it failed: "connect: Connection refused", "status 503", "timeout"
};

// GETs `path` from `endpoint` (Host: `host`) within `timeout`; a 2xx or 3xx status passes.
boost::asio::awaitable<ProbeResult> probe_http(boost::asio::ip::tcp::endpoint endpoint,
                                               std::string host, std::string path, Millis timeout);

}  // namespace ztp::proxy
