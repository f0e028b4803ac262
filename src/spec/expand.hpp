#pragma once

#include <string>
#include <string_view>

#include "spec/parse.hpp"

namespace ztp::spec {

// The outcome of expanding one scalar: the text, or why it could not be expanded.
struct Expansion {
  std::string value;
  std::string error;  // empty on success
  std::string hint;
  bool ok() const { return error.empty(); }
};

// Expands `${VAR}` (unset: an error naming VAR), `${VAR:-default}` (the default when VAR is
// unset or empty) and `$$` (a literal `$`) in `text`. Any other `$` stays as written, so
// regexes like `^a$` need no escaping.
Expansion expand_variables(std::string_view text, const LookupEnv& lookup);

}  // namespace ztp::spec
