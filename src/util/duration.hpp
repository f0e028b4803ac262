#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp {

// Parses a duration written as one or more whole numbers with units, largest unit first:
// `500ms`, `10s`, `5m`, `1h`, `1m30s`. Errc::invalid (the message says why and shows the text)
// when it is empty, negative, fractional, lacks a unit, has an unknown or repeated unit, or
// does not fit in 64-bit milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest text parse_duration reads back as `d`: `0s`, `500ms`, `1m30s`, `1h5m`.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace ztp
