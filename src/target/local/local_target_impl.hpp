#pragma once

// The insides of LocalTarget, shared by its two source files: local_target.cpp (placing,
// observing and stopping replicas, the proxy's lifecycle) and local_target_routes.cpp (weights,
// previews, traffic counters, and what drift checks and repairs). Not for other modules.

#include "target/local/local_target.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include "artifact/digest.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/unpack.hpp"
#include "proxy/admin_client.hpp"
#include "proxy/routes.hpp"
#include "sys/file_lock.hpp"
#include "sys/host_port.hpp"
#include "target/local/podman.hpp"
#include "target/local/release_files.hpp"
#include "target/local/replica_status.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/template.hpp"

namespace ztp::target::local {
namespace detail {

inline constexpr auto k_proxy_start_timeout = std::chrono::seconds(15);

inline bool port_is_free(int port) {
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

inline Replica::State state_from(const ReplicaStatus& status, bool alive) {
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

// A replica as observed: its supervisor's status, and while its process runs, what the proxy's
// health checks say of it. The proxy's entry is found by id and address: a drained backend of an
// earlier process with the same id (a release started again) names another port and must not
// describe the new one.
inline Replica observe_replica(std::string id, const ReplicaStatus& status, bool alive,
                               const std::vector<proxy::BackendHealth>& health) {
  Replica r;
  r.id = std::move(id);
  r.release = status.release;
  r.address = fmt::format("127.0.0.1:{}", status.port);
  r.restarts = status.restarts;
  r.state = state_from(status, alive);
  r.detail = status.error;
  if (r.state == Replica::State::starting) {
    // The proxy lists live backends first, so a drained entry at the same address cannot hide
    // the live one.
    auto h = std::find_if(health.begin(), health.end(), [&](const proxy::BackendHealth& b) {
      return b.id == r.id && b.address == r.address;
    });
    if (h != health.end()) {
      r.state = h->state == "healthy"                                    ? Replica::State::healthy
                : h->state == "draining"                                 ? Replica::State::draining
                : h->state == "drained"                                  ? Replica::State::draining
                : h->state == "unhealthy" && h->consecutive_failures > 0 ? Replica::State::unhealthy
                                                                         : Replica::State::starting;
      if (r.detail.empty() && r.state != Replica::State::healthy) {
        r.detail = h->last_error;
      }
    }
  } else if (r.state == Replica::State::crashed && r.detail.empty() && status.last_exit) {
    r.detail = status.last_exit->code
                   ? fmt::format("exited with code {}", *status.last_exit->code)
                   : fmt::format("killed by signal {}", status.last_exit->signal.value_or(0));
  }
  return r;
}

// One release's traffic as the proxy's stats answer reports it: the latency buckets are taken
// with the bounds the answer gives, so percentiles come out right whatever the proxy's layout.
inline ReleaseMetrics release_metrics(const proxy::ReleaseCounters& c) {
  ReleaseMetrics m;
  m.release = c.release;
  m.requests = c.requests;
  m.errors = c.status_5xx + c.connect_errors + c.timeouts;
  m.bucket_bounds_ms = c.bucket_bounds_ms;
  m.bucket_counts = c.bucket_counts;
  return m;
}

}  // namespace detail

struct LocalTarget::Impl {
  const spec::Spec& spec;
  Clock& clock;
  std::filesystem::path ztp_binary;
  LocalPaths paths;
  proxy::AdminClient admin;
  Runtime runtime = Runtime::process;

  Impl(const spec::Spec& s, Clock& c, std::filesystem::path bin, LocalPaths p)
      : spec(s),
        clock(c),
        ztp_binary(std::move(bin)),
        paths(std::move(p)),
        admin(paths.proxy_socket()) {}

  // The routes the proxy serves for `env`, or a fresh table from the spec.
  Result<proxy::EnvRoutes> routes(const std::string& env) {
    auto current = admin.get_env(env);
    if (current.ok()) {
      return current;
    }
    if (current.error().code != Errc::not_found) {
      return current.take_error();
    }
    const auto* e = spec.find_environment(env);
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
    if (const auto* e = spec.find_environment(r.env); e != nullptr) {
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
    ZTP_TRY(admin.put_env(r));
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
      used.insert(sys::port_of(e.listen));
      if (!e.strategy.blue_green.preview_listen.empty()) {
        used.insert(sys::port_of(e.strategy.blue_green.preview_listen));
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
      if (taken.count(port) == 0 && detail::port_is_free(port)) {
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
    std::map<std::string, std::string> files;
    ZTP_ASSIGN_OR_RETURN(files, rendered(release_dir, vars));
    for (const auto& [rel, text] : files) {
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

  // podman: the image of `release` in podman's storage, and the (empty) directory whose name
  // tells a replica's release digest.
  Result<void> prepare_podman(const ReleaseRef& release) {
    auto dir = paths.podman_release_dir(release.digest);
    if (auto known = fs::read_file(dir / "image-id"); known.ok()) {
      ZTP_ASSIGN_OR_RETURN(bool there, podman::image_exists(known->substr(0, known->find('\n'))));
      if (there) {
        return {};
      }
    }
    ZTP_ASSIGN_OR_RETURN(auto store, artifact::OciLayoutStore::open(paths.oci()));
    auto name = fmt::format("localhost/ztp/{}:{}", spec.app.empty() ? "app" : spec.app,
                            artifact::digest_hex(release.digest).substr(0, 12));
    auto id = podman::ensure_image(store, release.digest, scratch(release.digest, "podman"), name);
    if (!id.ok()) {
      return make_error(id.error().code, fmt::format("release {} of {}: {}", release.release,
                                                     release.env, id.error().message));
    }
    ZTP_TRY(fs::ensure_dir(dir));
    return fs::atomic_write(dir / "image-id", *id + "\n");
  }

  // podman: what differs from the release's image: the image gone from podman's storage
  // ("." removed), or a container of the release that runs another image ("container NAME"
  // modified).
  Result<std::vector<FileChange>> changed_containers(const ReleaseRef& release) {
    std::vector<FileChange> out;
    auto id = fs::read_file(paths.podman_release_dir(release.digest) / "image-id");
    if (!id.ok()) {
      out.push_back({".", FileChange::Kind::removed});
      return out;
    }
    std::string want = id->substr(0, id->find('\n'));
    ZTP_ASSIGN_OR_RETURN(bool there, podman::image_exists(want));
    if (!there) {
      out.push_back({".", FileChange::Kind::removed});
      return out;
    }
    std::string home_label = podman::container_name(paths.home, "").substr(4, 8);
    ZTP_ASSIGN_OR_RETURN(auto containers, podman::list_containers("ztp.home=" + home_label));
    for (const auto& c : containers) {
      auto env = c.labels.find("ztp.env");
      auto rel = c.labels.find("ztp.release");
      if (env == c.labels.end() || env->second != release.env || rel == c.labels.end() ||
          rel->second != release.release) {
        continue;
      }
      if (c.image_id.empty() || want.rfind(c.image_id, 0) != 0) {
        out.push_back({"container " + c.name, FileChange::Kind::modified});
      }
    }
    return out;
  }

  // podman: the command that runs replica `id` of `release` as a container.
  std::vector<std::string> podman_command(const ReleaseRef& release, const spec::Environment& env,
                                          const std::string& id, int index, int port) const {
    podman::RunSpec run;
    run.name = podman::container_name(paths.home, id);
    auto image_id = fs::read_file(paths.podman_release_dir(release.digest) / "image-id");
    run.image = image_id.ok() ? image_id->substr(0, image_id->find('\n')) : release.digest;
    run.host_port = port;
    run.container_port = spec.service.port;
    run.labels = {{"ztp.app", spec.app},
                  {"ztp.env", release.env},
                  {"ztp.release", release.release},
                  {"ztp.replica", id},
                  {"ztp.digest", release.digest},
                  {"ztp.home", podman::container_name(paths.home, "").substr(4, 8)}};
    for (const auto& [k, v] : env.env) {
      run.env.emplace_back(k, v);
    }
    run.env.emplace_back("ZTP_ENV", release.env);
    run.env.emplace_back("ZTP_RELEASE", release.release);
    run.env.emplace_back("ZTP_REPLICA", std::to_string(index));
    run.env.emplace_back("ZTP_DIGEST", release.digest);
    run.cpus = env.resources.cpus;
    run.memory_bytes = env.resources.memory_bytes;
    run.stop_timeout = std::chrono::ceil<std::chrono::seconds>(spec.service.stop_timeout);
    return podman::run_argv(run);
  }

  // Unpacks the image of `release` into `dest` (which must not exist).
  Result<void> unpack_to(const ReleaseRef& release, const std::filesystem::path& dest) {
    ZTP_ASSIGN_OR_RETURN(auto store, artifact::OciLayoutStore::open(paths.oci()));
    auto manifest = store.resolve(release.digest);
    if (!manifest.ok()) {
      return make_error(
          manifest.error().code,
          fmt::format("release {} of {}: image {} is not in {}: {}", release.release, release.env,
                      release.digest, paths.oci().string(), manifest.error().message));
    }
    ZTP_TRY(fs::ensure_dir(paths.releases()));
    return artifact::unpack_image(store, *manifest, dest);
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
    std::optional<FileManifest> kept;
    ZTP_ASSIGN_OR_RETURN(kept, read_manifest(path));
    if (kept.has_value()) {
      return std::move(*kept);
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
    auto deadline = clock.now() + detail::k_proxy_start_timeout;
    while (true) {
      if (admin.ping().ok()) {
        return {};
      }
      if (clock.now() >= deadline) {
        auto log = fs::read_file(paths.proxy_supervisor() / std::string(k_stderr_log));
        std::string tail = log.ok() ? log->substr(log->size() > 600 ? log->size() - 600 : 0) : "";
        return make_error(
            Errc::unavailable,
            fmt::format("ztp proxy did not answer on {} within {} s{}{}",
                        paths.proxy_socket().string(), detail::k_proxy_start_timeout.count(),
                        tail.empty() ? "" : "; its log ends with:\n", tail));
      }
      clock.sleep_for(std::chrono::milliseconds(50));
    }
  }
};

}  // namespace ztp::target::local
