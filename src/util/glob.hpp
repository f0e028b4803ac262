#pragma once

#include <string_view>

#include "util/result.hpp"

namespace ztp {

// Checks a path glob: Errc::invalid, saying what is wrong, for an empty pattern, an absolute
// pattern, an empty segment (`a//b`), an unclosed or empty `[` class, a class holding `/`, a
// dangling `\`, or `**` that is not a whole segment (`***`, `a**`).
Result<void> validate_glob(std::string_view pattern);

// Whether `path` (relative, `/`-separated, like a path in a git tree) matches `pattern`.
// `**` as a whole segment matches any number of segments, zero included (`a/**` matches `a`,
// `a/x` and `a/x/y`; `**/*.md` matches `README.md`); `*` and `?` never cross `/`; `[abc]`,
// `[a-z]` and `[!x]` match one character; `\` escapes the next character. An invalid pattern
// matches nothing.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace ztp
