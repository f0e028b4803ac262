#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace ztp::artifact {

// build.exclude over a build context, the same for every FileSource.

// Checks every glob; invalid ("build.exclude: ...") naming what is wrong with the first bad one.
Result<void> validate_excludes(const std::vector<std::string>& patterns);

// Whether the entry at `rel` (relative to the context, '/'-separated) stays out of the image:
// `.git` and `.ztp` at the top (repository and state, never shipped), or a path that a pattern
// (util/glob.hpp) matches, itself or one of its parent directories.
bool is_excluded(const std::vector<std::string>& patterns, std::string_view rel);

}  // namespace ztp::artifact
