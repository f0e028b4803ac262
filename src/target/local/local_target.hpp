#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {

// Where the local target keeps things under ZTP_HOME (DESIGN.md "State").
struct LocalPaths {
  std::filesystem::path home;
  std::filesystem::path oci() const { return home / "oci"; }
  std::filesystem::path releases() const { return home / "releases"; }
  std::filesystem::path release_dir(const std::string& digest) const;
  std::filesystem::path envs() const { return home / "envs"; }
  std::filesystem::path env_dir(const std::string& env) const { return envs() / env; }
  std::filesystem::path retired(const std::string& env) const { return home / "retired" / env; }
  std::filesystem::path proxy() const { return home / "proxy"; }
  std::filesystem::path proxy_socket() const { return proxy() / "admin.sock"; }
  std::filesystem::path proxy_supervisor() const { return proxy() / "supervisor"; }
  // The podman runtime's directory of a release: empty (the image lives in podman's storage);
  // its name is the digest's hex, as a release directory's is.
  std::filesystem::path podman_release_dir(const std::string& digest) const;
};

// How a replica runs: a process of the unpacked release on this machine, or a container of the
// image run by podman. Everything else (ports, supervision, the proxy, health, draining) is
// shared.
enum class Runtime { process, podman };

// The embedded default target: each replica is a `ztp supervise` process running the
// release's command in its unpacked release directory, on a port from the spec's range;
// traffic reaches it through `ztp proxy`, itself supervised, whose routes this target steers.
// Everything it knows it reads back from the replicas' status files and the proxy, so a new
// process adopts what an earlier one started. With Runtime::podman (`target: podman`) the
// supervised command is `podman run` of the image, published on the replica's port.
class LocalTarget final : public Target {
 public:
  // `spec` must outlive the target. `ztp_binary` is what runs `supervise` and `proxy` (by
  // default this process's executable, by its real path).
  LocalTarget(const spec::Spec& spec, std::filesystem::path home, Clock& clock,
              std::filesystem::path ztp_binary = fs::self_executable(),
              Runtime runtime = Runtime::process);
  ~LocalTarget() override;

  Result<void> prepare(const ReleaseRef& release) override;
  Result<std::vector<std::string>> add_replicas(const ReleaseRef& release, int count) override;
  Result<Observed> observe(const std::string& env) override;
  Result<void> set_weights(const std::string& env,
                           const std::map<std::string, int>& weights) override;
  Result<void> remove_replicas(const std::string& env,
                               const std::vector<std::string>& ids) override;
  // Also stops the proxy when no environment is left.
  Result<void> down(const std::string& env) override;
  Result<std::vector<ReleaseMetrics>> metrics(const std::string& env) override;
  Result<void> set_preview(const std::string& env, const std::string& release,
                           const std::string& listen) override;
  Result<void> clear_preview(const std::string& env) override;

  // Drift detection and repair. changed_files compares the release directory with the manifest
  // written when it was unpacked (rebuilt from the image when missing); refresh_release
  // unpacks the image afresh and swaps it in atomically.
  Result<RouteView> routes(const std::string& env) override;
  Result<std::vector<FileChange>> changed_files(const ReleaseRef& release) override;
  Result<std::map<std::string, std::vector<FileChange>>> changed_config(
      const std::string& env) override;
  Result<void> refresh_release(const ReleaseRef& release) override;
  Result<void> ensure_router() override;
  Result<void> reset_routes(const std::string& env, const std::map<std::string, int>& weights,
                            const std::set<std::string>& leaving) override;

  // The proxy's name for the preview listener of `env`.
  static std::string preview_env(const std::string& env) { return env + ".preview"; }

  // Starts the proxy (under its own supervisor) when it does not answer; returns once it does.
  Result<void> ensure_proxy();
  // Environments that have replicas or routes here.
  std::vector<std::string> environments() const;
  // The front-door URL of `env`.
  std::string url(const std::string& env) const;
  const LocalPaths& paths() const { return m_paths; }

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  LocalPaths m_paths;
};

}  // namespace ztp::target::local
