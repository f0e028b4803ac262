#pragma once

#include <string>
#include <vector>

namespace ztp::source {

// Whether a commit starts a run, which of its paths made it so, and why, for a person.
struct TriggerDecision {
  bool triggers = false;
  std::vector<std::string> matched;  // the changed paths that match a glob, in the given order
  std::string reason;                // one line: "2 changed paths match application/**"
};

// Decides on the paths a commit changed (GitRepo::changed_paths) against source.paths. Empty
// globs: every commit triggers, one that changes nothing included. Otherwise it triggers when a
// changed path matches one glob (util/glob.hpp; an invalid glob matches nothing).
TriggerDecision decide_trigger(const std::vector<std::string>& changed_paths,
                               const std::vector<std::string>& path_globs);

}  // namespace ztp::source
