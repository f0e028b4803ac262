#include "artifact/dockerfile.hpp"
#include "artifact/dockerfile_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

// Planning a Dockerfile's stages: what each FROM, ARG, ENV, COPY... of a parsed Dockerfile
// means, as Docker and BuildKit read them.
namespace ztp::artifact::dockerfile {
namespace {

using namespace detail;
using nlohmann::json;
using Vars = std::map<std::string, std::string>;
using EnvList = std::vector<std::pair<std::string, std::string>>;

// BuildKit gives a stage this PATH when its base image sets none, so $PATH is never empty.
constexpr std::string_view k_default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker defines these without an ARG line; given as build args, FROM lines see them.
constexpr std::array<std::string_view, 8> k_platform_args = {
    "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"};
// Docker passes these to RUN without an ARG line, so it never calls them unused.
constexpr std::array<std::string_view, 10> k_proxy_args = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
    "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

// Go's time.ParseDuration ("1m30s", "500ms", "1.5h") in nanoseconds; nullopt when malformed
// or beyond int64. The whole and fractional parts are read apart to stay exact, as in Go.
std::optional<std::int64_t> go_duration_ns(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, long double>, 8> k_units = {{
      {"ns", 1},
      {"us", 1e3},
      {"\xC2\xB5s", 1e3},  // µs, micro sign
      {"\xCE\xBCs", 1e3},  // μs, Greek mu
      {"ms", 1e6},
      {"s", 1e9},
      {"m", 60e9},
      {"h", 3600e9},
  }};
  bool negative = s.starts_with('-');
  s.remove_prefix(negative || s.starts_with('+') ? 1 : 0);
  if (s == "0") {
    return 0;
  }
  long double total = 0;
  for (bool first = true; first || !s.empty(); first = false) {
    size_t n = std::min(s.find_first_not_of("0123456789."), s.size());
    size_t u = std::min(s.find_first_of("0123456789.", n), s.size());
    std::string_view number = s.substr(0, n);
    auto unit = std::find_if(k_units.begin(), k_units.end(),
                             [&](const auto& k) { return k.first == s.substr(n, u - n); });
    if (number.empty() || number == "." || number.find('.') != number.rfind('.') ||
        unit == k_units.end()) {
      return std::nullopt;
    }
    size_t dot = std::min(number.find('.'), number.size());
    long double whole = 0;
    long double fraction = 0;
    long double scale = 1;
    for (char c : number.substr(0, dot)) {
      whole = whole * 10 + (c - '0');
    }
    for (char c : number.substr(std::min(dot + 1, number.size()))) {
      fraction = fraction * 10 + (c - '0');
      scale *= 10;
    }
    total += whole * unit->second + std::floor(fraction * unit->second / scale);
    s.remove_prefix(u);
  }
  if (total >= 9223372036854775808.0L) {
    return std::nullopt;
  }
  auto ns = static_cast<std::int64_t>(total);
  return negative ? -ns : ns;
}

// Go's path.Clean of an absolute path: no `.`, `..` or repeated slashes.
std::string clean_path(std::string_view p) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = std::min(p.find('/', i), p.size());
    std::string_view part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

std::optional<std::uint32_t> parse_id(std::string_view s) {
  std::uint32_t v = 0;
  if (!is_digits(s) || std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc()) {
    return std::nullopt;
  }
  return v;
}

void add_env(EnvList& env, const std::string& key, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == key; });
  if (it != env.end()) {
    it->second = value;
  } else {
    env.emplace_back(key, value);
  }
}

// Why ztp refuses `keyword`, with the fix; nullopt for the instructions it reads.
std::optional<std::string> unsupported_fix(std::string_view keyword, char escape) {
  if (keyword == "ONBUILD") {
    return "it acts in later builds FROM this image, and ztp builds images to deploy: write the "
           "instruction in the Dockerfile of that later build";
  }
  if (keyword == "SHELL") {
    return "write the command in exec form instead, as in CMD [\"pwsh\", \"-c\", \"...\"]";
  }
  if (keyword == "VOLUME") {
    return "declare volumes in the target";
  }
  if (keyword == "MAINTAINER") {
    return "use LABEL org.opencontainers.image.authors=...";
  }
  constexpr std::array<std::string_view, 14> k_known = {
      "FROM",       "ARG", "ENV",         "LABEL",      "EXPOSE", "WORKDIR", "USER",
      "ENTRYPOINT", "CMD", "HEALTHCHECK", "STOPSIGNAL", "COPY",   "ADD",     "RUN"};
  if (contains(k_known, keyword)) {
    return std::nullopt;
  }
  return fmt::format(
      "it is not a Dockerfile instruction: check its spelling, or whether the line before it "
      "should end with {} to continue",
      escape);
}

// What a stage's instructions see: $NAME values, the Env it ends with, its working directory.
struct Scope {
  Vars vars;  // the base's Env, ARGs and ENVs, the last one set winning, as in BuildKit
  EnvList env;
  std::string workdir = "/";
};

class Planner {
 public:
  Planner(std::string_view file, const Vars& build_args, const BaseEnv& base_env)
      : m_file(file), m_build_args(build_args), m_base_env(base_env) {}

  Result<Plan> run(const Parsed& parsed);

 private:
  Error fail(const Instruction& ins, std::string_view what) const {
    return fail_at(m_file, ins.line, what);
  }
  Result<std::string> subst(const Instruction& ins, std::string_view word, const Vars& vars) const;
  Result<void> check_flags(const Instruction& ins,
                           std::initializer_list<std::string_view> allowed) const;
  std::optional<int> stage_named(std::string_view name, size_t before) const;
  Result<void> from(const Instruction& ins);
  Result<void> arg(const Instruction& ins, Vars& vars, bool in_stage);
  Result<void> in_stage(const Instruction& ins);
  Result<void> env_or_label(const Instruction& ins);
  Result<void> expose(const Instruction& ins);
  Result<void> command(const Instruction& ins);
  Result<void> healthcheck(const Instruction& ins);
  Result<void> copy(const Instruction& ins);
  Result<void> copy_flags(const Instruction& ins, Copy& c);

  Stage& stage() { return m_plan.stages.back(); }
  Scope& scope() { return m_scopes.back(); }

  std::string_view m_file;
  const Vars& m_build_args;
  const BaseEnv& m_base_env;
  char m_escape = '\\';
  Plan m_plan;
  Vars m_global;                     // global ARGs with a value: what FROM lines see
  std::set<std::string> m_declared;  // every name an ARG declares
  std::vector<Scope> m_scopes;       // one per stage
  bool m_cmd_set = false;            // the current stage has a CMD: ENTRYPOINT then keeps it
};

Result<std::string> Planner::subst(const Instruction& ins, std::string_view word,
                                   const Vars& vars) const {
  auto r = substitute(word, vars, m_escape);
  if (!r.ok()) {
    return fail(ins, fmt::format("{} {}", ins.keyword, r.error().message));
  }
  return r;
}

Result<void> Planner::check_flags(const Instruction& ins,
                                  std::initializer_list<std::string_view> allowed) const {
  for (const auto& [name, value] : ins.flags) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) {
      continue;
    }
    if (allowed.size() == 0) {
      return fail(ins, fmt::format("{} takes no flags: remove --{}", ins.keyword, name));
    }
    std::string known;
    for (auto a : allowed) {
      known += fmt::format("{}--{}", known.empty() ? "" : ", ", a);
    }
    return fail(ins, fmt::format("{} has no --{} flag that ztp reads (it reads {}): remove it",
                                 ins.keyword, name, known));
  }
  return {};
}

std::optional<int> Planner::stage_named(std::string_view name, size_t before) const {
  for (size_t i = 0; i < before && i < m_plan.stages.size(); ++i) {
    if (!m_plan.stages[i].name.empty() && m_plan.stages[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

Result<Plan> Planner::run(const Parsed& parsed) {
  m_escape = parsed.escape;
  for (const auto& [name, value] : m_build_args) {
    if (contains(k_platform_args, name)) {
      m_global[name] = value;
    }
  }
  for (const auto& ins : parsed.instructions) {
    if (auto fix = unsupported_fix(ins.keyword, m_escape)) {
      return fail(ins, fmt::format("{} is not supported by ztp's Dockerfile reader: {}",
                                   ins.keyword, *fix));
    }
    if (ins.keyword == "FROM") {
      ZTP_TRY(from(ins));
    } else if (!m_plan.stages.empty()) {
      ZTP_TRY(in_stage(ins));
    } else if (ins.keyword == "ARG") {
      ZTP_TRY(arg(ins, m_global, false));
    } else {
      return fail(ins, fmt::format("{} comes before the first FROM, where only ARG may: move it "
                                   "below a FROM line",
                                   ins.keyword));
    }
  }
  if (m_plan.stages.empty()) {
    return fail_at(m_file, 1, "there is no FROM instruction: start the build with FROM IMAGE");
  }
  for (const auto& [name, value] : m_build_args) {
    if (!m_declared.contains(name) && !contains(k_platform_args, name) &&
        !contains(k_proxy_args, name)) {
      m_plan.unused_args.push_back(name);
    }
  }
  return std::move(m_plan);
}

Result<void> Planner::from(const Instruction& ins) {
  ZTP_TRY(check_flags(ins, {"platform"}));
  const auto& a = ins.args;
  if (!(a.size() == 1 || (a.size() == 3 && to_upper(a[1]) == "AS"))) {
    return fail(ins, "FROM takes IMAGE or IMAGE AS NAME: write FROM alpine:3.20 AS build");
  }
  Stage st;
  st.line = ins.line;
  if (a.size() == 3) {
    st.name = to_lower(a[2]);
    bool valid = is_alpha(st.name.front());
    for (char c : st.name) {
      valid = valid && (is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.');
    }
    if (!valid) {
      return fail(ins, fmt::format("`{}` is not a stage name: start it with a letter and use "
                                   "letters, digits, -, _ and .",
                                   a[2]));
    }
    if (auto other = stage_named(st.name, m_plan.stages.size())) {
      return fail(ins, fmt::format("stage name `{}` is already used at line {}: give each stage "
                                   "its own name",
                                   st.name, m_plan.stages[*other].line));
    }
  }
  ZTP_ASSIGN_OR_RETURN(st.base, subst(ins, a[0], m_global));
  if (st.base.empty()) {
    return fail(ins, fmt::format("the image `{}` is empty after substitution: give the build arg "
                                 "it names, or a default in an ARG before the first FROM",
                                 a[0]));
  }
  if (auto p = ins.flags.find("platform"); p != ins.flags.end()) {
    ZTP_ASSIGN_OR_RETURN(st.platform, subst(ins, p->second, m_global));
  }
  Scope sc;
  if (auto parent = stage_named(to_lower(st.base), m_plan.stages.size())) {
    st.base_stage = *parent;
    sc = m_scopes[static_cast<size_t>(*parent)];
    for (const auto& [k, v] : sc.env) {
      st.base_env.push_back(k + "=" + v);
    }
  } else if (st.base != "scratch" && m_base_env) {
    ZTP_ASSIGN_OR_RETURN(st.base_env, m_base_env(st.base, ins.line));
    for (const auto& e : st.base_env) {
      size_t eq = e.find('=');
      std::string key = e.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : e.substr(eq + 1);
      sc.vars[key] = value;
      add_env(sc.env, key, value);
    }
  }
  sc.vars.try_emplace("PATH", k_default_path);
  m_plan.stages.push_back(std::move(st));
  m_scopes.push_back(std::move(sc));
  m_cmd_set = false;
  return {};
}

Result<void> Planner::arg(const Instruction& ins, Vars& vars, bool in_stage) {
  ZTP_TRY(check_flags(ins, {}));
  if (ins.args.empty()) {
    return fail(ins, "ARG needs a name: write ARG NAME or ARG NAME=default");
  }
  for (const auto& word : ins.args) {
    size_t eq = word.find('=');
    std::string key = word.substr(0, eq);
    if (key.empty()) {
      return fail(ins, fmt::format("`{}` has no name: write ARG NAME=default", word));
    }
    m_declared.insert(key);
    // A build arg wins over the default; a stage's ARG without one takes the global value.
    std::optional<std::string> value;
    if (auto given = m_build_args.find(key); given != m_build_args.end()) {
      value = given->second;
    } else if (eq != std::string::npos) {
      ZTP_ASSIGN_OR_RETURN(value, subst(ins, std::string_view(word).substr(eq + 1), vars));
    } else if (auto global = m_global.find(key); in_stage && global != m_global.end()) {
      value = global->second;
    }
    if (value) {
      vars[key] = *value;
    }
  }
  return {};
}

Result<void> Planner::in_stage(const Instruction& ins) {
  const std::string& k = ins.keyword;
  if (k == "ARG") {
    return arg(ins, scope().vars, true);
  }
  if (k == "ENV" || k == "LABEL") {
    return env_or_label(ins);
  }
  if (k == "EXPOSE") {
    return expose(ins);
  }
  if (k == "CMD" || k == "ENTRYPOINT") {
    return command(ins);
  }
  if (k == "HEALTHCHECK") {
    return healthcheck(ins);
  }
  if (k == "COPY" || k == "ADD") {
    return copy(ins);
  }
  if (k == "RUN") {
    // Building RUN needs a container runtime: record it and let the caller decide.
    if (!stage().run_line) {
      stage().run_line = ins.line;
    }
    if (!m_plan.first_run_line) {
      m_plan.first_run_line = ins.line;
    }
    return {};
  }
  // WORKDIR, USER and STOPSIGNAL: the whole rest is one word.
  ZTP_TRY(check_flags(ins, {}));
  ZTP_ASSIGN_OR_RETURN(std::string value, subst(ins, ins.rest, scope().vars));
  if (value.empty()) {
    return fail(ins, fmt::format("{} needs a value: write {}", k,
                                 k == "WORKDIR" ? "WORKDIR /app"
                                 : k == "USER"  ? "USER app or USER 1000:1000"
                                                : "STOPSIGNAL SIGTERM"));
  }
  if (k == "WORKDIR") {
    scope().workdir = clean_path(value.front() == '/' ? value : scope().workdir + "/" + value);
    stage().config.working_dir = scope().workdir;
  } else if (k == "USER") {
    stage().config.user = value;
  } else {
    // Docker takes a number or a signal name, with or without SIG.
    std::string name = to_upper(value);
    bool valid = is_digits(value)
                     ? value.find_first_not_of('0') != std::string::npos
                     : name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-") ==
                               std::string::npos &&
                           is_alpha(name.front());
    if (!valid) {
      return fail(ins, fmt::format("`{}` is not a signal: write SIGTERM or a number", value));
    }
    stage().config.stop_signal = value;
  }
  return {};
}

Result<void> Planner::env_or_label(const Instruction& ins) {
  ZTP_TRY(check_flags(ins, {}));
  const std::string& k = ins.keyword;
  if (ins.args.empty()) {
    return fail(ins, fmt::format("{} needs NAME=VALUE: write {} NAME=VALUE ...", k, k));
  }
  EnvList pairs;
  if (ins.args.front().find('=') == std::string::npos) {
    // The legacy `ENV NAME VALUE` form: the value is the rest of the line.
    std::string_view rest = ins.rest;
    size_t sep = std::min(
        rest.size(),
        static_cast<size_t>(std::find_if(rest.begin(), rest.end(), is_space) - rest.begin()));
    if (sep == rest.size()) {
      return fail(ins, fmt::format("{} {} has no value: write {} {}=VALUE", k, rest, k, rest));
    }
    pairs.emplace_back(rest.substr(0, sep), trim_left(rest.substr(sep)));
  } else {
    for (const auto& word : ins.args) {
      size_t eq = word.find('=');
      if (eq == std::string::npos || eq == 0) {
        return fail(ins, fmt::format("`{}` is not NAME=VALUE: write {} NAME=VALUE, quoting a "
                                     "value with blanks",
                                     word, k));
      }
      pairs.emplace_back(word.substr(0, eq), word.substr(eq + 1));
    }
  }
  // Every pair is substituted with the values from before this instruction, as in Docker.
  const Vars before = scope().vars;
  for (const auto& [raw_key, raw_value] : pairs) {
    ZTP_ASSIGN_OR_RETURN(std::string key, subst(ins, raw_key, before));
    ZTP_ASSIGN_OR_RETURN(std::string value, subst(ins, raw_value, before));
    if (key.empty()) {
      return fail(ins, fmt::format("`{}` is an empty name: write {} NAME=VALUE", raw_key, k));
    }
    if (k == "LABEL") {
      stage().config.labels[key] = value;
      continue;
    }
    scope().vars[key] = value;
    add_env(scope().env, key, value);
    stage().config.env.emplace_back(key, value);
  }
  return {};
}

Result<void> Planner::expose(const Instruction& ins) {
  ZTP_TRY(check_flags(ins, {}));
  if (ins.args.empty()) {
    return fail(ins, "EXPOSE needs a port: write EXPOSE 80 or EXPOSE 53/udp");
  }
  for (const auto& word : ins.args) {
    ZTP_ASSIGN_OR_RETURN(std::string spec, subst(ins, word, scope().vars));
    size_t slash = spec.find('/');
    std::string port = spec.substr(0, slash);
    std::string proto = slash == std::string::npos ? "tcp" : to_lower(spec.substr(slash + 1));
    if (port.find('-') != std::string::npos) {
      return fail(ins, fmt::format("EXPOSE {} is a port range, which ztp does not expand: list "
                                   "the ports one by one",
                                   spec));
    }
    std::uint32_t number = 0;
    if (port.size() > 5 || !parse_id(port) || (number = *parse_id(port)) > 65535) {
      return fail(ins,
                  fmt::format("EXPOSE `{}` is not a port: write EXPOSE 80 or EXPOSE 53/udp", spec));
    }
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return fail(ins, fmt::format("EXPOSE {}: the protocol must be tcp, udp or sctp", spec));
    }
    std::string exposed = fmt::format("{}/{}", number, proto);
    auto& ports = stage().config.exposed_ports;
    if (std::find(ports.begin(), ports.end(), exposed) == ports.end()) {
      ports.push_back(exposed);
    }
  }
  return {};
}

Result<void> Planner::command(const Instruction& ins) {
  ZTP_TRY(check_flags(ins, {}));
  std::vector<std::string> argv = ins.args;
  if (!ins.exec_form) {
    if (ins.rest.empty()) {
      return fail(ins, fmt::format("{} needs a command: write {} [\"/app/server\", \"--port\", "
                                   "\"80\"]",
                                   ins.keyword, ins.keyword));
    }
    argv = {"/bin/sh", "-c", ins.rest};
  }
  if (ins.keyword == "CMD") {
    stage().config.cmd = std::move(argv);
    m_cmd_set = true;
    return {};
  }
  stage().config.entrypoint = std::move(argv);
  if (!m_cmd_set) {
    // Docker drops the base's CMD when a stage sets ENTRYPOINT and no CMD.
    stage().config.cmd = std::vector<std::string>{};
  }
  return {};
}

Result<void> Planner::healthcheck(const Instruction& ins) {
  std::string type = ins.args.empty() ? "" : to_upper(ins.args.front());
  if (type == "NONE") {
    if (ins.args.size() > 1 || !ins.flags.empty()) {
      return fail(ins, "HEALTHCHECK NONE takes no arguments or flags: write HEALTHCHECK NONE");
    }
    stage().config.healthcheck = json{{"Test", json::array({"NONE"})}};
    return {};
  }
  if (type != "CMD") {
    return fail(ins,
                "HEALTHCHECK needs CMD or NONE: write HEALTHCHECK --interval=30s CMD "
                "curl -f http://localhost/ || exit 1");
  }
  ZTP_TRY(check_flags(ins, {"interval", "timeout", "start-period", "start-interval", "retries"}));
  json test = json::array();
  if (ins.exec_form) {
    test.push_back("CMD");
    for (size_t i = 1; i < ins.args.size(); ++i) {
      test.push_back(ins.args[i]);
    }
  } else {
    test = json::array(
        {"CMD-SHELL", std::string(trim(std::string_view(ins.rest).substr(type.size())))});
  }
  if (test.size() < 2 || (!ins.exec_form && test[1].get<std::string>().empty())) {
    return fail(ins,
                "HEALTHCHECK CMD needs a command: write HEALTHCHECK CMD curl -f "
                "http://localhost/ || exit 1");
  }
  json hc{{"Test", test}};
  constexpr std::array<std::pair<std::string_view, const char*>, 4> k_durations = {{
      {"interval", "Interval"},
      {"timeout", "Timeout"},
      {"start-period", "StartPeriod"},
      {"start-interval", "StartInterval"},
  }};
  for (const auto& [flag, key] : k_durations) {
    auto it = ins.flags.find(std::string(flag));
    if (it == ins.flags.end()) {
      continue;
    }
    auto ns = go_duration_ns(it->second);
    if (!ns || (*ns != 0 && *ns < 1'000'000)) {
      return fail(ins, fmt::format("--{}={} is not a duration of at least 1ms: write e.g. 30s, "
                                   "1m30s or 500ms",
                                   flag, it->second));
    }
    if (*ns > 0) {
      hc[key] = *ns;
    }
  }
  if (auto it = ins.flags.find("retries"); it != ins.flags.end()) {
    std::string_view text = it->second;
    text.remove_prefix(text.starts_with('+') ? 1 : 0);
    std::int32_t retries = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), retries);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || retries < 0) {
      return fail(ins,
                  fmt::format("--retries={} is not a count: write e.g. --retries=3", it->second));
    }
    if (retries > 0) {
      hc["Retries"] = retries;
    }
  }
  stage().config.healthcheck = std::move(hc);
  return {};
}

Result<void> Planner::copy(const Instruction& ins) {
  const std::string& k = ins.keyword;
  bool is_add = k == "ADD";
  if (is_add) {
    ZTP_TRY(check_flags(ins, {"chown", "chmod", "link"}));
  } else {
    ZTP_TRY(check_flags(ins, {"from", "chown", "chmod", "link"}));
  }
  if (ins.args.size() < 2) {
    return fail(ins,
                fmt::format("{} needs a source and a destination: write {} SRC... DEST", k, k));
  }
  Copy c;
  c.line = ins.line;
  bool glob = false;
  for (size_t i = 0; i + 1 < ins.args.size(); ++i) {
    ZTP_ASSIGN_OR_RETURN(std::string src, subst(ins, ins.args[i], scope().vars));
    if (src.empty()) {
      return fail(ins, fmt::format("the source `{}` is empty after substitution: give the "
                                   "variable it names a value",
                                   ins.args[i]));
    }
    std::string lower = to_lower(src);
    if (is_add && (lower.starts_with("http://") || lower.starts_with("https://") ||
                   lower.starts_with("git@"))) {
      return fail(ins, fmt::format("ADD {}: ztp does not download while building: download it "
                                   "into the build context and COPY it",
                                   src));
    }
    for (std::string_view ext :
         {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst"}) {
      if (is_add && lower.ends_with(ext)) {
        return fail(ins, fmt::format("ADD {}: Docker would unpack this archive and ztp does not: "
                                     "unpack it in the build context and COPY the directory, or "
                                     "COPY the archive to keep it packed",
                                     src));
      }
    }
    glob = glob || src.find_first_of("*?[") != std::string::npos;
    c.sources.push_back(std::move(src));
  }
  ZTP_ASSIGN_OR_RETURN(std::string dest, subst(ins, ins.args.back(), scope().vars));
  bool dir = dest.empty() || dest == "." || dest.ends_with('/') || dest.ends_with("/.");
  if ((c.sources.size() > 1 || glob) && !dir) {
    return fail(ins, fmt::format("when {} has several sources or a glob, the destination must "
                                 "be a directory ending in /: write {}/",
                                 k, dest));
  }
  c.dest = clean_path(dest.starts_with('/') ? dest : scope().workdir + "/" + dest);
  if (dir && c.dest != "/") {
    c.dest += '/';
  }
  ZTP_TRY(copy_flags(ins, c));
  stage().copies.push_back(std::move(c));
  return {};
}

Result<void> Planner::copy_flags(const Instruction& ins, Copy& c) {
  const auto& flags = ins.flags;
  if (auto it = flags.find("from"); it != flags.end()) {
    const std::string& from = it->second;
    size_t current = m_plan.stages.size() - 1;
    if (from.empty() || from.find('$') != std::string::npos) {
      return fail(ins,
                  "--from needs a stage name or index, written out (Docker does not "
                  "substitute it): write --from=build");
    }
    std::optional<int> index = stage_named(to_lower(from), current);
    if (auto n = parse_id(from); n && *n < current) {
      index = static_cast<int>(*n);
    }
    if (!index) {
      return fail(ins, fmt::format("{} --from={} names no earlier stage; ztp copies only from "
                                   "stages of this Dockerfile: name a stage above this line "
                                   "(FROM IMAGE AS {}) or its index (from 0)",
                                   ins.keyword, from, to_lower(from)));
    }
    c.from_stage = index;
  }
  if (auto it = flags.find("chown"); it != flags.end()) {
    ZTP_ASSIGN_OR_RETURN(c.chown, subst(ins, it->second, scope().vars));
    if (c.chown.empty()) {
      return fail(ins, "--chown needs a value: write --chown=1000:1000 or --chown=app:app");
    }
    // A user without a group means that user's id for both, as in Docker.
    std::string_view chown = c.chown;
    size_t colon = chown.find(':');
    auto uid = parse_id(chown.substr(0, colon));
    auto gid = colon == std::string_view::npos ? uid : parse_id(chown.substr(colon + 1));
    if (uid && gid) {
      c.uid = uid;
      c.gid = gid;
    }
  }
  if (auto it = flags.find("chmod"); it != flags.end()) {
    ZTP_ASSIGN_OR_RETURN(std::string mode, subst(ins, it->second, scope().vars));
    std::uint32_t value = 0;
    bool octal = !mode.empty() && mode.size() <= 6 &&
                 mode.find_first_not_of("01234567") == std::string::npos;
    if (!octal ||
        std::from_chars(mode.data(), mode.data() + mode.size(), value, 8).ec != std::errc() ||
        value > 07777) {
      return fail(ins, fmt::format("--chmod={} is not an octal mode: write e.g. --chmod=755 or "
                                   "--chmod=0644",
                                   mode));
    }
    c.chmod = value;
  }
  return {};
}

}  // namespace

Result<Plan> plan(const Parsed& parsed, std::string_view file,
                  const std::map<std::string, std::string>& build_args, const BaseEnv& base_env) {
  return Planner(file, build_args, base_env).run(parsed);
}

}  // namespace ztp::artifact::dockerfile
