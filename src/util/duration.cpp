#include "util/duration.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>

namespace ztp {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Largest first: a duration lists its parts in this order.
constexpr Unit k_units[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};

Error bad(std::string_view text, std::string_view why) {
  return make_error(Errc::invalid, fmt::format("`{}` {}", text, why));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) {
    return make_error(Errc::invalid, "the duration is empty");
  }
  if (text.front() == '-') {
    return bad(text, "is negative; durations are 0 or more");
  }
  constexpr int64_t k_max = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t last_unit = 0;  // index into k_units + 1 of the previous part's unit
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      return bad(text, fmt::format("has `{}` where a number was expected", text[i]));
    }
    int64_t number = 0;
    while (i < text.size() && is_digit(text[i])) {
      int digit = text[i] - '0';
      if (number > (k_max - digit) / 10) {
        return bad(text, "is too large");
      }
      number = number * 10 + digit;
      ++i;
    }
    if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
      return bad(text, "has a fraction; use a smaller unit instead, like 1500ms for 1.5s");
    }
    size_t unit_start = i;
    while (i < text.size() && is_alpha(text[i])) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (i < text.size()) {
        return bad(text, fmt::format("has `{}` where a unit was expected", text[i]));
      }
      return bad(text,
                 fmt::format("has no unit; write {}s for seconds, or use ms, m or h", number));
    }
    size_t index = 0;
    while (index < std::size(k_units) && k_units[index].name != unit) {
      ++index;
    }
    if (index == std::size(k_units)) {
      return bad(text, fmt::format("has the unknown unit `{}`; use ms, s, m or h", unit));
    }
    if (index + 1 <= last_unit) {
      return bad(text,
                 "repeats a unit or lists units out of order; write the largest first, like 1h30m");
    }
    last_unit = index + 1;
    int64_t scale = k_units[index].ms;
    if (number > k_max / scale || total > k_max - number * scale) {
      return bad(text, "is too large");
    }
    total += number * scale;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  uint64_t left = 0;
  if (ms < 0) {
    out = "-";
    left = static_cast<uint64_t>(-(ms + 1)) + 1;
  } else {
    left = static_cast<uint64_t>(ms);
  }
  for (const auto& unit : k_units) {
    uint64_t scale = static_cast<uint64_t>(unit.ms);
    if (left >= scale) {
      out += fmt::format("{}{}", left / scale, unit.name);
      left %= scale;
    }
  }
  return out;
}

}  // namespace ztp
