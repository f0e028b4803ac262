#include "spec/address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <regex>

#include "sys/host_port.hpp"

namespace ztp::spec {
namespace {

Error bad(std::string message) { return make_error(Errc::invalid, std::move(message)); }

// Parses a whole decimal port; 0 when it is not one.
int parse_port(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || text[0] == '+') {
    return 0;
  }
  return port;
}

// Whether `host` is an address of `family` (AF_INET, AF_INET6).
bool is_ip(int family, const std::string& host) {
  in6_addr addr{};
  return ::inet_pton(family, host.c_str(), &addr) == 1;
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') {
        return false;
      }
      label = 0;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) {
      return false;
    }
    if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

// Splits `host[:port]` (or `[v6][:port]`) and checks both; port 0 when absent. The host is
// checked here, in the spec's words; with it valid, what sys::parse_host_port rejects is the port.
Result<ListenAddress> split_host_port(std::string_view text, bool port_required) {
  ListenAddress out;
  size_t colon = std::string_view::npos;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return bad("`[` of an IPv6 address is not closed by `]`");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (!is_ip(AF_INET6, out.host)) {
      return bad(fmt::format("`{}` is not an IPv6 address", out.host));
    }
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return bad("expected `:PORT` after `]`");
      }
      colon = close + 1;
    }
  } else {
    colon = text.find(':');
    if (colon != std::string_view::npos && text.rfind(':') != colon) {
      return bad("an IPv6 host goes in brackets, like [::1]:8080");
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.empty()) {
      return bad(
          "the host is missing; write 127.0.0.1:PORT, or 0.0.0.0:PORT for every "
          "interface");
    }
    bool numeric = out.host.find_first_not_of("0123456789.") == std::string::npos;
    if (numeric ? !is_ip(AF_INET, out.host) : !is_hostname(out.host)) {
      return bad(fmt::format("`{}` is not a valid host name or IPv4 address", out.host));
    }
  }
  if (colon == std::string_view::npos) {
    if (port_required) {
      return bad("the port is missing");
    }
    return out;
  }
  auto split = sys::parse_host_port(text);
  if (!split.ok()) {
    return bad(fmt::format("port `{}` is not a number from 1 to 65535", text.substr(colon + 1)));
  }
  out.port = split->port;
  return out;
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

// Repository path: lower-case segments of letters, digits and . _ -, separated by /.
bool is_repository(std::string_view repo) {
  static const std::regex k_repo("[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*");
  return std::regex_match(repo.begin(), repo.end(), k_repo);
}

}  // namespace

Result<ListenAddress> parse_listen(std::string_view text) {
  if (text.empty()) {
    return bad("the address is empty; write HOST:PORT, like 127.0.0.1:8080");
  }
  return split_host_port(text, true);
}

bool listen_conflict(const ListenAddress& a, const ListenAddress& b) {
  if (a.port != b.port) {
    return false;
  }
  return a.host == b.host || is_wildcard(a.host) || is_wildcard(b.host);
}

Result<std::pair<int, int>> parse_port_range(std::string_view text) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    return bad(fmt::format("`{}` is not a range; write FIRST-LAST, like 20000-29999", text));
  }
  int first = parse_port(text.substr(0, dash));
  int last = parse_port(text.substr(dash + 1));
  if (first < 1 || first > 65535 || last < 1 || last > 65535) {
    return bad(fmt::format("`{}` is not two ports from 1 to 65535, like 20000-29999", text));
  }
  if (first > last) {
    return bad(fmt::format("`{}` ends before it starts; write the lower port first", text));
  }
  return std::pair{first, last};
}

Result<Registry> parse_registry(std::string_view text) {
  Registry out;
  out.url = std::string(text);
  if (text == "local") {
    out.kind = Registry::Kind::local;
    return out;
  }
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return bad(fmt::format("`{}` is not a registry", text));
  }
  std::string_view scheme = text.substr(0, scheme_end);
  std::string_view rest = text.substr(scheme_end + 3);
  if (scheme == "oci") {
    out.kind = Registry::Kind::oci;
  } else if (scheme == "ecr") {
    out.kind = Registry::Kind::ecr;
  } else {
    return bad(fmt::format("unknown registry scheme `{}://`", scheme));
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return bad(fmt::format("`{}` names no repository after the host", text));
  }
  out.host = std::string(rest.substr(0, slash));
  out.repository = std::string(rest.substr(slash + 1));
  auto host = split_host_port(out.host, false);
  if (!host.ok()) {
    return bad(fmt::format("registry host `{}`: {}", out.host, host.error().message));
  }
  if (!is_repository(out.repository)) {
    return bad(
        fmt::format("`{}` is not a repository name: lower-case letters, digits, `.`, `_`, "
                    "`-`, segments separated by `/`, no tag",
                    out.repository));
  }
  if (out.kind == Registry::Kind::ecr) {
    static const std::regex k_ecr(R"(([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?)");
    std::smatch m;
    if (!std::regex_match(out.host, m, k_ecr)) {
      return bad(
          fmt::format("`{}` is not an ECR host: ACCOUNT.dkr.ecr.REGION.amazonaws.com with "
                      "a 12-digit account",
                      out.host));
    }
    out.account = m[1];
    out.region = m[2];
  }
  return out;
}

bool is_http_url(std::string_view text) {
  std::string_view rest;
  if (text.rfind("https://", 0) == 0) {
    rest = text.substr(8);
  } else if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else {
    return false;
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  return split_host_port(authority, false).ok();
}

}  // namespace ztp::spec
