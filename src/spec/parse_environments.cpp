#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>

#include "spec/ecs.hpp"
#include "spec/sections.hpp"
#include "spec/suggest.hpp"

namespace ztp::spec {
namespace {

constexpr int k_minutes_per_day = 24 * 60;
const std::vector<std::string> k_day_names{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

bool is_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') {
    return false;
  }
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '/' && c != '_' && c != '-' &&
        c != '+') {
      return false;
    }
  }
  return name.find("//") == std::string::npos && name.find("..") == std::string::npos;
}

bool is_tzif(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return false;
  }
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, sizeof magic) && std::string_view(magic, sizeof magic) == "TZif";
}

// "did you mean `Europe/Berlin`?" from the zones beside `name` in `dir`; empty when none is
// close.
std::string zone_suggestion(const std::filesystem::path& dir, const std::string& name) {
  std::filesystem::path parent = std::filesystem::path(name).parent_path();
  std::error_code ec;
  std::vector<std::string> zones;
  for (const auto& entry : std::filesystem::directory_iterator(dir / parent, ec)) {
    if (entry.is_regular_file(ec)) {
      zones.push_back((parent / entry.path().filename()).string());
    }
  }
  std::string hint = suggest(name, zones);
  return hint.starts_with("did you mean") ? hint : "";
}

}  // namespace

Result<std::filesystem::path> zoneinfo_file(const std::string& name) {
  if (!is_zone_name(name)) {
    return make_error(Errc::invalid,
                      fmt::format("`{}` is not a time zone name; write an IANA name like "
                                  "Europe/Berlin, America/New_York or UTC",
                                  name));
  }
  const char* tzdir = std::getenv("TZDIR");
  std::filesystem::path dir = tzdir != nullptr && *tzdir != '\0' ? tzdir : "/usr/share/zoneinfo";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(Errc::not_found,
                      fmt::format("no time zone database at {} to read time zone `{}` from; "
                                  "install the Debian package tzdata (or point TZDIR at one)",
                                  dir.string(), name));
  }
  std::filesystem::path file = dir / name;
  if (!is_tzif(file)) {
    std::string hint = zone_suggestion(dir, name);
    return make_error(Errc::not_found,
                      fmt::format("unknown time zone `{}`: {} holds no such zone{}", name,
                                  dir.string(), hint.empty() ? "" : "; " + hint));
  }
  return file;
}

std::string format_week_minute(int minute) {
  int m = ((minute % k_minutes_per_week) + k_minutes_per_week) % k_minutes_per_week;
  int day = m / k_minutes_per_day;
  int in_day = m % k_minutes_per_day;
  return fmt::format("{} {:02}:{:02}", k_day_names[static_cast<size_t>(day)], in_day / 60,
                     in_day % 60);
}

namespace detail {
namespace {

const char* k_week_time_hint = "write a day and a 24-hour time, like `Fri 16:00`";

// "Fri 16:00" (or "friday 16:00") as a minute of the week; reported at `v` when malformed.
std::optional<int> read_week_time(Reader& r, const Value& v) {
  auto text = r.string(v);
  if (!text) {
    return std::nullopt;
  }
  auto space = text->find(' ');
  if (space == std::string::npos) {
    r.error(v.pos, fmt::format("{} `{}` needs a day and a time", v.name, *text), k_week_time_hint);
    return std::nullopt;
  }
  std::string day = text->substr(0, space);
  auto time_at = text->find_first_not_of(' ', space);
  std::string time = time_at == std::string::npos ? "" : text->substr(time_at);
  std::string lower = day;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::vector<std::string> k_full{"monday", "tuesday",  "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};
  std::optional<int> day_index;
  for (size_t i = 0; i < k_full.size(); ++i) {
    if (lower == k_full[i] || lower == k_full[i].substr(0, 3)) {
      day_index = static_cast<int>(i);
    }
  }
  if (!day_index) {
    r.error(v.pos, fmt::format("unknown day `{}` in {} `{}`", day, v.name, *text),
            suggest(day, k_day_names, "days are"));
    return std::nullopt;
  }
  auto digits = [&](size_t at, size_t n) {
    int value = 0;
    for (size_t i = at; i < at + n; ++i) {
      value = value * 10 + (time[i] - '0');
    }
    return value;
  };
  size_t colon = time.size() >= 3 ? time.size() - 3 : 0;
  bool shaped = (time.size() == 4 || time.size() == 5) && time[colon] == ':' &&
                std::count(time.begin(), time.end(), ':') == 1 &&
                std::all_of(time.begin(), time.end(),
                            [](char c) { return c == ':' || std::isdigit(c) != 0; });
  int hours = shaped ? digits(0, colon) : 0;
  int minutes = shaped ? digits(colon + 1, 2) : 0;
  if (!shaped || hours > 23 || minutes > 59) {
    r.error(v.pos, fmt::format("bad time `{}` in {} `{}`", time, v.name, *text),
            "times are HH:MM from 00:00 to 23:59; the end of Sunday is `Mon 00:00`");
    return std::nullopt;
  }
  return *day_index * k_minutes_per_day + hours * 60 + minutes;
}

void parse_deploy_windows(Reader& r, const Value& v, DeployWindows& out) {
  Fields f(r, v, "deploy_windows", {"timezone", "deny"});
  if (!f.ok()) {
    return;
  }
  out.pos = v.pos;
  const char* deny_hint = "write deny: [{from: Fri 16:00, to: Mon 08:00, reason: weekend}]";
  if (auto tz = f.require("timezone", "write timezone: Europe/Berlin (an IANA name, or UTC)")) {
    if (auto name = r.string(*tz)) {
      auto file = zoneinfo_file(*name);
      if (!file.ok()) {
        r.error(tz->pos, file.error().message);
      }
      out.timezone = std::move(*name);
    }
  }
  auto deny = f.require("deny", deny_hint);
  if (!deny) {
    return;
  }
  auto items = r.list(*deny);
  if (items && items->empty()) {
    r.error(deny->pos, "deny must list at least one window", deny_hint);
  }
  for (auto& item : items.value_or(std::vector<Value>{})) {
    item.name = "deny window";
    Fields w(r, item, "deny window", {"from", "to", "reason"});
    DenyWindow window;
    window.pos = item.pos;
    auto from_value = w.require("from", k_week_time_hint);
    auto to_value = w.require("to", k_week_time_hint);
    auto from = from_value ? read_week_time(r, *from_value) : std::nullopt;
    auto to = to_value ? read_week_time(r, *to_value) : std::nullopt;
    w.read("reason", window.reason);
    if (!from || !to) {
      continue;
    }
    if (*from == *to) {
      r.error(to_value->pos,
              fmt::format("the deny window from {} to {} is empty", format_week_minute(*from),
                          format_week_minute(*to)),
              "a window runs from `from` up to `to`, wrapping past Sunday; to stop every "
              "deploy, use `ztp freeze`");
      continue;
    }
    window.from = *from;
    window.to = *to;
    if (window.reason.empty()) {
      window.reason = fmt::format("no deploys from {} to {}", format_week_minute(*from),
                                  format_week_minute(*to));
    }
    out.deny.push_back(std::move(window));
  }
}

const char* k_listen_hint = "write HOST:PORT, like 127.0.0.1:8081";

std::optional<ListenAddress> read_listen(Reader& r, const Value& v, std::string& out) {
  auto text = r.string(v);
  if (!text) {
    return std::nullopt;
  }
  auto address = parse_listen(*text);
  if (!address.ok()) {
    r.error(v.pos, fmt::format("bad {} address `{}`: {}", v.name, *text, address.error().message),
            k_listen_hint);
    return std::nullopt;
  }
  out = std::move(*text);
  return *address;
}

void parse_rolling(Reader& r, const Value& v, Rolling& out) {
  Fields f(r, v, "rolling", {"max_surge", "max_unavailable"});
  f.read("max_surge", out.max_surge, 0, INT_MAX);
  f.read("max_unavailable", out.max_unavailable, 0, INT_MAX);
  if (out.max_surge == 0 && out.max_unavailable == 0) {
    r.error(v.pos, "max_surge and max_unavailable cannot both be 0",
            "a rolling update needs room to add or remove a replica; set max_surge: 1");
  }
}

void parse_blue_green(Reader& r, const Value& v, BlueGreen& out, EnvironmentMarks& marks) {
  Fields f(r, v, "blue_green", {"preview_listen", "keep_previous"});
  if (auto preview = f.require("preview_listen", k_listen_hint)) {
    marks.preview_listen = preview->pos;
    marks.preview_address = read_listen(r, *preview, out.preview_listen);
  }
  f.read_duration("keep_previous", out.keep_previous, true);
}

void parse_analysis(Reader& r, const Value& v, Analysis& out) {
  Fields f(r, v, "analysis",
           {"max_error_rate", "max_p95", "min_requests", "deadline", "inconclusive"});
  f.read("max_error_rate", out.max_error_rate, 0.0, 1.0);
  f.read_duration("max_p95", out.max_p95, false);
  f.read("min_requests", out.min_requests, 0, INT_MAX);
  f.read_duration("deadline", out.deadline, false);
  if (auto inconclusive = f.get("inconclusive")) {
    if (auto c = r.choice(*inconclusive, "inconclusive verdict", {"fail", "pass"})) {
      out.pass_when_inconclusive = *c == "pass";
    }
  }
}

void parse_watch(Reader& r, const Value& v, Watch& out) {
  Fields f(r, v, "watch", {"window", "max_error_rate", "max_p95", "min_requests"});
  f.read_duration("window", out.window, true);
  f.read("max_error_rate", out.limits.max_error_rate, 0.0, 1.0);
  f.read_duration("max_p95", out.limits.max_p95, false);
  f.read("min_requests", out.limits.min_requests, 0, INT_MAX);
}

void parse_canary(Reader& r, const Value& v, Canary& out) {
  Fields f(r, v, "canary", {"steps", "analysis"});
  if (auto steps = f.require("steps", "write steps: [{weight: 10, pause: 30s}, {weight: 50}]")) {
    auto items = r.list(*steps);
    if (items && items->empty()) {
      r.error(steps->pos, "canary steps must list at least one step",
              "write steps: [{weight: 10, pause: 30s}, {weight: 50}]");
    }
    int previous = 0;
    for (auto& item : items.value_or(std::vector<Value>{})) {
      item.name = "canary step";
      Fields step(r, item, "canary step", {"weight", "pause"});
      CanaryStep s;
      if (auto weight = step.require("weight")) {
        if (auto w = r.integer(*weight, 1, 100)) {
          s.weight = *w;
          if (*w <= previous) {
            r.error(weight->pos,
                    fmt::format("canary weights must increase: {} comes after {}", *w, previous),
                    "each step sends more traffic than the one before, up to 100");
          }
          previous = std::max(previous, *w);
        }
      }
      step.read_duration("pause", s.pause, true);
      out.steps.push_back(s);
    }
  }
  if (auto analysis = f.get("analysis")) {
    parse_analysis(r, *analysis, out.analysis);
  }
}

// `cpus`, and `memory` as read_memory_size reads it, at least 6 MiB: the least a container
// runtime starts with.
void parse_resources(Reader& r, const Value& v, Resources& out) {
  Fields f(r, v, "resources", {"cpus", "memory"});
  f.read("cpus", out.cpus, 0.01, 1024);
  if (auto memory = f.get("memory")) {
    auto bytes = read_memory_size(r, *memory);
    if (!bytes) {
      return;
    }
    if (*bytes < (6 << 20)) {
      r.error(memory->pos, fmt::format("memory `{}` is below 6Mi", r.string(*memory).value_or("")),
              "a container needs at least 6Mi; 64Mi is a common floor for nginx");
      return;
    }
    out.memory_bytes = *bytes;
  }
}

// `ecs:`, written exactly when the target is ecs; read after the keys its checks look at.
void parse_environment_ecs(Reader& r, const Fields& f, Environment& env) {
  if (env.target != "ecs") {
    for (const auto& [key, value] : f.entries()) {
      if (key.name == "ecs") {
        r.error(key.pos,
                fmt::format("ecs applies to target: ecs only, and this environment's target "
                            "is {}",
                            env.target),
                "write `target: ecs` to run it on Amazon ECS, or remove the ecs block");
      }
    }
    return;
  }
  auto ecs = f.require("ecs",
                       "target: ecs needs an ecs block: at least cluster, network (on Fargate) "
                       "and execution_role; see docs/ztp-yaml.md");
  if (!ecs) {
    return;
  }
  auto settings = std::make_shared<EcsSettings>();
  parse_ecs(r, *ecs, env, *settings);
  env.ecs = std::move(settings);
}

void parse_strategy(Reader& r, const Value& v, Strategy& out, EnvironmentMarks& marks) {
  const std::vector<std::string> kinds{"rolling", "blue_green", "canary"};
  Fields f(r, v, "strategy", kinds);
  if (!f.ok()) {
    return;
  }
  const auto& entries = f.entries();
  if (entries.empty()) {
    r.error(v.pos, "strategy must name one of rolling, blue_green, canary",
            "write strategy: {rolling: {max_surge: 1}}");
    return;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    if (i == 1) {
      r.error(key.pos,
              fmt::format("more than one strategy: `{}` and `{}`", entries[0].first.name, key.name),
              "keep exactly one of rolling, blue_green, canary");
    }
    Strategy::Kind kind = Strategy::Kind::rolling;
    if (key.name == "rolling") {
      parse_rolling(r, value, out.rolling);
    } else if (key.name == "blue_green") {
      kind = Strategy::Kind::blue_green;
      parse_blue_green(r, value, out.blue_green, marks);
    } else {
      kind = Strategy::Kind::canary;
      parse_canary(r, value, out.canary);
    }
    if (i == 0) {
      out.kind = kind;
    }
  }
}

}  // namespace

std::optional<std::int64_t> read_memory_size(Reader& r, const Value& v) {
  static const std::regex k_size("([0-9]+)(K|Ki|M|Mi|G|Gi)?");
  static const std::map<std::string, std::int64_t> k_units{{"", 1},
                                                           {"K", 1000},
                                                           {"Ki", 1024},
                                                           {"M", 1000 * 1000},
                                                           {"Mi", 1 << 20},
                                                           {"G", 1000 * 1000 * 1000},
                                                           {"Gi", std::int64_t{1} << 30}};
  auto text = r.string(v);
  if (!text) {
    return std::nullopt;
  }
  std::smatch m;
  if (!std::regex_match(*text, m, k_size) || m[1].length() > 12) {
    r.error(v.pos, fmt::format("{} `{}` is not a size", v.name, *text),
            "write a number with a unit: 256Mi, 1Gi, 512M");
    return std::nullopt;
  }
  std::int64_t unit = k_units.at(m[2].str());
  std::int64_t count = std::stoll(m[1].str());
  if (count > INT64_MAX / unit) {
    r.error(v.pos, fmt::format("{} `{}` is too large", v.name, *text));
    return std::nullopt;
  }
  return count * unit;
}

void parse_environments(Reader& r, const Value& v, std::vector<Environment>& out,
                        std::vector<EnvironmentMarks>& marks) {
  auto items = r.list(v);
  if (!items) {
    return;
  }
  if (items->empty()) {
    r.error(v.pos, "environments must list at least one environment",
            "write `- name: dev` with a `listen: 127.0.0.1:8081`");
    return;
  }
  for (auto& item : *items) {
    item.name = "environment";
    Environment env;
    EnvironmentMarks m;
    env.pos = item.pos;
    Fields f(r, item, "environment",
             {"name", "target", "listen", "replicas", "gate", "strategy", "verify", "watch", "env",
              "self_heal", "drift_interval", "deploy_windows", "resources", "ecs"});
    if (!f.ok()) {
      continue;
    }
    if (auto name = f.require("name", "write `name: dev`")) {
      if (auto s = r.string(*name); s && check_name(r, *s, "environment name", name->pos)) {
        env.name = std::move(*s);
        m.name = name->pos;
      }
    }
    if (auto target = f.get("target")) {
      if (auto t = r.choice(*target, "target", {"local", "podman", "ecs", "kubernetes"})) {
        env.target = *t;
      }
    }
    // ECS environments are reached through their load balancer: `listen` is optional there.
    if (auto listen = env.target == "ecs" ? f.get("listen") : f.require("listen", k_listen_hint)) {
      m.listen = listen->pos;
      m.listen_address = read_listen(r, *listen, env.listen);
    }
    f.read("replicas", env.replicas, 1, INT_MAX);
    if (auto replicas = f.get("replicas")) {
      m.replicas = replicas->pos;
    }
    if (auto gate = f.get("gate")) {
      if (auto g = r.choice(*gate, "gate", {"auto", "approval"})) {
        env.gate = *g == "approval" ? Gate::approval : Gate::automatic;
      }
    }
    if (auto strategy = f.get("strategy")) {
      parse_strategy(r, *strategy, env.strategy, m);
    }
    if (auto verify = f.get("verify")) {
      if (auto suites = r.list(*verify)) {
        for (const auto& suite : *suites) {
          if (auto s = r.string(suite)) {
            env.verify.push_back(std::move(*s));
            m.verify.push_back(suite.pos);
          }
        }
      }
    }
    if (auto watch = f.get("watch")) {
      parse_watch(r, *watch, env.watch);
    }
    if (auto vars = f.get("env")) {
      if (auto map = r.string_map(*vars)) {
        env.env = std::move(*map);
      }
    }
    if (auto resources = f.get("resources")) {
      if (env.target == "ecs") {
        r.error(resources->key_pos, "resources does not apply to target ecs",
                "on ECS a task's size is ecs.cpu and ecs.memory");
      } else {
        parse_resources(r, *resources, env.resources);
      }
    }
    f.read("self_heal", env.self_heal);
    f.read_duration("drift_interval", env.drift_interval, false);
    if (auto windows = f.get("deploy_windows")) {
      parse_deploy_windows(r, *windows, env.deploy_windows);
    }
    parse_environment_ecs(r, f, env);
    out.push_back(std::move(env));
    marks.push_back(std::move(m));
  }
}

void check_environments(Reader& r, const Spec& spec, const std::vector<EnvironmentMarks>& marks) {
  struct Listener {
    ListenAddress address;
    std::string text;
    std::string env;
    std::string which;
    Position pos;
  };
  std::vector<Listener> listeners;
  std::vector<std::string> suite_names = builtin_suite_names();
  for (const auto& suite : spec.checks) {
    suite_names.push_back(suite.name);
  }
  for (size_t i = 0; i < spec.environments.size(); ++i) {
    const Environment& env = spec.environments[i];
    const EnvironmentMarks& m = marks[i];
    for (size_t j = 0; j < i && !env.name.empty(); ++j) {
      if (spec.environments[j].name == env.name) {
        r.error(m.name, fmt::format("duplicate environment name `{}`", env.name),
                fmt::format("it is first used on line {}; environment names must be unique",
                            marks[j].name.line));
        break;
      }
    }
    auto add = [&](const std::optional<ListenAddress>& address, const std::string& text,
                   const std::string& which, Position pos) {
      if (!address) {
        return;
      }
      for (const auto& other : listeners) {
        if (listen_conflict(*address, other.address)) {
          r.error(pos,
                  fmt::format("{} address `{}` conflicts with `{}`, the {} of environment `{}` "
                              "on line {}",
                              which, text, other.text, other.which, other.env, other.pos.line),
                  "every environment and preview listener needs its own port");
          return;
        }
      }
      if (uses_port_range(env.target) && address->port >= spec.service.port_range_first &&
          address->port <= spec.service.port_range_last) {
        r.error(pos,
                fmt::format("{} port {} is inside service.port_range {}-{}", which, address->port,
                            spec.service.port_range_first, spec.service.port_range_last),
                "replica ports are taken from that range; pick a port outside it");
      }
      listeners.push_back(Listener{*address, text, env.name, which, pos});
    };
    add(m.listen_address, env.listen, "listen", m.listen);
    if (env.strategy.kind == Strategy::Kind::blue_green) {
      add(m.preview_address, env.strategy.blue_green.preview_listen, "preview_listen",
          m.preview_listen);
    }
    for (size_t k = 0; k < env.verify.size() && k < m.verify.size(); ++k) {
      const std::string& name = env.verify[k];
      if (spec.find_suite(name) == nullptr && !is_builtin_suite(name)) {
        r.error(m.verify[k], fmt::format("unknown check suite `{}` in verify", name),
                suggest(name, suite_names, "define it under `checks`, or use one of"));
      }
    }
  }
  check_port_capacity(r, spec, marks);
  check_ecs(r, spec);
}

}  // namespace detail
}  // namespace ztp::spec
