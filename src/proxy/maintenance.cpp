#include "proxy/maintenance.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace ztp::proxy {
namespace {

using nlohmann::json;

constexpr int k_max_retry_after_s = 7 * 24 * 3600;
constexpr size_t k_max_message = 4096;
constexpr std::string_view k_generic =
    "The service is down for maintenance. Please try again later.";

Error bad(std::string_view field, std::string_view what) {
  return make_error(Errc::invalid, fmt::format("maintenance.{}: {}", field, what));
}

}  // namespace

Result<Maintenance> maintenance_from_json(const json& j) {
  if (!j.is_object()) {
    return make_error(Errc::invalid, "maintenance: expected a JSON object");
  }
  Maintenance m;
  for (const auto& [key, value] : j.items()) {
    if (key == "message") {
      if (!value.is_string()) {
        return bad(key, "expected a string");
      }
      m.message = value.get<std::string>();
      if (m.message.size() > k_max_message) {
        return bad(key, fmt::format("longer than {} bytes", k_max_message));
      }
    } else if (key == "retry_after_s") {
      if (!value.is_number_integer()) {
        return bad(key, "expected an integer");
      }
      auto v = value.get<int64_t>();
      if (v < 0 || v > k_max_retry_after_s) {
        return bad(key, fmt::format("must be 0-{}", k_max_retry_after_s));
      }
      m.retry_after_s = static_cast<int>(v);
    } else if (key == "since_ms") {
      if (!value.is_number_integer()) {
        return bad(key, "expected an integer");
      }
      m.since_ms = value.get<int64_t>();
    } else {
      return bad(key, "unknown field");
    }
  }
  return m;
}

Result<Maintenance> maintenance_from_text(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return make_error(Errc::invalid, "maintenance: body is not valid JSON");
  }
  return maintenance_from_json(j);
}

json to_json(const Maintenance& m) {
  return json{{"message", m.message}, {"retry_after_s", m.retry_after_s}, {"since_ms", m.since_ms}};
}

std::string maintenance_response(const Maintenance& m, std::string_view request_id, bool keep_alive,
                                 bool head) {
  std::string body = fmt::format(
      "<!doctype html>\n<html><head><title>Down for maintenance</title></head>\n"
      "<body><h1>Down for maintenance</h1><p>{}</p><p>Request id: {}</p></body></html>\n",
      text::escape_markup(m.message.empty() ? k_generic : std::string_view(m.message)), request_id);
  std::string out = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Content-Length: {}\r\nRetry-After: {}\r\nCache-Control: no-store\r\n"
      "X-Request-Id: {}\r\nX-Maintenance: on\r\nConnection: {}\r\n\r\n",
      body.size(), m.retry_after_s, request_id, keep_alive ? "keep-alive" : "close");
  if (!head) {
    out += body;
  }
  return out;
}

}  // namespace ztp::proxy
