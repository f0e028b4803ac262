#include "engine/restore.hpp"

#include <fmt/format.h>

namespace ztp::engine {

Result<void> restore_previous(target::Target& target, Clock& clock, const target::Observed& before,
                              const RolloutPlan& plan, const Progress& progress) {
  const auto& env = plan.next.env;
  auto now = target.observe(env);
  if (!now.ok()) {
    return now.take_error();
  }
  // Earlier sets first get their replicas back, so that traffic always has somewhere to go.
  for (const auto& old : before.sets) {
    if (old.release == plan.next.release) {
      continue;
    }
    const auto* current = now->find(old.release);
    int have = current == nullptr ? 0 : static_cast<int>(current->replicas.size());
    int missing = static_cast<int>(old.replicas.size()) - have;
    if (missing <= 0) {
      continue;
    }
    progress({"restore.replicas",
              fmt::format("restarting {} replica(s) of release {}", missing, old.release),
              {{"release", old.release}, {"count", missing}}});
    target::ReleaseRef ref{env, old.release, old.digest};
    ZTP_TRY(target.prepare(ref));
    ZTP_ASSIGN_OR_RETURN(auto ids, target.add_replicas(ref, missing));
    RolloutPlan restore_plan = plan;
    restore_plan.next = ref;
    ZTP_TRY(wait_healthy(target, clock, restore_plan, ids, progress));
  }
  std::map<std::string, int> weights;
  for (const auto& old : before.sets) {
    if (old.release != plan.next.release) {
      weights[old.release] = old.weight;
    }
  }
  weights[plan.next.release] = 0;
  ZTP_TRY(target.set_weights(env, weights));
  progress({"restore.weights", "previous weights restored", {{"weights", weights}}});

  now = target.observe(env);
  if (!now.ok()) {
    return now.take_error();
  }
  if (const auto* failed = now->find(plan.next.release); failed != nullptr) {
    std::vector<std::string> ids;
    for (const auto& r : failed->replicas) {
      ids.push_back(r.id);
    }
    if (!ids.empty()) {
      progress({"restore.remove",
                fmt::format("stopping {} replica(s) of release {}", ids.size(), plan.next.release),
                {{"release", plan.next.release}, {"replicas", ids}}});
      ZTP_TRY(target.remove_replicas(env, ids));
    }
  }
  return {};
}

Error roll_back(target::Target& target, Clock& clock, const target::Observed& before,
                const RolloutPlan& plan, const Error& failure, const Progress& progress) {
  progress({"rollout.failed", failure.message, {{"code", errc_name(failure.code)}}});
  auto restored = restore_previous(target, clock, before, plan, progress);
  if (!restored.ok()) {
    return make_error(Errc::internal,
                      fmt::format("{}; restoring the previous release failed too: {}",
                                  failure.message, restored.error().message));
  }
  progress({"rollout.rolled_back",
            fmt::format("{} restored to its previous state; release {} stopped", plan.next.env,
                        plan.next.release),
            {}});
  return make_error(Errc::rolled_back, fmt::format("{}; rolled back", failure.message));
}

}  // namespace ztp::engine
