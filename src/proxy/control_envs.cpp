#include "proxy/control.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <cmath>
#include <cstring>
#include <set>

#include "proxy/health_probe.hpp"
#include "proxy/listener.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::steady_clock;

// Removed backends stay listed this long after they drained.
constexpr auto k_drained_retention = std::chrono::seconds(60);

std::string key_of(const std::string& id, const std::string& address) {
  return id + "\n" + address;
}

json counters_json(const ReleaseCounters& s) {
  json buckets = json::array();
  for (size_t i = 0; i < s.bucket_bounds_ms.size() && i < s.bucket_counts.size(); ++i) {
    double le = s.bucket_bounds_ms[i];
    buckets.push_back(
        {{"le_ms", std::isinf(le) ? json("+Inf") : json(le)}, {"count", s.bucket_counts[i]}});
  }
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  return json{{"release", s.release},
              {"requests", s.requests},
              {"status_2xx", s.status_2xx},
              {"status_3xx", s.status_3xx},
              {"status_4xx", s.status_4xx},
              {"status_5xx", s.status_5xx},
              {"connect_errors", s.connect_errors},
              {"timeouts", s.timeouts},
              {"p50_ms", round3(s.p50_ms)},
              {"p95_ms", round3(s.p95_ms)},
              {"p99_ms", round3(s.p99_ms)},
              {"buckets", buckets}};
}

}  // namespace

Result<void> Control::bind_env(Env& env, const std::string& listen) {
  auto hp = parse_host_port(listen);
  ZTP_TRY(hp);
  std::vector<std::pair<size_t, std::shared_ptr<asio::ip::tcp::acceptor>>> acceptors;
  auto inherited = m_inherited.find(env.routes.env);
  if (inherited != m_inherited.end() && inherited->second.first == listen &&
      !inherited->second.second.empty()) {
    // Serve the very sockets of the proxy taken over: no connection waits in a queue that
    // is about to close.
    std::vector<int> fds = std::move(inherited->second.second);
    m_inherited.erase(inherited);
    size_t n = m_workers.size();
    for (size_t i = 0; i < std::max(fds.size(), n); ++i) {
      int fd = i < fds.size() ? fds[i] : ::dup(fds[i % fds.size()]);
      auto acc = adopt_listener(m_workers[i % n]->context(), fd);
      ZTP_TRY(acc);
      acceptors.emplace_back(i % n, std::move(*acc));
    }
  } else {
    auto endpoint = resolve_endpoint(*hp);
    if (!endpoint.ok()) {
      return make_error(Errc::invalid, "listen: " + endpoint.error().message);
    }
    for (auto& w : m_workers) {
      auto acc = bind_listener(w->context(), *endpoint);
      if (!acc.ok()) {
        for (auto& [i, a] : acceptors) {
          boost::system::error_code ec;
          a->close(ec);
        }
        return make_error(acc.error().code, fmt::format("environment {}: listen: {}",
                                                        env.routes.env, acc.error().message));
      }
      acceptors.emplace_back(w->index(), std::move(*acc));
    }
  }
  close_listeners(env);
  env.acceptors = std::move(acceptors);
  env.bound_listen = listen;
  for (auto& [i, acc] : env.acceptors) {
    m_workers[i]->serve(env.shared, acc);
  }
  return {};
}

void Control::close_listeners(Env& env) {
  for (auto& [i, acc] : env.acceptors) {
    asio::post(m_workers[i]->context(), [acc = acc] {
      boost::system::error_code ec;
      acc->close(ec);
    });
  }
  env.acceptors.clear();
  env.bound_listen.clear();
}

Result<json> Control::apply(EnvRoutes routes, std::shared_ptr<const Maintenance> restored) {
  ZTP_TRY(validate(routes));
  auto it = m_envs.find(routes.env);
  bool created = it == m_envs.end();
  if (!created && it->second->routes == routes && !it->second->bound_listen.empty()) {
    return to_json(routes);  // idempotent: nothing to change
  }
  // Resolve every address before touching anything, so a bad one changes nothing.
  std::vector<std::vector<asio::ip::tcp::endpoint>> endpoints;
  for (size_t i = 0; i < routes.release_sets.size(); ++i) {
    endpoints.emplace_back();
    const auto& set = routes.release_sets[i];
    for (size_t k = 0; k < set.backends.size(); ++k) {
      auto ep = resolve_endpoint(*parse_host_port(set.backends[k].address));
      if (!ep.ok()) {
        return make_error(Errc::invalid, fmt::format("release_sets[{}].backends[{}].address: {}", i,
                                                     k, ep.error().message));
      }
      endpoints.back().push_back(*ep);
    }
  }

  std::shared_ptr<Env> env = created ? std::make_shared<Env>() : it->second;
  if (created) {
    env->routes.env = routes.env;
    auto log = std::make_shared<AccessLog>(
        m_options.state_dir / fmt::format("access-{}.log", routes.env), m_options.access_log);
    env->shared = std::make_shared<EnvShared>(routes.env, std::move(log), m_workers.size());
    env->maintenance = std::move(restored);  // before the listener serves a request
  }
  if (env->bound_listen != routes.listen) {
    auto bound = bind_env(*env, routes.listen);
    if (!bound.ok() && !m_restoring) {
      return bound.take_error();
    }
    if (!bound.ok()) {
      log::error("cannot listen; a PUT of the environment binds again",
                 {{"env", routes.env}, {"error", bound.error().message}});
    }
  }

  auto now = m_clock.now();
  std::map<std::string, std::shared_ptr<Backend>> known;
  for (auto& b : env->backends) {
    known[key_of(b->id(), b->address())] = b;
  }
  for (auto& l : env->leaving) {
    known.emplace(key_of(l.backend->id(), l.backend->address()), l.backend);
  }
  auto table = std::make_shared<Table>();
  table->routes = routes;
  table->maintenance = env->maintenance;
  std::vector<std::shared_ptr<Backend>> backends;
  std::set<std::string> kept;
  std::map<std::string, std::shared_ptr<ReleaseStats>> stats;
  for (size_t i = 0; i < routes.release_sets.size(); ++i) {
    const auto& set = routes.release_sets[i];
    RouteSet rs;
    rs.release = set.release;
    rs.weight = set.weight;
    auto st = env->stats.find(set.release);
    rs.stats = st != env->stats.end()
                   ? st->second
                   : std::make_shared<ReleaseStats>(set.release, m_workers.size());
    stats[set.release] = rs.stats;
    for (size_t k = 0; k < set.backends.size(); ++k) {
      const auto& route = set.backends[k];
      std::string key = key_of(route.id, route.address);
      std::shared_ptr<Backend> b;
      if (auto found = known.find(key); found != known.end()) {
        b = found->second;
        b->set_draining(false);
        b->health.configure(routes.health);
        b->set_release(set.release);
      } else {
        b = std::make_shared<Backend>(route, set.release, endpoints[i][k], m_workers.size(),
                                      routes.health, m_clock);
        if (m_assume_healthy.count(routes.env + "\n" + key) > 0) {
          b->health.assume_healthy();
          b->set_healthy(true);
        }
      }
      kept.insert(key);
      rs.backends.push_back(b);
      backends.push_back(b);
    }
    table->sets.push_back(std::move(rs));
  }
  // Backends no longer listed drain; re-added ones leave the draining list.
  std::erase_if(env->leaving, [&](const Env::Leaving& l) {
    return kept.count(key_of(l.backend->id(), l.backend->address())) > 0;
  });
  for (auto& b : env->backends) {
    if (kept.count(key_of(b->id(), b->address())) == 0) {
      b->set_draining(true);
      env->leaving.push_back({b, now + routes.drain_timeout, std::nullopt});
      log::info("backend draining", {{"env", routes.env}, {"backend", b->id()}});
    }
  }
  env->backends = std::move(backends);
  env->stats = std::move(stats);
  env->routes = routes;
  env->shared->publish(std::move(table));
  m_envs[routes.env] = env;
  if (auto saved = persist(); !saved.ok()) {
    log::error("cannot persist the routes", {{"error", saved.error().message}});
  }
  // Probe the new backends now rather than at the next tick.
  tick();
  return to_json(routes);
}

json Control::health_json(const Env& env) const {
  json list = json::array();
  auto add = [&](const Backend& b, const std::string& state) {
    list.push_back({{"id", b.id()},
                    {"address", b.address()},
                    {"release", b.release()},
                    {"state", state},
                    {"in_flight", b.in_flight()},
                    {"consecutive_successes", b.health.consecutive_successes()},
                    {"consecutive_failures", b.health.consecutive_failures()},
                    {"last_error", b.health.last_error()}});
  };
  for (const auto& b : env.backends) {
    add(*b, b->healthy() ? "healthy" : "unhealthy");
  }
  for (const auto& l : env.leaving) {
    add(*l.backend, l.drained_at ? "drained" : "draining");
  }
  return json{{"env", env.routes.env}, {"backends", list}};
}

json Control::stats_json(const Env& env) const {
  json releases = json::array();
  for (const auto& set : env.routes.release_sets) {
    auto it = env.stats.find(set.release);
    if (it != env.stats.end()) {
      releases.push_back(counters_json(it->second->snapshot()));
    }
  }
  return json{{"env", env.routes.env},
              {"releases", releases},
              {"unrouted", counters_json(env.shared->unrouted.snapshot())}};
}

void Control::tick() {
  auto now = m_clock.now();
  for (auto& [name, env] : m_envs) {
    for (auto& b : env->backends) {
      if (int err = b->take_ejection(); err != 0) {
        std::string why = err > 0 ? std::strerror(err) : "connection failed";
        if (b->health.eject("connect: " + why)) {
          log::warn(
              "backend ejected",
              {{"env", name}, {"backend", b->id()}, {"address", b->address()}, {"error", why}});
        }
        b->set_healthy(b->health.healthy());
      }
      if (!b->probing && b->health.due()) {
        start_probe(env, b);
      }
    }
    for (auto& l : env->leaving) {
      l.backend->take_ejection();
      if (!l.drained_at && (l.backend->in_flight() == 0 || now >= l.deadline)) {
        l.drained_at = now;
        log::info("backend drained", {{"env", name},
                                      {"backend", l.backend->id()},
                                      {"in_flight", std::to_string(l.backend->in_flight())}});
      }
    }
    std::erase_if(env->leaving, [&](const Env::Leaving& l) {
      return l.drained_at && now - *l.drained_at >= k_drained_retention;
    });
    if (env->shared && env->shared->access_log) {
      env->shared->access_log->maintain();  // rotation, off the workers' threads
    }
  }
}

void Control::start_probe(const std::shared_ptr<Env>& env, const std::shared_ptr<Backend>& b) {
  b->probing = true;
  b->health.probe_started();
  auto hp = parse_host_port(b->address());
  std::string host = hp.ok() ? b->address() : std::string("localhost");
  const HealthConfig& cfg = b->health.config();
  auto probe = [](Control* self, std::shared_ptr<Env> env, std::shared_ptr<Backend> b,
                  asio::awaitable<ProbeResult> work) -> asio::awaitable<void> {
    ProbeResult r = co_await std::move(work);
    b->probing = false;
    if (int err = b->take_ejection(); err != 0) {
      b->health.eject(std::string("connect: ") + (err > 0 ? std::strerror(err) : "failed"));
    }
    bool was = b->health.healthy();
    b->health.record(r.ok, r.error);
    if (was != b->health.healthy() && !b->draining()) {
      log::info(b->health.healthy() ? "backend healthy" : "backend unhealthy",
                {{"env", env->routes.env},
                 {"backend", b->id()},
                 {"address", b->address()},
                 {"error", r.error}});
    }
    b->set_healthy(b->health.healthy());
    (void)self;
  };
  asio::co_spawn(m_ioc, probe(this, env, b, probe_http(b->endpoint(), host, cfg.path, cfg.timeout)),
                 asio::detached);
}

Result<void> Control::persist() const {
  json envs = json::array();
  for (const auto& [name, env] : m_envs) {
    json entry = to_json(env->routes);
    if (env->maintenance) {
      entry["maintenance"] = to_json(*env->maintenance);
    }
    envs.push_back(std::move(entry));
  }
  json doc{{"version", 1}, {"envs", envs}};
  return fs::atomic_write(m_options.state_dir / "routes.json", doc.dump(2) + "\n", 0600);
}

Result<void> Control::restore() {
  auto path = m_options.state_dir / "routes.json";
  auto text = fs::read_file(path);
  if (!text.ok()) {
    return text.error().code == Errc::not_found ? Result<void>() : Result<void>(text.take_error());
  }
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("envs") || !doc["envs"].is_array()) {
    return make_error(
        Errc::invalid,
        fmt::format("{}: not a routes file; move it away to start empty", path.string()));
  }
  for (json e : doc["envs"]) {
    std::string name = e.is_object() && e.contains("env") && e["env"].is_string()
                           ? e["env"].get<std::string>()
                           : std::string();
    std::shared_ptr<const Maintenance> maintenance;
    if (e.is_object() && e.contains("maintenance")) {
      auto m = maintenance_from_json(e["maintenance"]);
      if (m.ok()) {
        maintenance = std::make_shared<const Maintenance>(std::move(*m));
      } else {
        // Serving an environment that was in maintenance is worse than refusing it: keep it
        // in maintenance with the generic page.
        log::error(
            "the maintenance of an environment in routes.json is unreadable; "
            "serving the generic maintenance page",
            {{"path", path.string()}, {"env", name}, {"error", m.error().message}});
        maintenance = std::make_shared<const Maintenance>();
      }
      e.erase("maintenance");
    }
    auto routes = env_routes_from_json(name, e);
    if (!routes.ok()) {
      log::error("skipping an environment of routes.json",
                 {{"path", path.string()}, {"env", name}, {"error", routes.error().message}});
      continue;
    }
    m_restoring = true;
    auto applied = apply(*routes, std::move(maintenance));
    m_restoring = false;
    if (!applied.ok()) {
      log::error("cannot restore an environment",
                 {{"env", name}, {"error", applied.error().message}});
    }
  }
  return {};
}

}  // namespace ztp::proxy
