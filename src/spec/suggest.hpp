#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ztp::spec {

// Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`.
size_t edit_distance(std::string_view a, std::string_view b);

// "did you mean `x`?" for the candidate closest to `word` when it is close enough to be a
// typo; otherwise "use one of: a, b, c" (`what` names the list, e.g. "known keys").
std::string suggest(std::string_view word, const std::vector<std::string>& candidates,
                    std::string_view what = "use one of");

}  // namespace ztp::spec
