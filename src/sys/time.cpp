#include "sys/time.hpp"

#include <date/date.h>
#include <fmt/format.h>

#include <ctime>
#include <sstream>

namespace ztp::sys {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string format_rfc3339(WallTime t, TimePrecision precision) {
  if (precision == TimePrecision::seconds) {
    return date::format("%FT%TZ", std::chrono::floor<seconds>(t));
  }
  return date::format("%FT%TZ", std::chrono::floor<milliseconds>(t));
}

Result<WallTime> parse_rfc3339(std::string_view text) {
  // The fraction is cut off first so any number of digits parses, kept to milliseconds.
  auto bad = [&] {
    return make_error(
        Errc::invalid,
        fmt::format("'{}' is not an RFC 3339 UTC time like 2026-01-31T12:00:00Z", text));
  };
  if (text.size() < 20 || text.back() != 'Z') {
    return bad();
  }
  std::string_view whole = text.substr(0, 19);
  std::string_view fraction = text.substr(19, text.size() - 20);
  milliseconds millis{0};
  if (!fraction.empty()) {
    if (fraction[0] != '.' || fraction.size() < 2) {
      return bad();
    }
    int scale = 100;
    for (char c : fraction.substr(1)) {
      if (c < '0' || c > '9') {
        return bad();
      }
      millis += milliseconds((c - '0') * scale);
      scale /= 10;
    }
  }
  auto at = parse_utc(whole, "%Y-%m-%dT%H:%M:%S");
  if (!at.ok()) {
    return bad();
  }
  return *at + millis;
}

std::string format_utc(WallTime t, const std::string& format) {
  return date::format(format, std::chrono::floor<seconds>(t));
}

std::string format_local(WallTime t, const std::string& format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[128];
  size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
  return std::string(buf, n);
}

Result<WallTime> parse_utc(std::string_view text, const std::string& format) {
  std::istringstream in{std::string(text)};
  date::sys_seconds at;
  in >> date::parse(format, at);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
    return make_error(Errc::invalid, fmt::format("'{}' is not a time like {}", text, format));
  }
  return WallTime(at);
}

Result<WallTime> parse_http_date(std::string_view text) {
  return parse_utc(text, "%a, %d %b %Y %H:%M:%S GMT");
}

}  // namespace ztp::sys
