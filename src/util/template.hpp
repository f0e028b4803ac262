#pragma once

#include <map>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp {

// Replaces each `{{name}}` (spaces inside the braces allowed: `{{ name }}`) in `text` with
// vars[name]; a variable is written on one line. Errc::invalid for an unknown variable, an
// unclosed `{{` or a malformed name, with a message naming the variable and its line
// ("line 12: unknown template variable {{prot}}; known: env, port"); callers prefix the file.
Result<std::string> render_template(std::string_view text,
                                    const std::map<std::string, std::string>& vars);

}  // namespace ztp
