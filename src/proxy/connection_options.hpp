#pragma once

#include <string>
#include <string_view>

namespace ztp::proxy {

// The field names a message's Connection header lists (RFC 9110 section 7.6.1): they are meant
// for the next hop only, so a proxy forwards none of them. Collected while a head is parsed,
// then erased from the head being written; `close` and `keep-alive` alone (the usual case) are
// not kept and cost no scan. reset() per message keeps the capacity: nothing is allocated in
// the steady state.
class ConnectionOptions {
 public:
  void reset() { m_names.clear(); }
  // Notes the options of one Connection field value (a comma-separated list).
  void add(std::string_view value);
  // Some option names a field (close and keep-alive do not count).
  bool any() const { return !m_names.empty(); }
  // `name` is listed (case-insensitively).
  bool lists(std::string_view name) const;
  // Removes from `head`, a start line and its field lines (each ending with CRLF), every field
  // a listed option names but Host, Content-Length and Transfer-Encoding: the proxy has checked
  // those and delimits the message by them, so they go on as they are.
  void erase_listed(std::string& head) const;

 private:
  std::string m_names;  // the listed names, each followed by a comma
};

}  // namespace ztp::proxy
