// Ending what a dead process left half-done: interrupted rollouts and orphaned runs.
#include <fmt/format.h>

#include <map>

#include "engine/env_lock.hpp"
#include "engine/pipeline.hpp"
#include "engine/rolling.hpp"

namespace ztp::engine {
namespace {

// Puts `env` back on its last known good release (or stops it when it has none) after a
// rollout of `interrupted` died half-way. Returns what was done.
Result<std::string> restore_environment(Pipeline& p, const spec::Environment& env,
                                        const store::Release& interrupted) {
  auto target = p.target_for(env.name);
  if (!target.ok()) {
    return target.take_error();
  }
  auto lkg = p.store.get_last_known_good(env.name);
  if (!lkg.ok()) {
    return lkg.take_error();
  }
  Progress progress = [&](const ProgressEvent& e) {
    [[maybe_unused]] auto s =
        p.store.append_event({interrupted.run_id, env.name, e.kind, e.message, e.data.dump()});
    if (p.progress) {
      p.progress(e);
    }
  };
  std::string done;
  if (lkg->has_value() && (*lkg)->revision != interrupted.revision) {
    RolloutPlan plan;
    plan.next = {env.name, std::to_string((*lkg)->revision), (*lkg)->digest};
    plan.replicas = env.replicas;
    plan.start_timeout = p.spec.service.start_timeout;
    ZTP_TRY((*target)->prepare(plan.next));
    ZTP_TRY(rolling_update(**target, p.clock, plan, env.strategy.rolling, progress));
    ZTP_TRY((*target)->clear_preview(env.name));
    ZTP_TRY(p.store.set_release_status(env.name, (*lkg)->revision, store::ReleaseStatus::active));
    done =
        fmt::format("{} rolled back to revision {} (last known good)", env.name, (*lkg)->revision);
  } else {
    ZTP_TRY((*target)->down(env.name));
    done = fmt::format("{} stopped: it has no last known good release to go back to", env.name);
  }
  std::string reason = fmt::format("interrupted: the process rolling {} to revision {} died; {}",
                                   env.name, interrupted.revision, done);
  ZTP_TRY(p.store.set_release_status(env.name, interrupted.revision, store::ReleaseStatus::failed));
  ZTP_TRY(p.store.append_audit(p.actor, "reconcile", "env " + env.name, reason));
  progress({"reconcile.restored", reason, {{"revision", interrupted.revision}}});
  return reason;
}

}  // namespace

Result<std::vector<std::string>> reconcile(Pipeline& p) {
  std::vector<std::string> repairs;
  std::map<int64_t, std::string> run_repairs;  // run id -> what happened to its environment
  for (const auto& env : p.spec.environments) {
    auto releases = p.store.list_releases(env.name, 5);
    if (!releases.ok()) {
      return releases.take_error();
    }
    for (const auto& rel : *releases) {
      if (rel.status != store::ReleaseStatus::deploying &&
          rel.status != store::ReleaseStatus::pending) {
        continue;
      }
      // Whoever rolls an environment holds its lock; a free lock means the roller is gone.
      auto lock = EnvLock::acquire(p.home, env.name, fmt::format("{} reconcile", p.actor), false);
      if (!lock.ok()) {
        if (lock.error().code == Errc::conflict) {
          break;  // a rollout is in progress
        }
        return lock.take_error();
      }
      auto restored = restore_environment(p, env, rel);
      if (!restored.ok()) {
        return make_error(restored.error().code,
                          fmt::format("{} was left half-rolled by a process that died, and "
                                      "rolling it back failed: {}; see `ztp status {}`",
                                      env.name, restored.error().message, env.name));
      }
      repairs.push_back(*restored);
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
      ZTP_TRY(p.store.update_run_status(run.id, status, reason));
      [[maybe_unused]] auto e =
          p.store.append_event({run.id, std::nullopt, "run.interrupted", reason, "{}"});
      repairs.push_back(fmt::format("run {}: {}", run.id, reason));
    }
  }
  return repairs;
}

}  // namespace ztp::engine
