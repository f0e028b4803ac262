#include "proxy/connection_options.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <cstring>

namespace ztp::proxy {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return boost::beast::iequals(boost::beast::string_view(a.data(), a.size()),
                               boost::beast::string_view(b.data(), b.size()));
}

// Removing one of these would change how the next hop reads the message's length or host.
bool kept_whatever_listed(std::string_view name) {
  return same_name(name, "Host") || same_name(name, "Content-Length") ||
         same_name(name, "Transfer-Encoding");
}

}  // namespace

void ConnectionOptions::add(std::string_view value) {
  for (const auto& token :
       boost::beast::http::token_list(boost::beast::string_view(value.data(), value.size()))) {
    std::string_view option(token.data(), token.size());
    if (same_name(option, "close") || same_name(option, "keep-alive")) {
      continue;
    }
    m_names += option;
    m_names += ',';
  }
}

bool ConnectionOptions::lists(std::string_view name) const {
  std::string_view names = m_names;
  while (!names.empty()) {
    size_t comma = names.find(',');
    if (same_name(names.substr(0, comma), name)) {
      return true;
    }
    names.remove_prefix(comma + 1);
  }
  return false;
}

void ConnectionOptions::erase_listed(std::string& head) const {
  size_t from = head.find("\r\n");
  if (from == std::string::npos) {
    return;
  }
  from += 2;
  size_t to = from;  // lines kept are moved down over the ones dropped
  while (from < head.size()) {
    size_t next = head.find("\r\n", from);
    next = next == std::string::npos ? head.size() : next + 2;
    std::string_view line(head.data() + from, next - from);
    std::string_view name = line.substr(0, line.find(':'));
    if (!lists(name) || kept_whatever_listed(name)) {
      if (to != from) {
        std::memmove(head.data() + to, line.data(), line.size());
      }
      to += line.size();
    }
    from = next;
  }
  head.resize(to);
}

}  // namespace ztp::proxy
