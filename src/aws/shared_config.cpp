#include "aws/shared_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "util/fs.hpp"
#include "util/text.hpp"

extern char** environ;  // NOLINT: POSIX

namespace ztp::aws {
namespace {

using Sections = std::map<std::string, ConfigSection, std::less<>>;

bool blank_or_tab(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && blank_or_tab(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && blank_or_tab(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// Profile, section and property names: the characters the SDKs accept.
bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("_-/.%@:+").find(c) != std::string_view::npos;
  });
}

// `text` minus "PREFIX<blanks>" at its start, or nullopt when it does not start so.
std::optional<std::string_view> after_prefix(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix) || text.size() == prefix.size() ||
      !blank_or_tab(text[prefix.size()])) {
    return std::nullopt;
  }
  return trim_blanks(text.substr(prefix.size()));
}

// One file being read: its sections, kept apart until the file is done so `[profile default]`
// can replace `[default]` of the same file only.
class FileParser {
 public:
  FileParser(SharedFileKind kind, const std::string& path) : m_kind(kind), m_path(path) {}

  Result<void> line(std::string_view raw, int number) {
    m_line = number;
    if (!raw.empty() && raw.back() == '\r') {
      raw.remove_suffix(1);
    }
    if (trim_blanks(raw).empty() || raw.front() == '#' || raw.front() == ';') {
      return {};
    }
    if (raw.front() == '[') {
      return section(raw);
    }
    if (blank_or_tab(raw.front())) {
      return continuation(trim_blanks(raw));
    }
    return property(raw);
  }

  Sections profiles;
  Sections services;
  Sections sso_sessions;

 private:
  Error fail(std::string_view what) const {
    return make_error(Errc::invalid, fmt::format("{}:{}: {}", m_path, m_line, what));
  }

  Result<void> section(std::string_view raw) {
    std::string_view text = trim_blanks(raw.substr(0, raw.find_first_of("#;")));
    if (text.size() < 2 || text.back() != ']') {
      return fail("a section header must end with ']'");
    }
    std::string_view inner = trim_blanks(text.substr(1, text.size() - 2));
    m_section = nullptr;
    m_property.clear();
    m_ignoring_property = false;
    m_ignoring = true;  // until the header proves valid
    Sections* into = &profiles;
    std::string_view name = inner;
    bool prefixed = false;
    if (m_kind == SharedFileKind::config) {
      if (auto p = after_prefix(inner, "profile")) {
        name = *p;
        prefixed = true;
      } else if (auto s = after_prefix(inner, "sso-session")) {
        name = *s;
        into = &sso_sessions;
      } else if (auto v = after_prefix(inner, "services")) {
        name = *v;
        into = &services;
      } else if (inner != "default") {
        return {};  // neither a profile nor a known kind of section
      }
    }
    if (!valid_name(name)) {
      return {};
    }
    if (into == &profiles && name == "default" && m_kind == SharedFileKind::config) {
      if (!prefixed && m_default_prefixed) {
        return {};  // [profile default] came first: this [default] is ignored
      }
      if (prefixed && !m_default_prefixed) {
        profiles.erase("default");
        m_default_prefixed = true;
      }
    }
    auto [it, fresh] = into->try_emplace(std::string(name));
    if (fresh) {
      it->second.where = fmt::format("{}:{}", m_path, m_line);
    }
    m_section = &it->second;
    m_ignoring = false;
    return {};
  }

  Result<void> property(std::string_view raw) {
    m_property.clear();
    if (m_ignoring) {
      return {};
    }
    if (m_section == nullptr) {
      return fail("a property must follow a section header like [default] or [profile NAME]");
    }
    size_t comment = raw.size();
    for (std::string_view mark : {" #", " ;", "\t#", "\t;"}) {
      comment = std::min(comment, raw.find(mark));
    }
    std::string_view text = trim_blanks(raw.substr(0, comment));
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) {
      return fail("expected an '=' sign defining a property");
    }
    std::string_view name = trim_blanks(text.substr(0, eq));
    if (name.empty()) {
      return fail("a property has no name before '='");
    }
    m_ignoring_property = !valid_name(name);
    if (m_ignoring_property) {
      return {};  // ignored, with its continuation lines
    }
    m_property = std::string(name);
    std::string_view value = trim_blanks(text.substr(eq + 1));
    m_section->properties[m_property] = std::string(value);
    m_section->sub_properties.erase(m_property);
    m_nested = value.empty();
    return {};
  }

  // Comments are not removed here: they are part of the value.
  Result<void> continuation(std::string_view text) {
    if (m_ignoring || (m_property.empty() && m_ignoring_property)) {
      return {};
    }
    if (m_section == nullptr || m_property.empty()) {
      return fail("a line starting with whitespace continues a property, but none precedes it");
    }
    m_section->properties[m_property] += fmt::format("\n{}", text);
    if (!m_nested) {
      return {};
    }
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) {
      return fail("expected an '=' sign defining a sub-property");
    }
    std::string_view name = trim_blanks(text.substr(0, eq));
    if (name.empty()) {
      return fail("a sub-property has no name before '='");
    }
    if (valid_name(name)) {
      m_section->sub_properties[m_property][std::string(name)] =
          std::string(trim_blanks(text.substr(eq + 1)));
    }
    return {};
  }

  SharedFileKind m_kind;
  std::string m_path;
  int m_line = 0;
  ConfigSection* m_section = nullptr;
  std::string m_property;            // the property continuation lines extend; empty: none
  bool m_nested = false;             // its value was empty: continuations are sub-properties
  bool m_ignoring = false;           // inside a section that is ignored
  bool m_ignoring_property = false;  // the last property was ignored, and its continuations
  bool m_default_prefixed = false;   // [profile default] seen in this file
};

// `from` merged over `into`: properties of `from` win, each with its sub-properties.
void merge(Sections& into, Sections&& from) {
  for (auto& [name, section] : from) {
    auto [it, fresh] = into.try_emplace(name, section);
    if (fresh) {
      continue;
    }
    for (auto& [key, value] : section.properties) {
      it->second.properties[key] = value;
      it->second.sub_properties.erase(key);
    }
    for (auto& [key, subs] : section.sub_properties) {
      it->second.sub_properties[key] = subs;
    }
  }
}

std::filesystem::path expand_home(const Env& env, const std::string& path) {
  std::string home = env_value(env, "HOME");
  if (path == "~") {
    return home;
  }
  if (path.starts_with("~/") && !home.empty()) {
    return std::filesystem::path(home) / path.substr(2);
  }
  return path;
}

}  // namespace

Env process_env() {
  Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string_view::npos) {
      env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
  }
  return env;
}

std::string env_value(const Env& env, std::string_view name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

bool env_true(const Env& env, std::string_view name) {
  return text::iequals(text::trim(env_value(env, name)), "true");
}

std::string ConfigSection::get(std::string_view name) const {
  auto it = properties.find(name);
  return it == properties.end() ? std::string() : it->second;
}

std::string ConfigSection::get(std::string_view name, std::string_view sub) const {
  auto it = sub_properties.find(name);
  if (it == sub_properties.end()) {
    return "";
  }
  auto value = it->second.find(sub);
  return value == it->second.end() ? std::string() : value->second;
}

const ConfigSection* SharedConfig::profile() const {
  auto it = profiles.find(profile_name);
  return it == profiles.end() ? nullptr : &it->second;
}

std::string SharedConfig::describe() const {
  std::vector<std::string> files;
  for (const auto& f : {config_file, credentials_file}) {
    if (!f.empty()) {
      files.push_back(f.string());
    }
  }
  return fmt::format("profile \"{}\" ({})", profile_name,
                     files.empty() ? std::string("no shared files: HOME is not set")
                                   : fmt::format("in {}", fmt::join(files, " or ")));
}

Result<void> parse_shared_file(std::string_view text, SharedFileKind kind, const std::string& path,
                               SharedConfig& into) {
  FileParser parser(kind, path);
  int number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ZTP_TRY(parser.line(line, ++number));
  }
  merge(into.profiles, std::move(parser.profiles));
  merge(into.services, std::move(parser.services));
  merge(into.sso_sessions, std::move(parser.sso_sessions));
  return {};
}

std::filesystem::path config_file_path(const Env& env) {
  std::string given = env_value(env, "AWS_CONFIG_FILE");
  if (!given.empty()) {
    return expand_home(env, given);
  }
  std::string home = env_value(env, "HOME");
  return home.empty() ? std::filesystem::path() : std::filesystem::path(home) / ".aws" / "config";
}

std::filesystem::path credentials_file_path(const Env& env) {
  std::string given = env_value(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (!given.empty()) {
    return expand_home(env, given);
  }
  std::string home = env_value(env, "HOME");
  return home.empty() ? std::filesystem::path()
                      : std::filesystem::path(home) / ".aws" / "credentials";
}

Result<SharedConfig> load_shared_config(const Env& env, std::string_view explicit_profile) {
  SharedConfig config;
  config.config_file = config_file_path(env);
  config.credentials_file = credentials_file_path(env);
  for (auto [path, kind] : {std::pair{config.config_file, SharedFileKind::config},
                            std::pair{config.credentials_file, SharedFileKind::credentials}}) {
    if (path.empty()) {
      continue;
    }
    auto text = fs::read_file(path);
    if (!text.ok() && text.error().code == Errc::not_found) {
      continue;
    }
    if (!text.ok()) {
      return make_error(Errc::invalid, text.error().message);
    }
    ZTP_TRY(parse_shared_file(*text, kind, path.string(), config));
  }
  std::string from_env = env_value(env, "AWS_PROFILE");
  if (!explicit_profile.empty()) {
    config.profile_name = std::string(explicit_profile);
    config.profile_named = true;
  } else if (!from_env.empty()) {
    config.profile_name = from_env;
    config.profile_named = true;
  }
  if (config.profile_named && config.profile() == nullptr) {
    std::vector<std::string> known;
    for (const auto& [name, section] : config.profiles) {
      known.push_back(name);
    }
    return make_error(
        Errc::not_found,
        fmt::format("profile \"{}\"{} is in neither {} nor {}; {}", config.profile_name,
                    explicit_profile.empty() ? " (from AWS_PROFILE)" : "",
                    config.config_file.string(), config.credentials_file.string(),
                    known.empty() ? std::string("neither file defines any profile")
                                  : fmt::format("profiles there: {}", fmt::join(known, ", "))));
  }
  return config;
}

}  // namespace ztp::aws
