#include "server/http_types.hpp"

#include "sys/crypto.hpp"

namespace ztp::server {

namespace {

// Percent-decodes `text`; a malformed escape is kept as it is.
std::string decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      if (auto byte = sys::from_hex(text.substr(i + 1, 2))) {
        out += *byte;
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

}  // namespace

void parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query) {
  auto q = target.find('?');
  path = decode(target.substr(0, q), false);
  query.clear();
  if (q == std::string_view::npos) {
    return;
  }
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    auto eq = pair.find('=');
    std::string key = decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1), true);
    query[key] = value;
  }
}

std::string Request::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

Response json_response(int status, const nlohmann::json& body) {
  return Response{status, "application/json", body.dump(), {}};
}

Response error_response(int status, std::string_view message) {
  return json_response(status,
                       nlohmann::json{{"error", {{"status", status}, {"message", message}}}});
}

}  // namespace ztp::server
