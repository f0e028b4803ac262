#include "util/template.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/text.hpp"

namespace ztp {
namespace {

constexpr std::string_view k_open = "{{";
constexpr std::string_view k_close = "}}";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string known_names(const std::map<std::string, std::string>& vars) {
  if (vars.empty()) {
    return "none";
  }
  std::string out;
  for (const auto& [name, value] : vars) {
    if (!out.empty()) {
      out += ", ";
    }
    out += name;
  }
  return out;
}

}  // namespace

Result<std::string> render_template(std::string_view text,
                                    const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  int line = 1;
  while (true) {
    size_t open = text.find(k_open, pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    std::string_view before = text.substr(pos, open - pos);
    line += static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    out.append(before);

    size_t inner = open + k_open.size();
    size_t close = text.find(k_close, inner);
    size_t newline = text.find('\n', inner);
    if (close == std::string_view::npos || newline < close) {
      return make_error(Errc::invalid,
                        fmt::format("line {}: unclosed {{{{ (a template variable is written "
                                    "{{{{name}}}} on one line)",
                                    line));
    }
    std::string_view name = text::trim(text.substr(inner, close - inner));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
      return make_error(Errc::invalid,
                        fmt::format("line {}: invalid template variable {{{{{}}}}}; a name is "
                                    "letters, digits and _; known: {}",
                                    line, name, known_names(vars)));
    }
    auto it = vars.find(std::string(name));
    if (it == vars.end()) {
      return make_error(Errc::invalid,
                        fmt::format("line {}: unknown template variable {{{{{}}}}}; known: {}",
                                    line, name, known_names(vars)));
    }
    out += it->second;
    pos = close + k_close.size();
  }
}

}  // namespace ztp
