// Ending what a dead process left half-done: interrupted rollouts and orphaned runs.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "engine/deploy.hpp"
#include "engine/env_lock.hpp"
#include "engine/pipeline.hpp"
#include "engine/rolling.hpp"
#include "util/log.hpp"

namespace ztp::engine {
namespace {

// Puts `env` back on its last known good release (or stops it when it has none) after the
// rollouts of `interrupted` (newest first) died half-way, and records those releases failed.
// Every other set goes, replicas of the dead rollout that never joined the routes included.
// Returns what was done.
Result<std::string> restore_environment(Pipeline& p, const spec::Environment& env,
                                        const std::vector<store::Release>& interrupted) {
  const auto& newest = interrupted.front();
  ZTP_ASSIGN_OR_RETURN(auto target, p.target_for(env.name));
  ZTP_ASSIGN_OR_RETURN(auto lkg, p.store.get_last_known_good(env.name));
  Progress progress = recorder(p.store, env.name, newest.run_id, p.progress);
  bool lkg_left = lkg.has_value() && std::none_of(interrupted.begin(), interrupted.end(),
                                                  [&](const store::Release& r) {
                                                    return r.revision == lkg->revision;
                                                  });
  std::string done;
  if (lkg_left) {
    std::string release = std::to_string(lkg->revision);
    RolloutPlan plan{.next = {env.name, release, lkg->digest},
                     .replicas = env.replicas,
                     .start_timeout = p.spec.service.start_timeout};
    ZTP_TRY(target->prepare(plan.next));
    ZTP_TRY(rolling_update(*target, p.clock, plan, env.strategy.rolling, progress));
    ZTP_TRY(target->clear_preview(env.name));
    ZTP_TRY(p.store.set_release_status(env.name, lkg->revision, store::ReleaseStatus::active));
    ZTP_TRY(record_desired_state(p.store, env, release));
    done = fmt::format("{} rolled back to revision {} (last known good)", env.name, lkg->revision);
  } else {
    ZTP_TRY(target->down(env.name));
    done = fmt::format("{} stopped: it has no last known good release to go back to", env.name);
  }
  std::string reason = fmt::format("interrupted: the process rolling {} to revision {} died; {}",
                                   env.name, newest.revision, done);
  for (const auto& rel : interrupted) {
    ZTP_TRY(p.store.set_release_status(env.name, rel.revision, store::ReleaseStatus::failed));
  }
  ZTP_TRY(p.store.append_audit(p.actor, "reconcile", "env " + env.name, reason));
  progress({"reconcile.restored", reason, {{"revision", newest.revision}}});
  return reason;
}

}  // namespace

Result<std::vector<Repair>> reconcile(Pipeline& p) {
  std::vector<Repair> repairs;
  std::map<int64_t, std::string> run_repairs;  // run id -> what happened to its environment
  for (const auto& env : p.spec.environments) {
    auto releases = p.store.list_releases(env.name, 5);
    if (!releases.ok()) {
      return releases.take_error();
    }
    std::vector<store::Release> interrupted;  // newest first
    for (const auto& rel : *releases) {
      if (rel.status == store::ReleaseStatus::deploying ||
          rel.status == store::ReleaseStatus::pending) {
        interrupted.push_back(rel);
      }
    }
    if (interrupted.empty()) {
      continue;
    }
    // Whoever rolls an environment holds its lock; a free lock means the roller is gone.
    auto lock = EnvLock::acquire(p.home, env.name, fmt::format("{} reconcile", p.actor), false);
    if (!lock.ok()) {
      if (lock.error().code == Errc::conflict) {
        continue;  // a rollout is in progress
      }
      return lock.take_error();
    }
    auto restored = restore_environment(p, env, interrupted);
    if (!restored.ok()) {
      return make_error(restored.error().code,
                        fmt::format("{} was left half-rolled by a process that died, and "
                                    "rolling it back failed: {}; see `ztp status {}`",
                                    env.name, restored.error().message, env.name));
    }
    repairs.push_back({env.name, *restored});
    for (const auto& rel : interrupted) {
      if (rel.run_id) {
        run_repairs[*rel.run_id] = *restored;
      }
    }
  }

  store::RunFilter open;
  open.limit = 0;
  for (auto status : {store::RunStatus::running, store::RunStatus::queued}) {
    open.status = status;
    auto runs = p.store.list_runs(open);
    if (!runs.ok()) {
      return runs.take_error();
    }
    for (const auto& run : *runs) {
      auto lock = EnvLock::acquire_run(p.home, run.id, fmt::format("{} reconcile", p.actor));
      if (!lock.ok()) {
        if (lock.error().code == Errc::conflict) {
          continue;  // its driver is alive
        }
        return lock.take_error();
      }
      auto stages = p.store.list_stages(run.id);
      if (!stages.ok()) {
        return stages.take_error();
      }
      std::string where = "before it started";
      for (const auto& s : *stages) {
        if (s.status == store::StageStatus::running || s.status == store::StageStatus::pending) {
          where = s.env ? fmt::format("during {} of {}", s.name, *s.env)
                        : fmt::format("during {}", s.name);
          ZTP_TRY(p.store.finish_stage(s.id, store::StageStatus::failed,
                                       "interrupted: the process driving the run died"));
        }
      }
      auto it = run_repairs.find(run.id);
      auto status =
          it != run_repairs.end() ? store::RunStatus::rolled_back : store::RunStatus::failed;
      std::string reason = fmt::format("interrupted {}: the process driving run {} died{}", where,
                                       run.id, it != run_repairs.end() ? "; " + it->second : "");
      ZTP_TRY(p.store.end_interrupted_run(run.id, status, reason));
      [[maybe_unused]] auto e =
          p.store.append_event({run.id, std::nullopt, "run.interrupted", reason, "{}"});
      repairs.push_back({"", fmt::format("run {}: {}", run.id, reason)});
    }
  }
  return repairs;
}

Result<std::vector<Repair>> reconcile_logged(Pipeline& p) {
  auto repairs = reconcile(p);
  if (!repairs.ok()) {
    log::error("repairing what a dead process left failed", {{"error", repairs.error().message}});
    return repairs;
  }
  for (const auto& r : *repairs) {
    log::warn("repaired: " + r.what, {{"actor", p.actor}});
  }
  return repairs;
}

const Repair* find_repair(const std::vector<Repair>& repairs, const std::string& env) {
  auto it = std::find_if(repairs.begin(), repairs.end(),
                         [&](const Repair& r) { return !env.empty() && r.env == env; });
  return it == repairs.end() ? nullptr : &*it;
}

}  // namespace ztp::engine
