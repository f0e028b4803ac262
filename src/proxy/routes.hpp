#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sys/host_port.hpp"
#include "util/result.hpp"

// The desired routes of one environment as the admin API takes and returns them, shared by the
// proxy (server) and AdminClient (the local target).
namespace ztp::proxy {

using Millis = std::chrono::milliseconds;

// Active health check of every backend of an environment.
struct HealthConfig {
  std::string path = "/health";
  Millis interval{2000};
  Millis timeout{1000};
  int healthy_threshold = 1;    // consecutive passes to become healthy (rise)
  int unhealthy_threshold = 3;  // consecutive failures to become unhealthy (fall)

  bool operator==(const HealthConfig&) const = default;
};

// One replica the proxy may send requests to.
struct BackendRoute {
  std::string id;       // stable name, e.g. "dev-3-0"
  std::string address;  // host:port

  bool operator==(const BackendRoute&) const = default;
};

// The replicas of one release and their share of the traffic (0-100).
struct ReleaseSet {
  std::string release;
  int weight = 0;
  std::vector<BackendRoute> backends;

  bool operator==(const ReleaseSet&) const = default;
};

// Everything the proxy needs to serve one environment.
struct EnvRoutes {
  std::string env;
  std::string listen;  // host:port of the front door
  HealthConfig health;
  Millis drain_timeout{30000};
  Millis upstream_timeout{30000};
  std::vector<ReleaseSet> release_sets;

  bool operator==(const EnvRoutes&) const = default;
};

// host:port as the routes name listeners and backends (sys/host_port.hpp).
using sys::HostPort;
using sys::parse_host_port;

// True when `name` can name an environment: [a-z0-9][a-z0-9_.-]{0,62}.
bool valid_env_name(std::string_view name);

// Reads the JSON of the admin API (`PUT /v1/envs/{env}` body) for `env`, with defaults for
// absent fields. invalid with "field.path: reason" on the first problem found.
Result<EnvRoutes> env_routes_from_json(std::string_view env, const nlohmann::json& j);
// Same, from text; invalid when it is not JSON.
Result<EnvRoutes> env_routes_from_text(std::string_view env, std::string_view text);

// Checks the rules the parser does not: names, ranges, duplicates, addresses.
Result<void> validate(const EnvRoutes& routes);

// The JSON form (the admin API's and routes.json's).
nlohmann::json to_json(const EnvRoutes& routes);

}  // namespace ztp::proxy
