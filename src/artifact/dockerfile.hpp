#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

// Reading a Dockerfile: the syntax (instructions, continuation lines, the escape directive,
// exec and shell forms, flags) and the plan of what each stage builds (its base, its copies,
// the config it sets), with ARG and ENV substituted as Docker does.
namespace ztp::artifact::dockerfile {

// One instruction as written: its keyword in upper case, the line it starts on, its --flags,
// and its arguments (the JSON array of the exec form, or the words of the shell form).
// ENV, LABEL and ARG words are split on blanks outside quotes and keep their quotes and escapes,
// which substitute() removes, as Docker does. HEALTHCHECK's args are its type (CMD, NONE) then
// the array (exec_form) or the words. Nothing is substituted yet.
struct Instruction {
  std::string keyword;  // "FROM", "COPY", ...
  int line = 0;         // 1-based line of the keyword
  // "--from=x" -> {"from", "x"}; "--link" -> {"link", ""}; values as written, unsubstituted
  std::map<std::string, std::string> flags;
  std::vector<std::string> args;  // exec form: the array; shell form: split on blanks
  bool exec_form = false;         // arguments were a JSON array
  std::string rest;               // everything after the keyword and flags, as one line
};

// A Dockerfile's instructions and its escape character.
struct Parsed {
  std::vector<Instruction> instructions;
  char escape = '\\';  // a backslash, or what a `# escape=` parser directive names
};

// Splits `text` into instructions: comments and blank lines dropped, continuation lines (the
// escape character at the end of a line) joined. invalid, naming `file` and the line, for a
// malformed flag, a JSON array holding a non-string, a bad parser directive or a here-document
// (<<EOF). Text that is not valid JSON is the shell form, as in Docker; unknown keywords are
// left to plan().
Result<Parsed> parse(std::string_view text, std::string_view file);

// Substitutes $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word} in `word` from `vars` (an unset
// variable is empty, as in Docker); the escape character before `$` keeps it literal.
// Like Docker's shell lexer it also removes quotes ('...' is literal, "..." is substituted),
// makes the character after an unquoted escape character literal, and reads ${VAR-word},
// ${VAR+word}, ${VAR?message} and ${VAR:?message}. The pattern forms (${VAR#p}, ${VAR%p},
// ${VAR/p/r}) are invalid here.
Result<std::string> substitute(std::string_view word,
                               const std::map<std::string, std::string>& vars, char escape = '\\');

// A COPY or ADD of files: from the build context, or from an earlier stage's file system.
struct Copy {
  int line = 0;
  std::vector<std::string> sources;  // after substitution; may hold globs (*, ?, [...])
  std::string dest;                  // absolute after WORKDIR is applied; ends in / for a dir
  std::optional<int> from_stage;     // index of the stage, when --from names one
  std::optional<std::uint32_t> uid;  // --chown, numeric (a name is resolved by the caller)
  std::optional<std::uint32_t> gid;
  std::string chown;                   // --chown as written, after substitution, when given
  std::optional<std::uint32_t> chmod;  // --chmod, octal
};

// What a stage's instructions set in the image config. Unset fields keep the base's value.
struct ConfigChanges {
  std::optional<std::vector<std::string>> entrypoint;  // shell form: {"/bin/sh", "-c", text}
  std::optional<std::vector<std::string>>
      cmd;  // empty: cleared by ENTRYPOINT (no CMD in the stage)
  std::vector<std::pair<std::string, std::string>> env;  // in order; later wins
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // "80/tcp"
  std::optional<std::string> working_dir;
  std::optional<std::string> user;
  std::optional<std::string> stop_signal;
  std::optional<nlohmann::json> healthcheck;  // the config's Healthcheck object (Test, Interval..)
};

// One stage: FROM BASE [AS NAME] and what follows up to the next FROM.
struct Stage {
  int line = 0;                   // the FROM line
  std::string name;               // lower-cased AS name; empty when none
  std::string base;               // the image reference after substitution, or "scratch"
  std::string platform;           // --platform after substitution; empty when none
  std::optional<int> base_stage;  // index of an earlier stage when FROM names one
  // The base's Env ("K=V"): what the caller gave for an image, the Env an earlier stage ends
  // with for a stage. Substitution also sees PATH (BuildKit's default when the base sets none)
  // and, in a stage built on an earlier one, that stage's ARG values, as BuildKit does.
  std::vector<std::string> base_env;
  std::vector<Copy> copies;
  ConfigChanges config;
  std::optional<int> run_line;  // the first RUN of this stage, when any
};

// The stages of a Dockerfile, the image being the last one.
struct Plan {
  std::vector<Stage> stages;
  std::optional<int> first_run_line;     // the first RUN anywhere, when any
  std::vector<std::string> unused_args;  // build args given that no ARG declares
};

// The Env ("K=V") of an external base image `ref`, for substitution in its stage; called once
// per FROM that names neither scratch nor an earlier stage.
using BaseEnv = std::function<Result<std::vector<std::string>>(const std::string& ref, int line)>;

// Plans the build of `parsed` (from `file`) with `build_args` (ARG defaults are used for
// args not given). Build args named like Docker's predefined platform args (TARGETARCH,
// BUILDPLATFORM...) are visible to FROM lines without an ARG, as in Docker. A relative WORKDIR
// or COPY destination before any WORKDIR is taken from /: the base image's WorkingDir is not
// known here. Supported: FROM (AS, --platform), ARG, ENV, LABEL, EXPOSE, WORKDIR, USER,
// ENTRYPOINT, CMD, HEALTHCHECK (NONE or CMD with --interval --timeout --start-period
// --start-interval --retries), STOPSIGNAL, COPY and ADD of local files (--from, --chown, --chmod;
// ADD of a URL or an archive is refused), RUN (recorded in run_line: building it needs a runtime).
// Any other instruction (ONBUILD, SHELL, VOLUME, MAINTAINER...) is invalid at its line: "FILE:LINE:
// ..." with the fix.
Result<Plan> plan(const Parsed& parsed, std::string_view file,
                  const std::map<std::string, std::string>& build_args, const BaseEnv& base_env);

}  // namespace ztp::artifact::dockerfile
