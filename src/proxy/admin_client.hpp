#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/maintenance.hpp"
#include "proxy/release_counters.hpp"
#include "proxy/routes.hpp"
#include "util/result.hpp"

namespace ztp::proxy {

// Health of one backend as `GET /v1/envs/{env}/health` reports it.
struct BackendHealth {
  std::string id;
  std::string address;
  std::string release;
  std::string state;  // healthy | unhealthy | draining | drained
  int64_t in_flight = 0;
  int consecutive_successes = 0;
  int consecutive_failures = 0;
  std::string last_error;
};

// Per-release counters of one environment, plus the requests no release could take (503).
struct EnvStats {
  std::string env;
  std::vector<ReleaseCounters> releases;
  ReleaseCounters unrouted;
};

// Reads the body of a `GET /v1/envs/{env}/stats` answer. internal when it is not that JSON, or
// when a latency bucket has no bound or the bounds do not ascend.
Result<EnvStats> parse_env_stats(std::string_view body);

// A blocking client of the proxy's admin API over its unix socket; every call is bounded by
// the timeout. Errors: unavailable when the socket does not answer, invalid with the server's
// message on 400, not_found on 404, conflict on 409 (a listen address taken), internal else.
class AdminClient {
 public:
  explicit AdminClient(std::filesystem::path socket,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // `<state_dir>/admin.sock`.
  static std::filesystem::path socket_path(const std::filesystem::path& state_dir);

  // Succeeds when a proxy answers.
  Result<void> ping();
  // Sets the full desired routes of `routes.env` atomically; returns the applied routes.
  Result<EnvRoutes> put_env(const EnvRoutes& routes);
  // The routes of one environment; not_found when the proxy does not serve it.
  Result<EnvRoutes> get_env(std::string_view env);
  // The routes of every environment.
  Result<std::vector<EnvRoutes>> list_envs();
  // Stops serving `env` once its in-flight requests finished (bounded by its drain timeout).
  Result<void> delete_env(std::string_view env);
  // Every backend of `env`, including removed ones still draining or recently drained.
  Result<std::vector<BackendHealth>> health(std::string_view env);
  // Per-release counters and latency of `env`.
  Result<EnvStats> stats(std::string_view env);
  // Puts `env` in maintenance (every request answered with the page of `m`, routes kept), or
  // changes its page; returns the maintenance as applied (since_ms set by the proxy).
  Result<Maintenance> set_maintenance(std::string_view env, const Maintenance& m);
  // Takes `env` out of maintenance; false when it was not in maintenance.
  Result<bool> clear_maintenance(std::string_view env);
  // The maintenance of `env`; nullopt when it is not in maintenance.
  Result<std::optional<Maintenance>> get_maintenance(std::string_view env);
  // Asks the proxy to stop accepting, drain and exit; returns once it has agreed.
  Result<void> shutdown();

  const std::filesystem::path& socket() const { return m_socket; }

 private:
  Result<std::string> call(std::string_view method, const std::string& target,
                           std::string_view body = {});

  std::filesystem::path m_socket;
  std::chrono::milliseconds m_timeout;
};

}  // namespace ztp::proxy
