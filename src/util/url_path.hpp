#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ztp {

// The segments of a request target's path, without its query and without empty segments:
// "/api/v1//runs/7?x=1" -> {"api", "v1", "runs", "7"}. No percent-decoding.
std::vector<std::string> path_segments(std::string_view target);

}  // namespace ztp
