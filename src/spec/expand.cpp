#include "spec/expand.hpp"

#include <fmt/format.h>

namespace ztp::spec {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

Expansion expand_variables(std::string_view text, const LookupEnv& lookup) {
  Expansion out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.value += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out.value += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out.value += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = "`${` is not closed by `}`";
      out.hint = "write ${NAME}, or $$ for a literal $";
      return out;
    }
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    bool valid = !name.empty() && is_name_start(name.front());
    for (char n : name) {
      valid = valid && is_name_char(n);
    }
    if (!valid) {
      out.error = fmt::format("`${{{}}}` is not a valid variable reference", inner);
      out.hint =
          "names are letters, digits and _, like ${SLACK_WEBHOOK_URL}; write $$ for a "
          "literal $";
      return out;
    }
    std::optional<std::string> found = lookup ? lookup(std::string(name)) : std::nullopt;
    if (fallback && (!found || found->empty())) {
      out.value += *fallback;
    } else if (found) {
      out.value += *found;
    } else {
      out.error = fmt::format("environment variable `{}` is not set", name);
      out.hint =
          fmt::format("export {}=... before running ztp, or write ${{{}:-default}}", name, name);
      return out;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace ztp::spec
