#include "support/aws_fake_protocol.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "support/fake_http_server.hpp"
#include "util/text.hpp"

namespace ztp::testing {

std::string AwsFakeEnv::hex_id(std::size_t digits) {
  std::uint64_t n = next_id++;
  // Spread the counter over the digits so ids do not share a long run of zeros.
  std::uint64_t mixed = n * 0x9E3779B97F4A7C15ULL;
  std::string out;
  while (out.size() < digits) {
    out += fmt::format("{:016x}", mixed);
    mixed = mixed * 6364136223846793005ULL + n;
  }
  out.resize(digits);
  return out;
}

std::string AwsFakeEnv::uuid() {
  std::uint64_t n = next_id++;
  return fmt::format("{:08x}-0000-4000-8000-{:012x}", static_cast<std::uint32_t>(n * 2654435761U),
                     n);
}

std::string AwsFakeEnv::decimal_id(std::size_t digits) {
  std::uint64_t n = next_id++;
  std::string out = fmt::format("{}", 7'000'000'000'000'000'000ULL + n * 7919ULL);
  while (out.size() < digits) {
    out += "0";
  }
  out.resize(digits);
  return out;
}

std::vector<std::string> missing_members(const nlohmann::json& input,
                                         const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (!input.is_object() || !input.contains(name) || input.at(name).is_null()) {
      out.push_back(name);
    }
  }
  return out;
}

std::string missing_members_message(const std::vector<std::string>& names) {
  std::string out =
      fmt::format("{} validation error{} detected: ", names.size(), names.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}Value null at '{}' failed to satisfy constraint: Member must not be null",
                       i == 0 ? "" : "; ", names[i]);
  }
  return out;
}

bool has(const nlohmann::json& in, const char* key) {
  return in.is_object() && in.contains(key) && !in.at(key).is_null();
}

std::string str(const nlohmann::json& in, const char* key, const std::string& fallback) {
  if (!has(in, key)) {
    return fallback;
  }
  const auto& v = in.at(key);
  if (v.is_string()) {
    return v.get<std::string>();
  }
  return v.is_primitive() ? v.dump() : fallback;
}

std::optional<std::int64_t> optional_integer(const nlohmann::json& in, const char* key) {
  if (!has(in, key)) {
    return std::nullopt;
  }
  const auto& v = in.at(key);
  if (v.is_number()) {
    return static_cast<std::int64_t>(v.get<double>());
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end != nullptr && *end == '\0') {
      return n;
    }
  }
  return std::nullopt;
}

std::int64_t integer(const nlohmann::json& in, const char* key, std::int64_t fallback) {
  return optional_integer(in, key).value_or(fallback);
}

bool boolean(const nlohmann::json& in, const char* key, bool fallback) {
  if (!has(in, key)) {
    return fallback;
  }
  const auto& v = in.at(key);
  if (v.is_boolean()) {
    return v.get<bool>();
  }
  if (v.is_string()) {
    return v.get<std::string>() == "true";
  }
  return fallback;
}

double number(const nlohmann::json& value, double fallback) {
  if (value.is_number()) {
    return value.get<double>();
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end != nullptr && *end == '\0') {
      return d;
    }
  }
  return fallback;
}

nlohmann::json list(const nlohmann::json& in, const char* key) {
  if (!has(in, key) || !in.at(key).is_array()) {
    return nlohmann::json::array();
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : in.at(key)) {
    if (!item.is_null()) {
      out.push_back(item);
    }
  }
  return out;
}

std::vector<std::string> strings(const nlohmann::json& in, const char* key) {
  std::vector<std::string> out;
  for (const auto& item : list(in, key)) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    }
  }
  return out;
}

double epoch_seconds(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000.0;
}

WallTime from_epoch_seconds(double seconds) {
  auto ms = static_cast<std::int64_t>(std::llround(seconds * 1000.0));
  return WallTime(std::chrono::milliseconds(ms));
}

std::string iso8601(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Puts `value` at the dotted `path` below `node`, "member.N" selecting the N-th list item.
void put_path(nlohmann::json& node, const std::vector<std::string>& path, std::size_t at,
              const std::string& value) {
  if (at == path.size()) {
    node = value;
    return;
  }
  if (path[at] == "member" && at + 1 < path.size() && all_digits(path[at + 1])) {
    std::size_t index = std::stoul(path[at + 1]);
    if (!node.is_array()) {
      node = nlohmann::json::array();
    }
    while (node.size() < index) {
      node.push_back(nullptr);
    }
    if (index == 0) {
      return;
    }
    put_path(node[index - 1], path, at + 2, value);
    return;
  }
  if (!node.is_object()) {
    node = nlohmann::json::object();
  }
  put_path(node[path[at]], path, at + 1, value);
}

void write_xml(std::string& out, const nlohmann::json& value) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (item.is_null()) {
        continue;
      }
      out += "<" + key + ">";
      write_xml(out, item);
      out += "</" + key + ">";
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      out += "<member>";
      write_xml(out, item);
      out += "</member>";
    }
  } else if (value.is_string()) {
    out += text::escape_markup(value.get_ref<const std::string&>());
  } else if (value.is_boolean()) {
    out += value.get<bool>() ? "true" : "false";
  } else if (!value.is_null()) {
    out += value.dump();
  }
}

}  // namespace

nlohmann::json decode_query_form(std::string_view body) {
  nlohmann::json out = nlohmann::json::object();
  while (!body.empty()) {
    std::string_view pair = body.substr(0, body.find('&'));
    body.remove_prefix(std::min(body.size(), pair.size() + 1));
    if (pair.empty()) {
      continue;
    }
    std::size_t eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    std::vector<std::string> path;
    std::string_view rest = key;
    while (true) {
      std::size_t dot = rest.find('.');
      path.emplace_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(dot + 1);
    }
    put_path(out, path, 0, value);
  }
  return out;
}

std::string query_response_xml(const std::string& action, const std::string& xml_namespace,
                               const nlohmann::json& result, const std::string& request_id) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<{}Response xmlns=\"{}\"><{}Result>", action,
                     text::escape_markup(xml_namespace), action);
  write_xml(out, result);
  out += fmt::format(
      "</{}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></"
      "{}Response>\n",
      action, text::escape_markup(request_id), action);
  return out;
}

std::string query_error_xml(const AwsError& error, const std::string& xml_namespace,
                            const std::string& request_id) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{}\"><Error><Type>{}</"
      "Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></"
      "ErrorResponse>\n",
      text::escape_markup(xml_namespace), error.status >= 500 ? "Receiver" : "Sender",
      text::escape_markup(error.code), text::escape_markup(error.message),
      text::escape_markup(request_id));
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += k_alphabet[(n >> 6) & 63];
    out += k_alphabet[n & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) {
      n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    }
    out += k_alphabet[(n >> 18) & 63];
    out += k_alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? k_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string page_token(std::size_t offset) { return fmt::format("page-{}", offset); }

std::optional<std::size_t> page_offset(const std::string& token) {
  if (token.rfind("page-", 0) != 0 || !all_digits(std::string_view(token).substr(5))) {
    return std::nullopt;
  }
  return std::stoul(token.substr(5));
}

}  // namespace ztp::testing
