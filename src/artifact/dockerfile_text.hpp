#pragma once

// The small text helpers that reading a Dockerfile (dockerfile.cpp) and planning its stages
// (dockerfile_plan.cpp) share. Not for other files.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "util/text.hpp"

namespace ztp::artifact::dockerfile::detail {

using text::is_space;
using text::to_lower;
using text::to_upper;
using text::trim;
using text::trim_left;

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}
template <size_t N>
inline bool contains(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

inline Error fail_at(std::string_view file, int line, std::string_view what) {
  return make_error(Errc::invalid, fmt::format("{}:{}: {}", file, line, what));
}

}  // namespace ztp::artifact::dockerfile::detail
