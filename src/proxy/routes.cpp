#include "proxy/routes.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace ztp::proxy {
namespace {

using nlohmann::json;

Error bad(const std::string& where, std::string_view what) {
  return make_error(Errc::invalid, fmt::format("{}: {}", where, what));
}

Result<void> only_keys(const json& j, const std::string& where,
                       std::initializer_list<std::string_view> keys) {
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (auto key : keys) {
      known = known || key == k;
    }
    if (!known) {
      return bad(where.empty() ? k : where + "." + k, "unknown field");
    }
  }
  return {};
}

Result<std::string> get_string(const json& j, const char* key, const std::string& where,
                               bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) {
      return bad(where, "required");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return bad(where, "expected a string");
  }
  return it->get<std::string>();
}

Result<int64_t> get_int(const json& j, const char* key, const std::string& where,
                        int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end()) {
    return fallback;
  }
  if (!it->is_number_integer()) {
    return bad(where, "expected an integer");
  }
  return it->get<int64_t>();
}

std::string join(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

}  // namespace

bool valid_env_name(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) {
      return false;
    }
  }
  return true;
}

Result<EnvRoutes> env_routes_from_json(std::string_view env, const json& j) {
  EnvRoutes r;
  r.env = std::string(env);
  if (!j.is_object()) {
    return make_error(Errc::invalid, "routes: expected a JSON object");
  }
  ZTP_TRY(only_keys(
      j, "",
      {"env", "listen", "health", "drain_timeout_ms", "upstream_timeout_ms", "release_sets"}));
  auto named = get_string(j, "env", "env", false);
  ZTP_TRY(named);
  if (!named->empty() && *named != env) {
    return bad("env",
               fmt::format("\"{}\" does not match the environment of the URL \"{}\"", *named, env));
  }
  auto listen = get_string(j, "listen", "listen", true);
  ZTP_TRY(listen);
  r.listen = *listen;

  if (auto it = j.find("health"); it != j.end()) {
    if (!it->is_object()) {
      return bad("health", "expected an object");
    }
    const json& h = *it;
    ZTP_TRY(only_keys(
        h, "health",
        {"path", "interval_ms", "timeout_ms", "healthy_threshold", "unhealthy_threshold"}));
    auto path = get_string(h, "path", "health.path", false);
    ZTP_TRY(path);
    if (!path->empty()) {
      r.health.path = *path;
    }
    auto interval = get_int(h, "interval_ms", "health.interval_ms", r.health.interval.count());
    ZTP_TRY(interval);
    r.health.interval = Millis(*interval);
    auto timeout = get_int(h, "timeout_ms", "health.timeout_ms", r.health.timeout.count());
    ZTP_TRY(timeout);
    r.health.timeout = Millis(*timeout);
    auto rise =
        get_int(h, "healthy_threshold", "health.healthy_threshold", r.health.healthy_threshold);
    ZTP_TRY(rise);
    auto fall = get_int(h, "unhealthy_threshold", "health.unhealthy_threshold",
                        r.health.unhealthy_threshold);
    ZTP_TRY(fall);
    if (*rise < 1 || *rise > 100) {
      return bad("health.healthy_threshold", "must be 1-100");
    }
    if (*fall < 1 || *fall > 100) {
      return bad("health.unhealthy_threshold", "must be 1-100");
    }
    r.health.healthy_threshold = static_cast<int>(*rise);
    r.health.unhealthy_threshold = static_cast<int>(*fall);
  }
  auto drain = get_int(j, "drain_timeout_ms", "drain_timeout_ms", r.drain_timeout.count());
  ZTP_TRY(drain);
  r.drain_timeout = Millis(*drain);
  auto upstream =
      get_int(j, "upstream_timeout_ms", "upstream_timeout_ms", r.upstream_timeout.count());
  ZTP_TRY(upstream);
  r.upstream_timeout = Millis(*upstream);

  if (auto it = j.find("release_sets"); it != j.end()) {
    if (!it->is_array()) {
      return bad("release_sets", "expected an array");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      const json& s = (*it)[i];
      std::string where = fmt::format("release_sets[{}]", i);
      if (!s.is_object()) {
        return bad(where, "expected an object");
      }
      ZTP_TRY(only_keys(s, where, {"release", "weight", "backends"}));
      ReleaseSet set;
      auto release = get_string(s, "release", join(where, "release"), true);
      ZTP_TRY(release);
      set.release = *release;
      auto weight = get_int(s, "weight", join(where, "weight"), 0);
      ZTP_TRY(weight);
      if (*weight < 0 || *weight > 100) {
        return bad(join(where, "weight"), "must be 0-100");
      }
      set.weight = static_cast<int>(*weight);
      if (auto b = s.find("backends"); b != s.end()) {
        if (!b->is_array()) {
          return bad(join(where, "backends"), "expected an array");
        }
        for (size_t k = 0; k < b->size(); ++k) {
          const json& be = (*b)[k];
          std::string bw = fmt::format("{}.backends[{}]", where, k);
          if (!be.is_object()) {
            return bad(bw, "expected an object");
          }
          ZTP_TRY(only_keys(be, bw, {"id", "address"}));
          BackendRoute route;
          auto id = get_string(be, "id", join(bw, "id"), true);
          ZTP_TRY(id);
          auto address = get_string(be, "address", join(bw, "address"), true);
          ZTP_TRY(address);
          route.id = *id;
          route.address = *address;
          set.backends.push_back(std::move(route));
        }
      }
      r.release_sets.push_back(std::move(set));
    }
  }
  ZTP_TRY(validate(r));
  return r;
}

Result<EnvRoutes> env_routes_from_text(std::string_view env, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return make_error(Errc::invalid, "routes: body is not valid JSON");
  }
  return env_routes_from_json(env, j);
}

Result<void> validate(const EnvRoutes& r) {
  if (!valid_env_name(r.env)) {
    return bad("env",
               fmt::format("\"{}\" is not a valid environment name ([a-z0-9][a-z0-9_.-]*)", r.env));
  }
  if (!parse_host_port(r.listen).ok()) {
    return bad("listen", "not host:port");
  }
  if (r.health.path.empty() || r.health.path.front() != '/') {
    return bad("health.path", "must start with /");
  }
  if (r.health.interval.count() < 10 || r.health.interval.count() > 3'600'000) {
    return bad("health.interval_ms", "must be 10-3600000");
  }
  if (r.health.timeout.count() < 1 || r.health.timeout.count() > 600'000) {
    return bad("health.timeout_ms", "must be 1-600000");
  }
  if (r.health.healthy_threshold < 1 || r.health.unhealthy_threshold < 1) {
    return bad("health", "thresholds must be at least 1");
  }
  if (r.drain_timeout.count() < 0 || r.drain_timeout.count() > 3'600'000) {
    return bad("drain_timeout_ms", "must be 0-3600000");
  }
  if (r.upstream_timeout.count() < 1 || r.upstream_timeout.count() > 3'600'000) {
    return bad("upstream_timeout_ms", "must be 1-3600000");
  }
  std::set<std::string> releases;
  std::set<std::string> ids;
  for (size_t i = 0; i < r.release_sets.size(); ++i) {
    const auto& s = r.release_sets[i];
    std::string where = fmt::format("release_sets[{}]", i);
    if (s.release.empty()) {
      return bad(where + ".release", "must not be empty");
    }
    if (!releases.insert(s.release).second) {
      return bad(where + ".release", fmt::format("duplicate release \"{}\"", s.release));
    }
    if (s.weight < 0 || s.weight > 100) {
      return bad(where + ".weight", "must be 0-100");
    }
    for (size_t k = 0; k < s.backends.size(); ++k) {
      const auto& b = s.backends[k];
      std::string bw = fmt::format("{}.backends[{}]", where, k);
      if (b.id.empty()) {
        return bad(bw + ".id", "must not be empty");
      }
      if (!ids.insert(b.id).second) {
        return bad(bw + ".id", fmt::format("duplicate backend id \"{}\"", b.id));
      }
      if (!parse_host_port(b.address).ok()) {
        return bad(bw + ".address", "not host:port");
      }
    }
  }
  return {};
}

json to_json(const EnvRoutes& r) {
  json sets = json::array();
  for (const auto& s : r.release_sets) {
    json backends = json::array();
    for (const auto& b : s.backends) {
      backends.push_back({{"id", b.id}, {"address", b.address}});
    }
    sets.push_back({{"release", s.release}, {"weight", s.weight}, {"backends", backends}});
  }
  return json{{"env", r.env},
              {"listen", r.listen},
              {"health",
               {{"path", r.health.path},
                {"interval_ms", r.health.interval.count()},
                {"timeout_ms", r.health.timeout.count()},
                {"healthy_threshold", r.health.healthy_threshold},
                {"unhealthy_threshold", r.health.unhealthy_threshold}}},
              {"drain_timeout_ms", r.drain_timeout.count()},
              {"upstream_timeout_ms", r.upstream_timeout.count()},
              {"release_sets", sets}};
}

}  // namespace ztp::proxy
