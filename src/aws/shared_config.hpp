#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "util/result.hpp"

// The AWS shared config and credentials files (~/.aws/config, ~/.aws/credentials) and the
// environment that locates them, read as the AWS SDKs' common profile-file rules say:
//  - a section is `[default]`, `[profile NAME]`, `[sso-session NAME]` or `[services NAME]` in
//    the config file, `[NAME]` in the credentials file; a section with another shape or a
//    name outside [A-Za-z0-9_-/.%@:+] is ignored with its properties;
//  - `name = value` with whitespace around either trimmed; in a value, '#' or ';' after
//    whitespace starts a comment; a section line may end with a comment of either kind;
//    lines starting with '#' or ';' are comments, blank lines are skipped;
//  - a line starting with whitespace continues the previous property's value (joined with
//    "\n"), or, when that property's value was empty, holds a sub-property `name = value`
//    (`ecs =` then `  endpoint_url = https://...`);
//  - a section seen twice, or in both files, is merged; the later value of a property wins and
//    the credentials file wins over the config file; `[profile default]` wins over `[default]`.
// A property before any section, a line without '=', a property without a name or a
// continuation without a property is an error naming file:line.
namespace ztp::aws {

// Environment variables by name, injected wherever the AWS logic reads the environment so
// tests control it. An empty value counts as unset.
using Env = std::map<std::string, std::string, std::less<>>;

// This process's environment.
Env process_env();

// The value of `name` in `env`, or "" when it is unset.
std::string env_value(const Env& env, std::string_view name);

// True when `name` is set to "true" in any case (AWS_EC2_METADATA_DISABLED and friends).
bool env_true(const Env& env, std::string_view name);

// One section: its properties and the sub-properties of properties with nested lines.
struct ConfigSection {
  std::map<std::string, std::string, std::less<>> properties{};
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>>
      sub_properties{};
  std::string where{};  // "path:line" of its first header, for messages

  // The value of property `name`, or "" when it is absent.
  std::string get(std::string_view name) const;
  // The sub-property `sub` of property `name`, or "" when it is absent.
  std::string get(std::string_view name, std::string_view sub) const;
  bool has(std::string_view name) const { return properties.contains(name); }
};

// Which file a text comes from: the kinds name their sections differently.
enum class SharedFileKind { config, credentials };

// Both files, merged, and the profile selected.
struct SharedConfig {
  std::filesystem::path config_file{};       // where the config file was looked for
  std::filesystem::path credentials_file{};  // where the credentials file was looked for
  std::map<std::string, ConfigSection, std::less<>> profiles{};
  std::map<std::string, ConfigSection, std::less<>> services{};      // [services NAME]
  std::map<std::string, ConfigSection, std::less<>> sso_sessions{};  // parsed, not used
  std::string profile_name = "default";                              // the selected profile
  bool profile_named = false;  // chosen explicitly or by AWS_PROFILE

  // The selected profile, or nullptr when it exists in neither file (only possible for an
  // unnamed "default": a named one that is missing fails load_shared_config).
  const ConfigSection* profile() const;
  // `profile "NAME" (in PATH or PATH)` for messages: which profile and the files looked in.
  std::string describe() const;
};

// Parses the text of one file into `into` (merging as above); `path` names it in errors:
// invalid "PATH:LINE: what is wrong".
Result<void> parse_shared_file(std::string_view text, SharedFileKind kind, const std::string& path,
                               SharedConfig& into);

// The files' locations: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (a leading "~/" is
// $HOME), else $HOME/.aws/config and $HOME/.aws/credentials.
std::filesystem::path config_file_path(const Env& env);
std::filesystem::path credentials_file_path(const Env& env);

// Reads both files (a missing file is empty) and selects the profile: `explicit_profile`,
// else AWS_PROFILE, else "default". invalid for a file that cannot be read or parsed (naming
// file:line); not_found when a named profile is in neither file, naming it and both files.
Result<SharedConfig> load_shared_config(const Env& env, std::string_view explicit_profile = {});

}  // namespace ztp::aws
