#include "proxy/admin_client.hpp"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "proxy/unix_http.hpp"

namespace ztp::proxy {
namespace {

using nlohmann::json;

Result<json> parse_body(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::internal, "the proxy answered with something other than JSON");
  }
  return j;
}

template <typename T>
T field(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

// One bucket's `le_ms`: a number, or "+Inf" for the last; nullopt when it is neither.
std::optional<double> bucket_bound(const json& bucket) {
  auto it = bucket.find("le_ms");
  if (it == bucket.end()) {
    return std::nullopt;
  }
  if (it->is_number()) {
    return it->get<double>();
  }
  if (it->is_string() && it->get<std::string>() == "+Inf") {
    return std::numeric_limits<double>::infinity();
  }
  return std::nullopt;
}

Result<ReleaseCounters> counters_from_json(const json& j) {
  ReleaseCounters c;
  c.release = field<std::string>(j, "release", "");
  c.requests = field<uint64_t>(j, "requests", 0);
  c.status_2xx = field<uint64_t>(j, "status_2xx", 0);
  c.status_3xx = field<uint64_t>(j, "status_3xx", 0);
  c.status_4xx = field<uint64_t>(j, "status_4xx", 0);
  c.status_5xx = field<uint64_t>(j, "status_5xx", 0);
  c.connect_errors = field<uint64_t>(j, "connect_errors", 0);
  c.timeouts = field<uint64_t>(j, "timeouts", 0);
  c.p50_ms = field<double>(j, "p50_ms", 0);
  c.p95_ms = field<double>(j, "p95_ms", 0);
  c.p99_ms = field<double>(j, "p99_ms", 0);
  if (auto it = j.find("buckets"); it != j.end() && it->is_array()) {
    for (const auto& bucket : *it) {
      std::optional<double> le = bucket.is_object() ? bucket_bound(bucket) : std::nullopt;
      if (!le || (!c.bucket_bounds_ms.empty() && *le <= c.bucket_bounds_ms.back())) {
        return make_error(Errc::internal,
                          fmt::format("the proxy's latency buckets of release '{}' have a "
                                      "missing or out-of-order le_ms: {}",
                                      c.release, bucket.dump()));
      }
      c.bucket_bounds_ms.push_back(*le);
      c.bucket_counts.push_back(field<uint64_t>(bucket, "count", 0));
    }
  }
  return c;
}

}  // namespace

AdminClient::AdminClient(std::filesystem::path socket, std::chrono::milliseconds timeout)
    : m_socket(std::move(socket)), m_timeout(timeout) {}

std::filesystem::path AdminClient::socket_path(const std::filesystem::path& state_dir) {
  return state_dir / "admin.sock";
}

Result<std::string> AdminClient::call(std::string_view method, const std::string& target,
                                      std::string_view body) {
  auto r = unix_http(m_socket, method, target, body, m_timeout);
  ZTP_TRY(r);
  if (r->status >= 200 && r->status < 300) {
    return std::move(r->body);
  }
  std::string message = fmt::format("proxy: {} {} answered {}", method, target, r->status);
  json j = json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    message = j["error"].get<std::string>();
  }
  switch (r->status) {
    case 400:
      return make_error(Errc::invalid, message);
    case 404:
      return make_error(Errc::not_found, message);
    case 409:
      return make_error(Errc::conflict, message);
    case 503:
      return make_error(Errc::unavailable, message);
    default:
      return make_error(Errc::internal, message);
  }
}

Result<void> AdminClient::ping() {
  auto r = call("GET", "/v1/ping");
  ZTP_TRY(r);
  return {};
}

Result<EnvRoutes> AdminClient::put_env(const EnvRoutes& routes) {
  auto r = call("PUT", "/v1/envs/" + routes.env, to_json(routes).dump());
  ZTP_TRY(r);
  return env_routes_from_text(routes.env, *r);
}

Result<EnvRoutes> AdminClient::get_env(std::string_view env) {
  auto r = call("GET", fmt::format("/v1/envs/{}", env));
  ZTP_TRY(r);
  return env_routes_from_text(env, *r);
}

Result<std::vector<EnvRoutes>> AdminClient::list_envs() {
  auto r = call("GET", "/v1/envs");
  ZTP_TRY(r);
  auto j = parse_body(*r);
  ZTP_TRY(j);
  std::vector<EnvRoutes> out;
  for (const auto& e : (*j)["envs"]) {
    auto routes = env_routes_from_json(field<std::string>(e, "env", ""), e);
    ZTP_TRY(routes);
    out.push_back(std::move(*routes));
  }
  return out;
}

Result<void> AdminClient::delete_env(std::string_view env) {
  auto r = call("DELETE", fmt::format("/v1/envs/{}", env));
  ZTP_TRY(r);
  return {};
}

Result<std::vector<BackendHealth>> AdminClient::health(std::string_view env) {
  auto r = call("GET", fmt::format("/v1/envs/{}/health", env));
  ZTP_TRY(r);
  auto j = parse_body(*r);
  ZTP_TRY(j);
  std::vector<BackendHealth> out;
  for (const auto& b : (*j)["backends"]) {
    BackendHealth h;
    h.id = field<std::string>(b, "id", "");
    h.address = field<std::string>(b, "address", "");
    h.release = field<std::string>(b, "release", "");
    h.state = field<std::string>(b, "state", "");
    h.in_flight = field<int64_t>(b, "in_flight", 0);
    h.consecutive_successes = field<int>(b, "consecutive_successes", 0);
    h.consecutive_failures = field<int>(b, "consecutive_failures", 0);
    h.last_error = field<std::string>(b, "last_error", "");
    out.push_back(std::move(h));
  }
  return out;
}

Result<EnvStats> parse_env_stats(std::string_view body) {
  auto j = parse_body(std::string(body));
  ZTP_TRY(j);
  EnvStats out;
  out.env = field<std::string>(*j, "env", "");
  if (auto it = j->find("releases"); it != j->end() && it->is_array()) {
    for (const auto& rel : *it) {
      auto c = counters_from_json(rel);
      ZTP_TRY(c);
      out.releases.push_back(std::move(*c));
    }
  }
  if (auto it = j->find("unrouted"); it != j->end() && it->is_object()) {
    auto c = counters_from_json(*it);
    ZTP_TRY(c);
    out.unrouted = std::move(*c);
  }
  return out;
}

Result<EnvStats> AdminClient::stats(std::string_view env) {
  auto r = call("GET", fmt::format("/v1/envs/{}/stats", env));
  ZTP_TRY(r);
  return parse_env_stats(*r);
}

Result<Maintenance> AdminClient::set_maintenance(std::string_view env, const Maintenance& m) {
  auto r = call("PUT", fmt::format("/v1/envs/{}/maintenance", env), to_json(m).dump());
  ZTP_TRY(r);
  auto j = parse_body(*r);
  ZTP_TRY(j);
  return maintenance_from_json(j->value("maintenance", json::object()));
}

Result<bool> AdminClient::clear_maintenance(std::string_view env) {
  auto r = call("DELETE", fmt::format("/v1/envs/{}/maintenance", env));
  ZTP_TRY(r);
  auto j = parse_body(*r);
  ZTP_TRY(j);
  return field<bool>(*j, "was_on", false);
}

Result<std::optional<Maintenance>> AdminClient::get_maintenance(std::string_view env) {
  auto r = call("GET", fmt::format("/v1/envs/{}/maintenance", env));
  ZTP_TRY(r);
  auto j = parse_body(*r);
  ZTP_TRY(j);
  auto it = j->find("maintenance");
  if (it == j->end() || it->is_null()) {
    return std::optional<Maintenance>();
  }
  auto m = maintenance_from_json(*it);
  ZTP_TRY(m);
  return std::optional<Maintenance>(std::move(*m));
}

Result<void> AdminClient::shutdown() {
  auto r = call("POST", "/v1/shutdown");
  ZTP_TRY(r);
  return {};
}

}  // namespace ztp::proxy
