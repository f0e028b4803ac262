#include "source/trigger.hpp"

#include <fmt/format.h>

#include "util/glob.hpp"

namespace ztp::source {
namespace {

// At most this many paths are named in a reason; the rest are counted.
constexpr size_t k_paths_shown = 5;

std::string list_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> shown(paths.begin(),
                                 paths.begin() + std::min(paths.size(), k_paths_shown));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (paths.size() > shown.size()) {
    text += fmt::format(" and {} more", paths.size() - shown.size());
  }
  return text;
}

std::string plural_paths(size_t n) {
  return n == 1 ? "1 changed path" : fmt::format("{} changed paths", n);
}

}  // namespace

TriggerDecision decide_trigger(const std::vector<std::string>& changed_paths,
                               const std::vector<std::string>& path_globs) {
  TriggerDecision d;
  if (path_globs.empty()) {
    d.triggers = true;
    d.matched = changed_paths;
    d.reason = changed_paths.empty()
                   ? "every commit triggers (source.paths is empty), this one changes no path"
                   : fmt::format("{} (source.paths is empty: every change triggers)",
                                 plural_paths(changed_paths.size()));
    return d;
  }
  std::vector<bool> glob_hit(path_globs.size(), false);
  for (const auto& path : changed_paths) {
    bool matched = false;
    for (size_t g = 0; g < path_globs.size(); ++g) {
      if (glob_match(path_globs[g], path)) {
        glob_hit[g] = true;
        matched = true;
      }
    }
    if (matched) {
      d.matched.push_back(path);
    }
  }
  std::vector<std::string> globs_hit;
  for (size_t g = 0; g < path_globs.size(); ++g) {
    if (glob_hit[g]) {
      globs_hit.push_back(path_globs[g]);
    }
  }
  d.triggers = !d.matched.empty();
  if (d.triggers) {
    d.reason = fmt::format("{} {} {}", plural_paths(d.matched.size()),
                           d.matched.size() == 1 ? "matches" : "match", fmt::join(globs_hit, ", "));
  } else if (changed_paths.empty()) {
    d.reason = fmt::format("no changed path matches {} (the commit changes no path)",
                           fmt::join(path_globs, ", "));
  } else {
    d.reason = fmt::format("no changed path matches {} (changed: {})", fmt::join(path_globs, ", "),
                           list_paths(changed_paths));
  }
  return d;
}

}  // namespace ztp::source
