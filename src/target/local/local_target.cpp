#include "target/local/local_target.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include "artifact/digest.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/unpack.hpp"
#include "proxy/admin_client.hpp"
#include "proxy/histogram.hpp"
#include "proxy/routes.hpp"
#include "target/local/release_files.hpp"
#include "target/local/replica_status.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/template.hpp"

namespace ztp::target::local {
namespace {

constexpr auto k_proxy_start_timeout = std::chrono::seconds(15);

// Holds an flock on a file for as long as it lives.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path)
      : m_fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (m_fd >= 0) {
      while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~FileLock() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int m_fd;
};

bool port_is_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

int port_of(const std::string& listen) {
  auto hp = proxy::parse_host_port(listen);
  return hp.ok() ? hp->port : 0;
}

Replica::State state_from(const ReplicaStatus& status, bool alive) {
  if (!alive) {
    return Replica::State::stopped;
  }
  switch (status.state) {
    case ReplicaState::crashloop:
      return Replica::State::crashed;
    case ReplicaState::stopping:
    case ReplicaState::stopped:
      return Replica::State::stopped;
    case ReplicaState::backoff:
      return Replica::State::unhealthy;
    case ReplicaState::starting:
    case ReplicaState::running:
      return Replica::State::starting;
  }
  return Replica::State::starting;
}

}  // namespace

std::filesystem::path LocalPaths::release_dir(const std::string& digest) const {
  return releases() / std::string(artifact::digest_hex(digest));
}

struct LocalTarget::Impl {
  const spec::Spec& spec;
  Clock& clock;
  std::filesystem::path ztp_binary;
  LocalPaths paths;
  proxy::AdminClient admin;

  Impl(const spec::Spec& s, Clock& c, std::filesystem::path bin, LocalPaths p)
      : spec(s),
        clock(c),
        ztp_binary(std::move(bin)),
        paths(std::move(p)),
        admin(paths.proxy_socket()) {}

  const spec::Environment* environment(const std::string& env) const {
    return spec.find_environment(env);
  }

  // The routes the proxy serves for `env`, or a fresh table from the spec.
  Result<proxy::EnvRoutes> routes(const std::string& env) {
    auto current = admin.get_env(env);
    if (current.ok()) {
      return current;
    }
    if (current.error().code != Errc::not_found) {
      return current.take_error();
    }
    const auto* e = environment(env);
    if (e == nullptr) {
      return make_error(Errc::not_found,
                        fmt::format("environment {} is not in {}", env, spec.file.string()));
    }
    proxy::EnvRoutes r;
    r.env = env;
    r.listen = e->listen;
    return r;
  }

  // Brings listen, health and timeouts of `r` in line with the spec.
  void apply_spec(proxy::EnvRoutes& r) const {
    if (const auto* e = environment(r.env); e != nullptr) {
      r.listen = e->listen;
    }
    const auto& h = spec.service.health;
    r.health.path = h.path;
    r.health.interval = h.interval;
    r.health.timeout = h.timeout;
    r.health.healthy_threshold = h.healthy_threshold;
    r.health.unhealthy_threshold = h.unhealthy_threshold;
    r.drain_timeout = spec.service.drain_timeout;
  }

  Result<void> put_routes(proxy::EnvRoutes r) {
    apply_spec(r);
    std::erase_if(r.release_sets, [](const proxy::ReleaseSet& s) { return s.backends.empty(); });
    auto applied = admin.put_env(r);
    if (!applied.ok()) {
      return applied.take_error();
    }
    return {};
  }

  // Replica directories of `env` with their status.
  std::vector<std::pair<std::filesystem::path, ReplicaStatus>> replicas(
      const std::string& env) const {
    std::vector<std::pair<std::filesystem::path, ReplicaStatus>> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(paths.env_dir(env), ec)) {
      if (!entry.is_directory()) {
        continue;
      }
      auto status = read_replica_status(entry.path());
      if (status.ok()) {
        out.emplace_back(entry.path(), *status);
      }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }

  // Ports in use by any replica of any environment, and every front door.
  std::set<int> used_ports() const {
    std::set<int> used;
    std::error_code ec;
    for (const auto& env : std::filesystem::directory_iterator(paths.envs(), ec)) {
      for (const auto& [dir, status] : replicas(env.path().filename().string())) {
        used.insert(status.port);
      }
    }
    for (const auto& e : spec.environments) {
      used.insert(port_of(e.listen));
      if (!e.strategy.blue_green.preview_listen.empty()) {
        used.insert(port_of(e.strategy.blue_green.preview_listen));
      }
    }
    return used;
  }

  Result<int> pick_port(std::set<int>& taken) {
    int first = spec.service.port_range_first;
    int last = spec.service.port_range_last;
    int span = last - first + 1;
    std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                     static_cast<unsigned>(clock.now().time_since_epoch().count()));
    int start = std::uniform_int_distribution<int>(0, span - 1)(rng);
    for (int i = 0; i < span; ++i) {
      int port = first + (start + i) % span;
      if (taken.count(port) == 0 && port_is_free(port)) {
        taken.insert(port);
        return port;
      }
    }
    return make_error(
        Errc::unavailable,
        fmt::format("no free port in service.port_range {}-{}; widen it in {} or stop "
                    "other environments",
                    first, last, spec.file.string()));
  }

  int next_index(const std::string& env, const std::string& release) const {
    int next = 0;
    std::string prefix = fmt::format("{}-r{}-", env, release);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(paths.env_dir(env), ec)) {
      auto name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0) {
        next = std::max(next, std::atoi(name.c_str() + prefix.size()) + 1);
      }
    }
    return next;
  }

  // What the templates of a replica are rendered with.
  static std::map<std::string, std::string> template_vars(
      int port, const std::string& env, const std::string& release, int replica,
      const std::filesystem::path& release_dir, const std::filesystem::path& replica_dir) {
    return {{"port", std::to_string(port)},
            {"env", env},
            {"release", release},
            {"replica", std::to_string(replica)},
            {"release_dir", release_dir.string()},
            {"replica_dir", replica_dir.string()}};
  }

  // The spec's templates rendered from the release: relative path -> content.
  Result<std::map<std::string, std::string>> rendered(
      const std::filesystem::path& release_dir, const std::map<std::string, std::string>& vars) {
    std::map<std::string, std::string> out;
    for (const auto& rel : spec.build.templates) {
      auto source = fs::read_file(release_dir / rel);
      if (!source.ok()) {
        return make_error(Errc::invalid,
                          fmt::format("build.templates: {} is not in the release: {}", rel,
                                      source.error().message));
      }
      auto text = render_template(*source, vars);
      if (!text.ok()) {
        return make_error(Errc::invalid, fmt::format("{}: {}", rel, text.error().message));
      }
      out[rel] = std::move(*text);
    }
    return out;
  }

  // Renders the spec's templates from the release into the replica's directory.
  Result<void> render(const std::filesystem::path& release_dir,
                      const std::filesystem::path& replica_dir,
                      const std::map<std::string, std::string>& vars) {
    auto files = rendered(release_dir, vars);
    if (!files.ok()) {
      return files.take_error();
    }
    for (const auto& [rel, text] : *files) {
      auto out = replica_dir / rel;
      ZTP_TRY(fs::ensure_dir(out.parent_path()));
      ZTP_TRY(fs::atomic_write(out, text));
    }
    return {};
  }

  Result<std::vector<std::string>> command(const std::map<std::string, std::string>& vars) {
    if (spec.build.command.empty()) {
      return make_error(Errc::invalid,
                        fmt::format("{}: build.command is empty: the local target needs the "
                                    "command a replica runs",
                                    spec.file.string()));
    }
    std::vector<std::string> argv;
    for (const auto& arg : spec.build.command) {
      auto rendered = render_template(arg, vars);
      if (!rendered.ok()) {
        return make_error(Errc::invalid,
                          fmt::format("build.command: {}", rendered.error().message));
      }
      argv.push_back(*rendered);
    }
    return argv;
  }

  // Unpacks the image of `release` into `dest` (which must not exist).
  Result<void> unpack_to(const ReleaseRef& release, const std::filesystem::path& dest) {
    auto store = artifact::OciLayoutStore::open(paths.oci());
    if (!store.ok()) {
      return store.take_error();
    }
    auto manifest = store->resolve(release.digest);
    if (!manifest.ok()) {
      return make_error(
          manifest.error().code,
          fmt::format("release {} of {}: image {} is not in {}: {}", release.release, release.env,
                      release.digest, paths.oci().string(), manifest.error().message));
    }
    ZTP_TRY(fs::ensure_dir(paths.releases()));
    return artifact::unpack_image(*store, *manifest, dest);
  }

  // A scratch path beside the release directories, unique to this process.
  std::filesystem::path scratch(const std::string& digest, const std::string& what) const {
    return paths.releases() / fmt::format(".{}-{}-{}", what, artifact::digest_hex(digest),
                                          static_cast<long>(::getpid()));
  }

  // The files of `release` as its image has them: the manifest written when it was unpacked,
  // or (unpacked by an older ztp) one made now from a scratch unpack of the image.
  Result<FileManifest> manifest(const ReleaseRef& release) {
    auto path = manifest_path(paths.release_dir(release.digest));
    auto kept = read_manifest(path);
    if (!kept.ok()) {
      return kept.take_error();
    }
    if (kept->has_value()) {
      return std::move(**kept);
    }
    auto tmp = scratch(release.digest, "scan");
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    auto unpacked = unpack_to(release, tmp);
    auto made = unpacked.ok() ? scan_release_dir(tmp) : Result<FileManifest>(unpacked.take_error());
    std::filesystem::remove_all(tmp, ec);
    if (!made.ok()) {
      return made.take_error();
    }
    ZTP_TRY(write_manifest(path, *made));
    return made;
  }

  Result<void> wait_for_proxy() {
    auto deadline = clock.now() + k_proxy_start_timeout;
    while (true) {
      if (admin.ping().ok()) {
        return {};
      }
      if (clock.now() >= deadline) {
        auto log = fs::read_file(paths.proxy_supervisor() / std::string(k_stderr_log));
        std::string tail = log.ok() ? log->substr(log->size() > 600 ? log->size() - 600 : 0) : "";
        return make_error(Errc::unavailable,
                          fmt::format("ztp proxy did not answer on {} within {} s{}{}",
                                      paths.proxy_socket().string(), k_proxy_start_timeout.count(),
                                      tail.empty() ? "" : "; its log ends with:\n", tail));
      }
      clock.sleep_for(std::chrono::milliseconds(50));
    }
  }
};

LocalTarget::LocalTarget(const spec::Spec& spec, std::filesystem::path home, Clock& clock,
                         std::filesystem::path ztp_binary)
    : m_paths{std::move(home)} {
  m_impl = std::make_unique<Impl>(spec, clock, std::move(ztp_binary), m_paths);
}

LocalTarget::~LocalTarget() = default;

Result<void> LocalTarget::ensure_proxy() {
  auto& impl = *m_impl;
  if (impl.admin.ping().ok()) {
    return {};
  }
  ZTP_TRY(fs::ensure_dir(m_paths.proxy()));
  ZTP_TRY(fs::ensure_dir(m_paths.home / "locks"));
  FileLock lock(m_paths.home / "locks" / "proxy.lock");
  if (impl.admin.ping().ok()) {
    return {};
  }
  // A supervisor that still runs is restarting the proxy: give it the time to.
  auto status = read_replica_status(m_paths.proxy_supervisor());
  if (status.ok() && process_alive(status->supervisor_pid, status->supervisor_start_time) &&
      status->state != ReplicaState::crashloop && status->state != ReplicaState::stopped) {
    return impl.wait_for_proxy();
  }
  if (status.ok() && process_alive(status->supervisor_pid, status->supervisor_start_time)) {
    ZTP_TRY(stop_replica(m_paths.proxy_supervisor(), std::chrono::seconds(10)));
  }
  SuperviseOptions opts;
  opts.state_dir = m_paths.proxy_supervisor();
  opts.workdir = m_paths.proxy();
  opts.env = "proxy";
  opts.release = "proxy";
  opts.ztp_binary = impl.ztp_binary;
  opts.stop_timeout = impl.spec.service.drain_timeout + std::chrono::seconds(5);
  opts.max_restarts = 10;
  opts.command = {impl.ztp_binary.string(), "proxy", "--state-dir", m_paths.proxy().string()};
  log::info("starting ztp proxy", {{"state_dir", m_paths.proxy().string()}});
  auto pid = spawn_supervisor(opts);
  if (!pid.ok()) {
    return make_error(pid.error().code,
                      fmt::format("cannot start ztp proxy: {}", pid.error().message));
  }
  return impl.wait_for_proxy();
}

Result<void> LocalTarget::prepare(const ReleaseRef& release) {
  auto dest = m_paths.release_dir(release.digest);
  if (std::filesystem::exists(dest)) {
    return {};
  }
  ZTP_TRY(m_impl->unpack_to(release, dest));
  // What drift detection compares the directory with later.
  auto files = scan_release_dir(dest);
  if (!files.ok()) {
    return files.take_error();
  }
  return write_manifest(manifest_path(dest), *files);
}

Result<std::vector<std::string>> LocalTarget::add_replicas(const ReleaseRef& release, int count) {
  auto& impl = *m_impl;
  const auto* env = impl.environment(release.env);
  if (env == nullptr) {
    return make_error(Errc::not_found, fmt::format("environment {} is not in {}", release.env,
                                                   impl.spec.file.string()));
  }
  ZTP_TRY(ensure_proxy());
  ZTP_TRY(prepare(release));
  auto release_dir = std::filesystem::absolute(m_paths.release_dir(release.digest));
  ZTP_TRY(fs::ensure_dir(m_paths.env_dir(release.env)));

  std::vector<std::string> ids;
  std::vector<proxy::BackendRoute> added;
  {
    // Port choice and start are serialised across processes so two deploys never pick one port.
    FileLock lock(m_paths.home / "locks" / "ports.lock");
    auto taken = impl.used_ports();
    int index = impl.next_index(release.env, release.release);
    for (int i = 0; i < count; ++i, ++index) {
      auto port = impl.pick_port(taken);
      if (!port.ok()) {
        return port.take_error();
      }
      std::string id = fmt::format("{}-r{}-{}", release.env, release.release, index);
      auto replica_dir = std::filesystem::absolute(m_paths.env_dir(release.env) / id);
      ZTP_TRY(fs::ensure_dir(replica_dir));
      auto vars =
          Impl::template_vars(*port, release.env, release.release, index, release_dir, replica_dir);
      ZTP_TRY(impl.render(release_dir, replica_dir, vars));
      auto argv = impl.command(vars);
      if (!argv.ok()) {
        return argv.take_error();
      }
      SuperviseOptions opts;
      opts.state_dir = replica_dir;
      opts.workdir = release_dir;
      opts.env = release.env;
      opts.release = release.release;
      opts.replica = index;
      opts.port = *port;
      opts.stop_timeout = impl.spec.service.stop_timeout;
      opts.ztp_binary = impl.ztp_binary;
      opts.command = *argv;
      for (const auto& [k, v] : impl.spec.build.env) {
        opts.env_vars.emplace_back(k, v);
      }
      for (const auto& [k, v] : env->env) {
        opts.env_vars.emplace_back(k, v);
      }
      opts.env_vars.emplace_back("ZTP_DIGEST", release.digest);
      auto pid = spawn_supervisor(opts);
      if (!pid.ok()) {
        return make_error(pid.error().code, fmt::format("replica {}: {}", id, pid.error().message));
      }
      log::info("replica started", {{"replica", id}, {"port", std::to_string(*port)}});
      ids.push_back(id);
      added.push_back({id, fmt::format("127.0.0.1:{}", *port)});
    }
  }

  auto routes = impl.routes(release.env);
  if (!routes.ok()) {
    return routes.take_error();
  }
  auto it = std::find_if(routes->release_sets.begin(), routes->release_sets.end(),
                         [&](const proxy::ReleaseSet& s) { return s.release == release.release; });
  if (it == routes->release_sets.end()) {
    routes->release_sets.push_back({release.release, 0, {}});
    it = std::prev(routes->release_sets.end());
  }
  it->backends.insert(it->backends.end(), added.begin(), added.end());
  ZTP_TRY(impl.put_routes(*routes));
  return ids;
}

Result<Observed> LocalTarget::observe(const std::string& env) {
  auto& impl = *m_impl;
  Observed obs;
  obs.env = env;
  std::map<std::string, int> weights;
  std::map<std::string, proxy::BackendHealth> health;
  if (impl.admin.ping().ok()) {
    auto routes = impl.admin.get_env(env);
    if (routes.ok()) {
      for (const auto& s : routes->release_sets) {
        weights[s.release] = s.weight;
      }
      auto h = impl.admin.health(env);
      if (h.ok()) {
        // The proxy lists live backends first: a drained one that a restarted replica's id
        // still names comes after it and must not hide it.
        for (const auto& b : *h) {
          health.emplace(b.id, b);
        }
      }
    }
  }
  std::map<std::string, ReleaseSet> sets;
  for (const auto& [dir, status] : impl.replicas(env)) {
    Replica r;
    r.id = dir.filename().string();
    r.release = status.release;
    r.address = fmt::format("127.0.0.1:{}", status.port);
    r.restarts = status.restarts;
    bool alive = process_alive(status.supervisor_pid, status.supervisor_start_time);
    r.state = state_from(status, alive);
    r.detail = status.error;
    if (r.state == Replica::State::starting) {
      auto h = health.find(r.id);
      if (h != health.end()) {
        r.state = h->second.state == "healthy"    ? Replica::State::healthy
                  : h->second.state == "draining" ? Replica::State::draining
                  : h->second.state == "drained"  ? Replica::State::draining
                  : h->second.state == "unhealthy" && h->second.consecutive_failures > 0
                      ? Replica::State::unhealthy
                      : Replica::State::starting;
        if (r.detail.empty() && r.state != Replica::State::healthy) {
          r.detail = h->second.last_error;
        }
      }
    } else if (r.state == Replica::State::crashed && r.detail.empty() && status.last_exit) {
      r.detail = status.last_exit->code
                     ? fmt::format("exited with code {}", *status.last_exit->code)
                     : fmt::format("killed by signal {}", status.last_exit->signal.value_or(0));
    }
    auto& set = sets[status.release];
    set.release = status.release;
    set.digest = "sha256:" + std::filesystem::path(status.workdir).filename().string();
    set.weight = weights.count(status.release) ? weights[status.release] : 0;
    set.replicas.push_back(r);
  }
  for (auto& [_, set] : sets) {
    obs.sets.push_back(std::move(set));
  }
  return obs;
}

Result<void> LocalTarget::set_weights(const std::string& env,
                                      const std::map<std::string, int>& weights) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  auto routes = impl.routes(env);
  if (!routes.ok()) {
    return routes.take_error();
  }
  for (auto& set : routes->release_sets) {
    auto it = weights.find(set.release);
    if (it != weights.end()) {
      set.weight = it->second;
    }
  }
  return impl.put_routes(*routes);
}

Result<void> LocalTarget::remove_replicas(const std::string& env,
                                          const std::vector<std::string>& ids) {
  auto& impl = *m_impl;
  std::set<std::string> leaving(ids.begin(), ids.end());
  if (impl.admin.ping().ok()) {
    auto routes = impl.routes(env);
    if (!routes.ok()) {
      return routes.take_error();
    }
    for (auto& set : routes->release_sets) {
      std::erase_if(set.backends,
                    [&](const proxy::BackendRoute& b) { return leaving.count(b.id) > 0; });
    }
    ZTP_TRY(impl.put_routes(*routes));
    // Wait until the proxy has finished their in-flight requests.
    auto deadline = impl.clock.now() + impl.spec.service.drain_timeout + std::chrono::seconds(2);
    while (impl.clock.now() < deadline) {
      auto health = impl.admin.health(env);
      if (!health.ok()) {
        break;
      }
      bool busy = std::any_of(health->begin(), health->end(), [&](const proxy::BackendHealth& b) {
        return leaving.count(b.id) > 0 && b.state != "drained";
      });
      if (!busy) {
        break;
      }
      impl.clock.sleep_for(std::chrono::milliseconds(50));
    }
  }
  ZTP_TRY(fs::ensure_dir(m_paths.retired(env)));
  for (const auto& id : ids) {
    auto dir = m_paths.env_dir(env) / id;
    if (!std::filesystem::exists(dir)) {
      continue;
    }
    ZTP_TRY(stop_replica(dir, impl.spec.service.stop_timeout + std::chrono::seconds(5)));
    // Kept for forensics (logs, status) until the next cleanup.
    auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
        impl.clock.wall_now().time_since_epoch());
    std::error_code ec;
    std::filesystem::rename(dir, m_paths.retired(env) / fmt::format("{}-{}", id, wall.count()), ec);
    if (ec) {
      std::filesystem::remove_all(dir, ec);
    }
  }
  return {};
}

Result<void> LocalTarget::down(const std::string& env) {
  auto& impl = *m_impl;
  std::vector<std::string> ids;
  for (const auto& [dir, status] : impl.replicas(env)) {
    ids.push_back(dir.filename().string());
  }
  ZTP_TRY(remove_replicas(env, ids));
  if (impl.admin.ping().ok()) {
    auto deleted = impl.admin.delete_env(env);
    if (!deleted.ok() && deleted.error().code != Errc::not_found) {
      return deleted.take_error();
    }
    auto left = impl.admin.list_envs();
    if (left.ok() && left->empty()) {
      ZTP_TRY(stop_replica(m_paths.proxy_supervisor(),
                           impl.spec.service.drain_timeout + std::chrono::seconds(10)));
    }
  }
  return {};
}

Result<std::vector<ReleaseMetrics>> LocalTarget::metrics(const std::string& env) {
  auto stats = m_impl->admin.stats(env);
  if (!stats.ok()) {
    return stats.take_error();
  }
  std::vector<ReleaseMetrics> out;
  for (const auto& c : stats->releases) {
    ReleaseMetrics m;
    m.release = c.release;
    m.requests = c.requests;
    m.errors = c.status_5xx + c.connect_errors + c.timeouts;
    for (size_t i = 0; i < proxy::k_latency_buckets; ++i) {
      m.bucket_bounds_ms.push_back(proxy::bucket_upper_ms(i));
      m.bucket_counts.push_back(c.latency.counts[i]);
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<void> LocalTarget::set_preview(const std::string& env, const std::string& release,
                                      const std::string& listen) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  auto routes = impl.routes(env);
  if (!routes.ok()) {
    return routes.take_error();
  }
  proxy::EnvRoutes preview;
  preview.env = preview_env(env);
  preview.listen = listen;
  for (const auto& set : routes->release_sets) {
    if (set.release == release) {
      preview.release_sets.push_back({release, 100, set.backends});
    }
  }
  if (preview.release_sets.empty()) {
    return make_error(Errc::not_found,
                      fmt::format("{} has no release set {} to preview", env, release));
  }
  impl.apply_spec(preview);
  preview.listen = listen;
  auto applied = impl.admin.put_env(preview);
  if (!applied.ok()) {
    return applied.take_error();
  }
  // The preview's own health checks decide when it can serve.
  auto deadline = impl.clock.now() + impl.spec.service.start_timeout;
  while (impl.clock.now() < deadline) {
    auto health = impl.admin.health(preview.env);
    if (health.ok() &&
        std::all_of(health->begin(), health->end(),
                    [](const proxy::BackendHealth& b) { return b.state == "healthy"; })) {
      return {};
    }
    impl.clock.sleep_for(std::chrono::milliseconds(50));
  }
  return make_error(
      Errc::timeout,
      fmt::format("preview of {} release {} on {} did not become healthy", env, release, listen));
}

Result<void> LocalTarget::clear_preview(const std::string& env) {
  if (!m_impl->admin.ping().ok()) {
    return {};
  }
  auto deleted = m_impl->admin.delete_env(preview_env(env));
  if (!deleted.ok() && deleted.error().code != Errc::not_found) {
    return deleted.take_error();
  }
  return {};
}

Result<RouteView> LocalTarget::routes(const std::string& env) {
  auto& impl = *m_impl;
  RouteView view;
  if (!impl.admin.ping().ok()) {
    view.router_up = false;
    return view;
  }
  auto routes = impl.admin.get_env(env);
  if (!routes.ok()) {
    if (routes.error().code != Errc::not_found) {
      return routes.take_error();
    }
    view.env_routed = false;
    return view;
  }
  for (const auto& s : routes->release_sets) {
    RoutedSet set{s.release, s.weight, {}};
    for (const auto& b : s.backends) {
      set.backends.emplace_back(b.id, b.address);
    }
    view.sets.push_back(std::move(set));
  }
  return view;
}

Result<std::vector<FileChange>> LocalTarget::changed_files(const ReleaseRef& release) {
  auto dir = m_paths.release_dir(release.digest);
  if (!std::filesystem::is_directory(dir)) {
    return std::vector<FileChange>{{".", FileChange::Kind::removed}};
  }
  auto expected = m_impl->manifest(release);
  if (!expected.ok()) {
    return expected.take_error();
  }
  auto observed = scan_release_dir(dir);
  if (!observed.ok()) {
    return observed.take_error();
  }
  return compare_manifests(*expected, *observed);
}

Result<std::map<std::string, std::vector<FileChange>>> LocalTarget::changed_config(
    const std::string& env) {
  auto& impl = *m_impl;
  std::map<std::string, std::vector<FileChange>> out;
  for (const auto& [dir, status] : impl.replicas(env)) {
    auto replica_dir = std::filesystem::absolute(dir);
    auto expected = impl.rendered(
        status.workdir, Impl::template_vars(status.port, env, status.release, status.replica,
                                            status.workdir, replica_dir));
    if (!expected.ok()) {
      continue;  // the release's own files are missing: files_changed reports it
    }
    std::vector<FileChange> changes;
    for (const auto& [rel, text] : *expected) {
      auto now = fs::read_file(replica_dir / rel);
      if (!now.ok()) {
        changes.push_back({rel, FileChange::Kind::removed});
      } else if (*now != text) {
        changes.push_back({rel, FileChange::Kind::modified});
      }
    }
    if (!changes.empty()) {
      out[dir.filename().string()] = std::move(changes);
    }
  }
  return out;
}

Result<void> LocalTarget::refresh_release(const ReleaseRef& release) {
  auto& impl = *m_impl;
  auto dest = m_paths.release_dir(release.digest);
  auto fresh = impl.scratch(release.digest, "fresh");
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  ZTP_TRY(impl.unpack_to(release, fresh));
  auto files = scan_release_dir(fresh);
  if (!files.ok()) {
    return files.take_error();
  }
  ZTP_TRY(write_manifest(manifest_path(dest), *files));
  if (!std::filesystem::exists(dest)) {
    std::filesystem::rename(fresh, dest, ec);
  } else if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
    // No atomic exchange on this file system: two renames, the path briefly missing.
    auto stale = impl.scratch(release.digest, "stale");
    std::filesystem::rename(dest, stale, ec);
    if (!ec) {
      std::filesystem::rename(fresh, dest, ec);
    }
    fresh = stale;
  }
  if (ec) {
    return make_error(Errc::internal,
                      fmt::format("cannot put a fresh copy of {} in place at {}: {}",
                                  release.digest, dest.string(), ec.message()));
  }
  // What was swapped out (the edited copy); running replicas keep their working directory.
  std::filesystem::remove_all(fresh, ec);
  log::info("release files refreshed from the image",
            {{"digest", release.digest}, {"dir", dest.string()}});
  return {};
}

Result<void> LocalTarget::ensure_router() { return ensure_proxy(); }

Result<void> LocalTarget::reset_routes(const std::string& env,
                                       const std::map<std::string, int>& weights,
                                       const std::set<std::string>& leaving) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  auto routes = impl.routes(env);
  if (!routes.ok()) {
    return routes.take_error();
  }
  std::map<std::string, proxy::ReleaseSet> sets;
  for (const auto& [dir, status] : impl.replicas(env)) {
    if (!process_alive(status.supervisor_pid, status.supervisor_start_time) ||
        leaving.count(dir.filename().string()) > 0) {
      continue;
    }
    auto& set = sets[status.release];
    set.release = status.release;
    set.backends.push_back({dir.filename().string(), fmt::format("127.0.0.1:{}", status.port)});
  }
  routes->release_sets.clear();
  for (auto& [release, set] : sets) {
    auto it = weights.find(release);
    set.weight = it == weights.end() ? 0 : it->second;
    routes->release_sets.push_back(std::move(set));
  }
  return impl.put_routes(*routes);
}

std::vector<std::string> LocalTarget::environments() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_paths.envs(), ec)) {
    if (entry.is_directory() && !m_impl->replicas(entry.path().filename().string()).empty()) {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string LocalTarget::url(const std::string& env) const {
  const auto* e = m_impl->environment(env);
  return e == nullptr ? std::string() : "http://" + e->listen + "/";
}

}  // namespace ztp::target::local
