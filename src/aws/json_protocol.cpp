#include "aws/json_protocol.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "sys/crypto.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;

// A copy of `value` without the null members of its objects, at any depth.
json without_nulls(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, member] : value.items()) {
      if (!member.is_null()) {
        out[key] = without_nulls(member);
      }
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) {
      out.push_back(without_nulls(item));
    }
    return out;
  }
  return value;
}

// The value of the first member of `body` whose name equals `name` without case.
const json* find_member(const json& body, std::string_view name) {
  if (!body.is_object()) {
    return nullptr;
  }
  for (const auto& [key, value] : body.items()) {
    if (text::iequals(key, name)) {
      return &value;
    }
  }
  return nullptr;
}

std::string code_text(const json& value) {
  if (value.is_string()) {
    return sanitize_error_code(value.get<std::string>());
  }
  if (value.is_number()) {
    return sanitize_error_code(value.dump());
  }
  return {};
}

// Epoch seconds in text: digits with an optional sign and fraction.
std::optional<double> epoch_seconds(std::string_view text) {
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

sys::WallTime from_epoch(double seconds) {
  return sys::WallTime(std::chrono::milliseconds(std::llround(seconds * 1000.0)));
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  return c == '/' ? 63 : -1;
}

}  // namespace

std::string json_content_type(std::string_view json_version) {
  return fmt::format("application/x-amz-json-{}", json_version);
}

std::vector<std::pair<std::string, std::string>> json_headers(std::string_view json_version,
                                                              std::string_view target_prefix,
                                                              std::string_view operation) {
  return {{"Content-Type", json_content_type(json_version)},
          {"X-Amz-Target", fmt::format("{}.{}", target_prefix, operation)}};
}

Result<std::string> json_body(const json& input) {
  if (input.is_null()) {
    return std::string("{}");
  }
  if (!input.is_object()) {
    return make_error(Errc::invalid, fmt::format("the input of a JSON protocol call must be an "
                                                 "object, not {}",
                                                 input.type_name()));
  }
  try {
    return without_nulls(input).dump();
  } catch (const json::exception& e) {
    return make_error(Errc::invalid, fmt::format("the input cannot be sent: {}", e.what()));
  }
}

Result<json> parse_json_answer(const sys::HttpResponse& response) {
  if (text::trim(response.body).empty()) {
    return json::object();
  }
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return make_error(Errc::invalid, fmt::format("the answer (HTTP {}) is not a JSON object: {}",
                                                 response.status, response.body.substr(0, 200)));
  }
  return without_nulls(body);
}

AwsError json_error(const sys::HttpResponse& response, bool query_compatible) {
  AwsError error;
  error.status = response.status;
  error.request_id = request_id_header(response.headers);
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded()) {
    body = json::object();
  }
  std::string header_code = sanitize_error_code(response.header("X-Amzn-ErrorType"));
  std::string body_code;
  if (const json* code = find_member(body, "code")) {
    body_code = code_text(*code);
  }
  std::string type_code;
  if (body.is_object() && body.contains("__type")) {
    type_code = code_text(body["__type"]);
  }
  std::string query_code;
  if (query_compatible) {
    std::string header = response.header("x-amzn-query-error");
    query_code = header.substr(0, header.find(';'));
  }
  // The SDK's order; for a query-compatible service it maps the x-amzn-query-error code back to
  // the modelled error that __type names, so __type stays first and the query code only stands
  // in for a missing __type.
  std::array<const std::string*, 4> order = {&type_code, &query_code, &body_code, &header_code};
  for (const std::string* candidate : order) {
    if (!candidate->empty()) {
      error.code = *candidate;
      break;
    }
  }
  for (const char* name : {"message", "Message"}) {
    if (body.is_object() && body.contains(name) && body[name].is_string()) {
      error.message = body[name].get<std::string>();
      break;
    }
  }
  return error;
}

json json_timestamp(sys::WallTime time) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  if (millis % 1000 == 0) {
    return millis / 1000;
  }
  return static_cast<double>(millis) / 1000.0;
}

Result<sys::WallTime> json_time(const json& value) {
  if (value.is_number()) {
    double seconds = value.get<double>();
    if (!std::isfinite(seconds)) {
      return make_error(Errc::invalid, "a timestamp is not a finite number");
    }
    return from_epoch(seconds);
  }
  if (value.is_string()) {
    return parse_timestamp_text(value.get_ref<const std::string&>());
  }
  return make_error(Errc::invalid,
                    fmt::format("a timestamp is a {}, not a number or text", value.type_name()));
}

Result<sys::WallTime> parse_timestamp_text(std::string_view text) {
  std::string_view t = text::trim(text);
  if (auto seconds = epoch_seconds(t)) {
    return from_epoch(*seconds);
  }
  if (t.size() > 20 && (t[t.size() - 6] == '+' || t[t.size() - 6] == '-') &&
      t[t.size() - 3] == ':') {
    int hours = 0;
    int minutes = 0;
    std::string_view offset = t.substr(t.size() - 5);
    auto h = std::from_chars(offset.data(), offset.data() + 2, hours);
    auto m = std::from_chars(offset.data() + 3, offset.data() + 5, minutes);
    if (h.ec == std::errc() && m.ec == std::errc() && h.ptr == offset.data() + 2 &&
        m.ptr == offset.data() + 5) {
      auto local = sys::parse_rfc3339(std::string(t.substr(0, t.size() - 6)) + "Z");
      if (local.ok()) {
        std::chrono::minutes shift(hours * 60 + minutes);
        return t[t.size() - 6] == '+' ? *local - shift : *local + shift;
      }
    }
  }
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
    auto at = sys::parse_rfc3339(std::string(t.substr(0, t.size() - 1)) + "Z");
    if (at.ok()) {
      return at;
    }
  }
  auto http_date = sys::parse_http_date(t);
  if (http_date.ok()) {
    return http_date;
  }
  return make_error(Errc::invalid, fmt::format("'{}' is not a timestamp (epoch seconds, ISO 8601 "
                                               "or an HTTP date)",
                                               text));
}

std::string iso8601_timestamp(sys::WallTime time) {
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  return sys::format_rfc3339(
      time, millis % 1000 == 0 ? sys::TimePrecision::seconds : sys::TimePrecision::milliseconds);
}

std::string json_blob(std::string_view bytes) { return sys::base64(bytes); }

Result<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  unsigned buffer = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    int v = base64_value(c);
    if (v < 0 || padding > 0) {
      return make_error(Errc::invalid, "the text is not base64");
    }
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  size_t data = text.size() - padding;
  if (padding > 2 || data % 4 == 1 || (padding > 0 && (data + padding) % 4 != 0)) {
    return make_error(Errc::invalid, "the text is not base64");
  }
  return out;
}

}  // namespace ztp::aws
