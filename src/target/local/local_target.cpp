#include "target/local/local_target.hpp"

#include "target/local/local_target_impl.hpp"

namespace ztp::target::local {

std::filesystem::path LocalPaths::release_dir(const std::string& digest) const {
  return releases() / std::string(artifact::digest_hex(digest));
}

std::filesystem::path LocalPaths::podman_release_dir(const std::string& digest) const {
  return home / "podman" / std::string(artifact::digest_hex(digest));
}

LocalTarget::LocalTarget(const spec::Spec& spec, std::filesystem::path home, Clock& clock,
                         std::filesystem::path ztp_binary, Runtime runtime)
    : m_paths{std::move(home)} {
  m_impl = std::make_unique<Impl>(spec, clock, std::move(ztp_binary), m_paths);
  m_impl->runtime = runtime;
}

LocalTarget::~LocalTarget() = default;

Result<void> LocalTarget::ensure_proxy() {
  auto& impl = *m_impl;
  if (impl.admin.ping().ok()) {
    return {};
  }
  ZTP_TRY(fs::ensure_dir(m_paths.proxy()));
  ZTP_TRY(fs::ensure_dir(m_paths.home / "locks"));
  ZTP_ASSIGN_OR_RETURN(auto lock, sys::FileLock::acquire(m_paths.home / "locks" / "proxy.lock"));
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
  if (m_impl->runtime == Runtime::podman) {
    return m_impl->prepare_podman(release);
  }
  auto dest = m_paths.release_dir(release.digest);
  if (std::filesystem::exists(dest)) {
    return {};
  }
  ZTP_TRY(m_impl->unpack_to(release, dest));
  // What drift detection compares the directory with later.
  FileManifest files;
  ZTP_ASSIGN_OR_RETURN(files, scan_release_dir(dest));
  return write_manifest(manifest_path(dest), files);
}

Result<std::vector<std::string>> LocalTarget::add_replicas(const ReleaseRef& release, int count) {
  auto& impl = *m_impl;
  const auto* env = impl.spec.find_environment(release.env);
  if (env == nullptr) {
    return make_error(Errc::not_found, fmt::format("environment {} is not in {}", release.env,
                                                   impl.spec.file.string()));
  }
  ZTP_TRY(ensure_proxy());
  ZTP_TRY(prepare(release));
  const bool podman = impl.runtime == Runtime::podman;
  auto release_dir = std::filesystem::absolute(podman ? m_paths.podman_release_dir(release.digest)
                                                      : m_paths.release_dir(release.digest));
  ZTP_TRY(fs::ensure_dir(m_paths.env_dir(release.env)));

  std::vector<std::string> ids;
  std::vector<proxy::BackendRoute> added;
  {
    // Port choice and start are serialised across processes so two deploys never pick one port.
    ZTP_ASSIGN_OR_RETURN(auto lock, sys::FileLock::acquire(m_paths.home / "locks" / "ports.lock"));
    auto taken = impl.used_ports();
    int index = impl.next_index(release.env, release.release);
    for (int i = 0; i < count; ++i, ++index) {
      int port = 0;
      ZTP_ASSIGN_OR_RETURN(port, impl.pick_port(taken));
      std::string id = fmt::format("{}-r{}-{}", release.env, release.release, index);
      auto replica_dir = std::filesystem::absolute(m_paths.env_dir(release.env) / id);
      ZTP_TRY(fs::ensure_dir(replica_dir));
      std::vector<std::string> argv;
      if (podman) {
        argv = impl.podman_command(release, *env, id, index, port);
      } else {
        auto vars = Impl::template_vars(port, release.env, release.release, index, release_dir,
                                        replica_dir);
        ZTP_TRY(impl.render(release_dir, replica_dir, vars));
        ZTP_ASSIGN_OR_RETURN(argv, impl.command(vars));
      }
      SuperviseOptions opts;
      opts.state_dir = replica_dir;
      opts.workdir = release_dir;
      opts.env = release.env;
      opts.release = release.release;
      opts.replica = index;
      opts.port = port;
      // podman stops the container within the stop timeout itself; its client then needs a
      // moment to remove it.
      opts.stop_timeout = impl.spec.service.stop_timeout +
                          (podman ? std::chrono::seconds(5) : std::chrono::seconds(0));
      opts.ztp_binary = impl.ztp_binary;
      opts.command = argv;
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
      log::info("replica started", {{"replica", id}, {"port", std::to_string(port)}});
      ids.push_back(id);
      added.push_back({id, fmt::format("127.0.0.1:{}", port)});
    }
  }

  proxy::EnvRoutes routes;
  ZTP_ASSIGN_OR_RETURN(routes, impl.routes(release.env));
  auto it = std::find_if(routes.release_sets.begin(), routes.release_sets.end(),
                         [&](const proxy::ReleaseSet& s) { return s.release == release.release; });
  if (it == routes.release_sets.end()) {
    routes.release_sets.push_back({release.release, 0, {}});
    it = std::prev(routes.release_sets.end());
  }
  it->backends.insert(it->backends.end(), added.begin(), added.end());
  ZTP_TRY(impl.put_routes(routes));
  return ids;
}

Result<Observed> LocalTarget::observe(const std::string& env) {
  auto& impl = *m_impl;
  Observed obs;
  obs.env = env;
  std::map<std::string, int> weights;
  std::vector<proxy::BackendHealth> health;
  if (impl.admin.ping().ok()) {
    auto routes = impl.admin.get_env(env);
    if (routes.ok()) {
      for (const auto& s : routes->release_sets) {
        weights[s.release] = s.weight;
      }
      auto h = impl.admin.health(env);
      if (h.ok()) {
        health = std::move(*h);
      }
    }
  }
  std::map<std::string, ReleaseSet> sets;
  for (const auto& [dir, status] : impl.replicas(env)) {
    bool alive = process_alive(status.supervisor_pid, status.supervisor_start_time);
    Replica r = detail::observe_replica(dir.filename().string(), status, alive, health);
    auto& set = sets[status.release];
    set.release = status.release;
    set.digest = "sha256:" + std::filesystem::path(status.workdir).filename().string();
    set.weight = weights.count(status.release) ? weights[status.release] : 0;
    set.replicas.push_back(std::move(r));
  }
  for (auto& [_, set] : sets) {
    obs.sets.push_back(std::move(set));
  }
  return obs;
}

Result<void> LocalTarget::remove_replicas(const std::string& env,
                                          const std::vector<std::string>& ids) {
  auto& impl = *m_impl;
  std::set<std::string> leaving(ids.begin(), ids.end());
  if (impl.admin.ping().ok()) {
    proxy::EnvRoutes routes;
    ZTP_ASSIGN_OR_RETURN(routes, impl.routes(env));
    for (auto& set : routes.release_sets) {
      std::erase_if(set.backends,
                    [&](const proxy::BackendRoute& b) { return leaving.count(b.id) > 0; });
    }
    ZTP_TRY(impl.put_routes(routes));
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
    ZTP_TRY(stop_replica(dir, impl.spec.service.stop_timeout + std::chrono::seconds(10)));
    if (impl.runtime == Runtime::podman) {
      // A container whose client was killed outlives it: make sure it is gone.
      if (auto removed = podman::remove_container(podman::container_name(m_paths.home, id));
          !removed.ok()) {
        log::warn("container not removed", {{"replica", id}, {"error", removed.error().message}});
      }
    }
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

Result<void> LocalTarget::ensure_router() { return ensure_proxy(); }

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
  const auto* e = m_impl->spec.find_environment(env);
  return e == nullptr ? std::string() : "http://" + e->listen + "/";
}

}  // namespace ztp::target::local
