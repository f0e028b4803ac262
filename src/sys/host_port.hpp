#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp::sys {

// A parsed host:port ("127.0.0.1:80", "[::1]:80", "localhost:80").
struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// Parses host:port; invalid when it is not one (port 0 is accepted only with `allow_zero`).
// An IPv6 host is bracketed.
Result<HostPort> parse_host_port(std::string_view text, bool allow_zero = false);

// The port of host:port, or 0 when `address` is not one.
int port_of(std::string_view address);

}  // namespace ztp::sys
