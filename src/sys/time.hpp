#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

// Formatting and parsing wall-clock times, on Howard Hinnant's date library (Debian's
// libhowardhinnant-date-dev). Time zones of the spec go through date/tz.h where they are read
// (engine/holds); nothing here or anywhere sets TZ.
namespace ztp::sys {

using WallTime = std::chrono::system_clock::time_point;

// The time `ms` milliseconds after the Unix epoch (how the store keeps times).
inline WallTime from_unix_ms(std::int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

enum class TimePrecision { seconds, milliseconds };

// RFC 3339 in UTC: "2026-01-31T12:00:00.000Z", or "2026-01-31T12:00:00Z" for seconds.
std::string format_rfc3339(WallTime t, TimePrecision precision = TimePrecision::milliseconds);

// What format_rfc3339 writes, with any number of fractional digits (kept to milliseconds) or
// none; invalid otherwise.
Result<WallTime> parse_rfc3339(std::string_view text);

// `t` in UTC by a strftime-style `format` ("%Y-%m-%d %H:%M"), whole seconds.
std::string format_utc(WallTime t, const std::string& format);

// `t` in the machine's local zone (TZ, else /etc/localtime) by a strftime-style `format`.
std::string format_local(WallTime t, const std::string& format);

// A UTC time written by `format` (date::parse's flags; a space matches any run of spaces),
// the whole text; invalid otherwise.
Result<WallTime> parse_utc(std::string_view text, const std::string& format);

// RFC 9110's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; invalid otherwise.
Result<WallTime> parse_http_date(std::string_view text);

}  // namespace ztp::sys
