#include "sys/host_port.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace ztp::sys {

Result<HostPort> parse_host_port(std::string_view text, bool allow_zero) {
  auto fail = [&] {
    return make_error(
        Errc::invalid,
        fmt::format("'{}' is not host:port, like 127.0.0.1:8080 or [::1]:8080", text));
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size()) {
    return fail();
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return fail();
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail();
  }
  for (char c : host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
              c == ':' || c == '_';
    if (!ok) {
      return fail();
    }
  }
  std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_zero)) {
    return fail();
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

int port_of(std::string_view address) {
  auto hp = parse_host_port(address);
  return hp.ok() ? hp->port : 0;
}

}  // namespace ztp::sys
