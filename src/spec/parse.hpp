#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/result.hpp"

namespace ztp::spec {

// One problem found in ztp.yaml, at the node that caused it (1-based line and column; 0 when
// it concerns the whole file).
struct Diagnostic {
  std::string file;  // as the caller named it
  int line = 0;
  int column = 0;
  std::string message;  // what is wrong
  std::string hint;     // what to do; may be empty
};

// `FILE:LINE:COL: message (hint)`; without `(hint)` when there is none.
std::string to_string(const Diagnostic& d);

// Either a valid Spec (and no diagnostics) or every problem found, sorted by position.
struct ParseOutcome {
  std::optional<Spec> spec;
  std::vector<Diagnostic> diagnostics;
};

// Looks up an environment variable for `${VAR}`; nullopt when it is unset.
using LookupEnv = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, for LookupEnv.
std::optional<std::string> process_env(const std::string& name);

// Parses and validates the text of a ztp.yaml: expands `${VAR}`, `${VAR:-default}` and `$$`
// in scalar values, fills defaults, and checks every rule of docs/ztp-yaml.md, reporting all
// problems at once. Never throws; YAML syntax errors are diagnostics too. Spec::file is set to
// `file_name` as given.
ParseOutcome parse_spec(std::string_view text, const std::string& file_name,
                        const LookupEnv& lookup_env);

// Reads `path` and parses it with the process environment; Spec::file is absolute.
// Errc::not_found when the file does not exist (the message says to run `ztp init` or pass
// -f); other read failures as fs::read_file reports them.
Result<ParseOutcome> read_spec(const std::filesystem::path& path);

// read_spec, with the diagnostics folded into one Errc::invalid error (one per line).
Result<Spec> load_spec(const std::filesystem::path& path);

}  // namespace ztp::spec
