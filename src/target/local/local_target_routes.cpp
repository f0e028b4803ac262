// LocalTarget: the routes of the front door (weights, previews, resets), the proxy's traffic
// counters, and the checks and repairs drift detection asks of a release's files and config.
#include "target/local/local_target.hpp"

#include "target/local/local_target_impl.hpp"

namespace ztp::target::local {

Result<void> LocalTarget::set_weights(const std::string& env,
                                      const std::map<std::string, int>& weights) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  proxy::EnvRoutes routes;
  ZTP_ASSIGN_OR_RETURN(routes, impl.routes(env));
  for (auto& set : routes.release_sets) {
    auto it = weights.find(set.release);
    if (it != weights.end()) {
      set.weight = it->second;
    }
  }
  return impl.put_routes(routes);
}

Result<std::vector<ReleaseMetrics>> LocalTarget::metrics(const std::string& env) {
  proxy::EnvStats stats;
  ZTP_ASSIGN_OR_RETURN(stats, m_impl->admin.stats(env));
  std::vector<ReleaseMetrics> out;
  for (const auto& c : stats.releases) {
    out.push_back(detail::release_metrics(c));
  }
  return out;
}

Result<void> LocalTarget::set_preview(const std::string& env, const std::string& release,
                                      const std::string& listen) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  proxy::EnvRoutes routes;
  ZTP_ASSIGN_OR_RETURN(routes, impl.routes(env));
  const auto* set = find_release(routes.release_sets, release);
  if (set == nullptr) {
    return make_error(Errc::not_found,
                      fmt::format("{} has no release set {} to preview", env, release));
  }
  proxy::EnvRoutes preview;
  preview.env = preview_env(env);
  preview.release_sets.push_back({release, 100, set->backends});
  impl.apply_spec(preview);
  preview.listen = listen;
  ZTP_TRY(impl.admin.put_env(preview));
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
  if (m_impl->runtime == Runtime::podman) {
    return m_impl->changed_containers(release);
  }
  auto dir = m_paths.release_dir(release.digest);
  if (!std::filesystem::is_directory(dir)) {
    return std::vector<FileChange>{{".", FileChange::Kind::removed}};
  }
  FileManifest expected;
  ZTP_ASSIGN_OR_RETURN(expected, m_impl->manifest(release));
  FileManifest observed;
  ZTP_ASSIGN_OR_RETURN(observed, scan_release_dir(dir));
  return compare_manifests(expected, observed);
}

Result<std::map<std::string, std::vector<FileChange>>> LocalTarget::changed_config(
    const std::string& env) {
  auto& impl = *m_impl;
  std::map<std::string, std::vector<FileChange>> out;
  if (impl.runtime == Runtime::podman) {
    return out;  // a container's config is its image's: nothing is rendered per replica
  }
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
  if (impl.runtime == Runtime::podman) {
    std::error_code ec;
    std::filesystem::remove(m_paths.podman_release_dir(release.digest) / "image-id", ec);
    return impl.prepare_podman(release);
  }
  auto dest = m_paths.release_dir(release.digest);
  auto fresh = impl.scratch(release.digest, "fresh");
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  ZTP_TRY(impl.unpack_to(release, fresh));
  FileManifest files;
  ZTP_ASSIGN_OR_RETURN(files, scan_release_dir(fresh));
  ZTP_TRY(write_manifest(manifest_path(dest), files));
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

Result<void> LocalTarget::reset_routes(const std::string& env,
                                       const std::map<std::string, int>& weights,
                                       const std::set<std::string>& leaving) {
  auto& impl = *m_impl;
  ZTP_TRY(ensure_proxy());
  proxy::EnvRoutes routes;
  ZTP_ASSIGN_OR_RETURN(routes, impl.routes(env));
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
  routes.release_sets.clear();
  for (auto& [release, set] : sets) {
    auto it = weights.find(release);
    set.weight = it == weights.end() ? 0 : it->second;
    routes.release_sets.push_back(std::move(set));
  }
  return impl.put_routes(routes);
}

}  // namespace ztp::target::local
