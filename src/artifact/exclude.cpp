#include "artifact/exclude.hpp"

#include <fmt/format.h>

#include "util/glob.hpp"

namespace ztp::artifact {
namespace {

constexpr std::string_view k_always_excluded[] = {".git", ".ztp"};

}  // namespace

Result<void> validate_excludes(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    auto valid = validate_glob(p);
    if (!valid.ok()) {
      return make_error(Errc::invalid, fmt::format("build.exclude: {}", valid.error().message));
    }
  }
  return {};
}

bool is_excluded(const std::vector<std::string>& patterns, std::string_view rel) {
  std::string_view top = rel.substr(0, rel.find('/'));
  for (auto name : k_always_excluded) {
    if (top == name) {
      return true;
    }
  }
  // The path itself, then each parent directory ("a/b/c": a/b/c, a/b, a).
  for (size_t end = rel.size(); end != std::string_view::npos && end > 0;
       end = rel.rfind('/', end - 1)) {
    std::string_view path = rel.substr(0, end);
    for (const auto& p : patterns) {
      if (glob_match(p, path)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace ztp::artifact
