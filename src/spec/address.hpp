#pragma once

#include <string>
#include <string_view>

#include "spec/spec.hpp"
#include "util/result.hpp"

namespace ztp::spec {

// A listen address: host (a name, an IPv4 address, or an IPv6 address without brackets) and
// port.
struct ListenAddress {
  std::string host;
  int port = 0;
};

// Parses `host:port` (`[v6]:port` for IPv6) with a port in 1-65535. Errc::invalid saying why.
Result<ListenAddress> parse_listen(std::string_view text);

// Whether two listen addresses cannot both be bound: the same port on the same host, or on
// any host when one of them is a wildcard (0.0.0.0, ::).
bool listen_conflict(const ListenAddress& a, const ListenAddress& b);

// Parses `FIRST-LAST` (ports, FIRST <= LAST). Errc::invalid saying why.
Result<std::pair<int, int>> parse_port_range(std::string_view text);

// Parses a registry: `local`, `oci://host[:port]/repo` or
// `ecr://ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo`, filling every field of Registry but pos.
Result<Registry> parse_registry(std::string_view text);

// Whether `text` is an http:// or https:// URL with a host.
bool is_http_url(std::string_view text);

}  // namespace ztp::spec
