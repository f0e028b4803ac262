#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/fake_target.hpp"
#include "target/target.hpp"

namespace ztp::testing {

// The fake target with the drift a person can cause by hand: a replica whose supervisor was
// killed (`killed`), files edited in a release (`changes`, by digest), routes changed behind
// the engine's back (`routes_override`), a replica's config edited (`configs`) and a stopped router
// (`router_up`). Everything else is the wrapped FakeTarget's.
class DriftTarget final : public target::Target {
 public:
  explicit DriftTarget(FakeTarget& inner) : m_inner(inner) {}

  std::set<std::string> killed;
  std::map<std::string, std::vector<target::FileChange>> changes;
  std::map<std::string, std::vector<target::FileChange>> configs;  // by replica id
  std::optional<target::RouteView> routes_override;
  bool router_up = true;
  int refreshed = 0;
  int router_starts = 0;
  int route_resets = 0;

  Result<void> prepare(const target::ReleaseRef& r) override { return m_inner.prepare(r); }
  Result<std::vector<std::string>> add_replicas(const target::ReleaseRef& r, int count) override {
    return m_inner.add_replicas(r, count);
  }
  Result<target::Observed> observe(const std::string& env) override {
    auto obs = m_inner.observe(env);
    if (obs.ok()) {
      for (auto& set : obs->sets) {
        for (auto& r : set.replicas) {
          if (killed.count(r.id) > 0) {
            r.state = target::Replica::State::stopped;
          }
        }
      }
    }
    return obs;
  }
  Result<void> set_weights(const std::string& env, const std::map<std::string, int>& w) override {
    return m_inner.set_weights(env, w);
  }
  Result<void> remove_replicas(const std::string& env,
                               const std::vector<std::string>& ids) override {
    for (const auto& id : ids) {
      killed.erase(id);
      configs.erase(id);
    }
    return m_inner.remove_replicas(env, ids);
  }
  Result<void> down(const std::string& env) override { return m_inner.down(env); }
  Result<std::vector<target::ReleaseMetrics>> metrics(const std::string& env) override {
    return m_inner.metrics(env);
  }
  Result<void> set_preview(const std::string& env, const std::string& release,
                           const std::string& listen) override {
    return m_inner.set_preview(env, release, listen);
  }
  Result<void> clear_preview(const std::string& env) override { return m_inner.clear_preview(env); }

  Result<target::RouteView> routes(const std::string& env) override {
    if (!router_up) {
      target::RouteView down;
      down.router_up = false;
      return down;
    }
    if (routes_override) {
      return *routes_override;
    }
    return Target::routes(env);
  }
  Result<std::vector<target::FileChange>> changed_files(const target::ReleaseRef& r) override {
    auto it = changes.find(r.digest);
    return it == changes.end() ? std::vector<target::FileChange>{} : it->second;
  }
  Result<std::map<std::string, std::vector<target::FileChange>>> changed_config(
      const std::string&) override {
    return configs;
  }
  Result<void> refresh_release(const target::ReleaseRef& r) override {
    ++refreshed;
    changes.erase(r.digest);
    return {};
  }
  Result<void> ensure_router() override {
    ++router_starts;
    router_up = true;
    return {};
  }
  Result<void> reset_routes(const std::string& env, const std::map<std::string, int>& weights,
                            const std::set<std::string>& leaving) override {
    ++route_resets;
    routes_override.reset();
    return Target::reset_routes(env, weights, leaving);
  }

 private:
  FakeTarget& m_inner;
};

}  // namespace ztp::testing
