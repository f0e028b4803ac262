#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "engine/deploy.hpp"
#include "engine/drift.hpp"
#include "engine/drift_check.hpp"
#include "engine/env_lock.hpp"
#include "engine/rolling.hpp"

namespace ztp::engine {
namespace {

using drift_detail::Planned;

bool starts_active_release(const Planned& p) {
  return p.start > 0 || p.finding.kind == DriftKind::files_changed ||
         p.finding.kind == DriftKind::release_mismatch;
}

// Marks the findings that must not be acted on: everything of an isolated environment, and
// whatever would start the active release again when its digest is marked bad.
Result<void> refuse(const DriftContext& ctx, const drift_detail::Examined& ex,
                    std::vector<Planned>& planned) {
  const auto& env = ex.report.env;
  if (ex.report.isolated) {
    for (auto& p : planned) {
      p.finding.outcome = fmt::format(
          "refused: {} is isolated ({}, by {}); its replicas are kept as they are for forensics "
          "and it stays out of serving until `ztp restore {}`",
          env, ex.report.isolated->reason, ex.report.isolated->actor, env);
    }
    return {};
  }
  if (ex.active.digest.empty()) {
    return {};
  }
  auto bad = ctx.store.is_bad(ex.active.digest, env);
  if (!bad.ok()) {
    return bad.take_error();
  }
  if (!*bad) {
    return {};
  }
  for (auto& p : planned) {
    if (starts_active_release(p)) {
      p.finding.outcome = fmt::format(
          "refused: image {} of release {} is marked bad in {}; it is not started again. Roll "
          "back with `ztp rollback {}` (or clear the mark and deploy it with --force)",
          ex.active.digest, ex.active.release, env, env);
    }
  }
  return {};
}

// Marks every finding of `planned` matching `pick` that has no outcome yet with `outcome`.
template <typename Pick>
void settle(std::vector<Planned>& planned, Pick pick, const std::string& outcome) {
  for (auto& p : planned) {
    if (p.finding.outcome.empty() && pick(p)) {
      p.finding.outcome = outcome;
    }
  }
}

// Carries out the open findings of `planned`, in an order that keeps the environment serving:
// the router first, then fresh replicas (healthy before anything is taken away), the routes,
// and last the replicas that leave (drained by the target).
void repair(const DriftContext& ctx, const spec::Environment& env, target::Target& target,
            const drift_detail::Examined& ex, std::vector<Planned>& planned,
            const Progress& progress) {
  auto open = [](const Planned& p) { return p.finding.outcome.empty(); };
  auto any = [&](auto pick) {
    return std::any_of(planned.begin(), planned.end(),
                       [&](const Planned& p) { return open(p) && pick(p); });
  };
  auto failed = [](const Error& e) { return "failed: " + e.message; };

  if (any([](const Planned& p) { return p.finding.kind == DriftKind::router_down; })) {
    progress({"drift.fix", fmt::format("starting the router of {}", env.name),
              nlohmann::json::object()});
    auto up = target.ensure_router();
    if (!up.ok()) {
      // Nothing else can be repaired without the router.
      settle(
          planned, [](const Planned&) { return true; }, failed(up.error()));
      return;
    }
  }

  if (any([](const Planned& p) { return p.finding.kind == DriftKind::files_changed; })) {
    progress(
        {"drift.fix",
         fmt::format("unpacking {} afresh for release {}", ex.active.digest, ex.active.release),
         {{"digest", ex.active.digest}}});
    auto refreshed = target.refresh_release(ex.active);
    if (!refreshed.ok()) {
      settle(planned, starts_active_release, failed(refreshed.error()));
    }
  }

  // Standby releases edited in place: their sets leave below, and the next placement of them
  // (a rollback) starts on the image's files.
  for (auto& p : planned) {
    if (!open(p) || p.refresh.digest.empty()) {
      continue;
    }
    progress({"drift.fix",
              fmt::format("unpacking {} afresh for standby release {}", p.refresh.digest,
                          p.refresh.release),
              {{"digest", p.refresh.digest}, {"release", p.refresh.release}}});
    auto refreshed = target.refresh_release(p.refresh);
    if (!refreshed.ok()) {
      p.finding.outcome = failed(refreshed.error());
    }
  }

  int start = 0;
  for (const auto& p : planned) {
    start += open(p) ? p.start : 0;
  }
  if (start > 0) {
    progress({"drift.fix",
              fmt::format("starting {} replica{} of release {}", start, start == 1 ? "" : "s",
                          ex.active.release),
              {{"release", ex.active.release}, {"count", start}}});
    auto ids = target.add_replicas(ex.active, start);
    Result<void> healthy = ids.ok() ? Result<void>() : Result<void>(ids.error());
    if (ids.ok()) {
      RolloutPlan plan{
          .next = ex.active, .replicas = start, .start_timeout = ctx.spec.service.start_timeout};
      healthy = wait_healthy(target, ctx.clock, plan, *ids, progress);
      if (!healthy.ok()) {
        [[maybe_unused]] auto undone = target.remove_replicas(env.name, *ids);
      }
    }
    if (!healthy.ok()) {
      settle(
          planned, [](const Planned& p) { return p.start > 0; }, failed(healthy.error()));
    }
  }

  std::vector<std::string> leaving;
  std::set<std::string> seen;
  for (const auto& p : planned) {
    for (const auto& id : open(p) ? p.remove : std::vector<std::string>{}) {
      if (seen.insert(id).second) {
        leaving.push_back(id);
      }
    }
  }
  if (any([](const Planned& p) { return drift_detail::is_route_kind(p.finding.kind); })) {
    progress({"drift.fix",
              fmt::format("re-applying the routes of {} ({})", env.name,
                          nlohmann::json(ex.report.desired_weights).dump()),
              {{"weights", ex.report.desired_weights}}});
    auto reset = target.reset_routes(env.name, ex.report.desired_weights, seen);
    if (!reset.ok()) {
      settle(
          planned, [](const Planned& p) { return drift_detail::is_route_kind(p.finding.kind); },
          failed(reset.error()));
    }
  }

  if (!leaving.empty()) {
    progress({"replica.draining",
              fmt::format("draining and stopping {}", fmt::join(leaving, ", ")),
              {{"replicas", leaving}}});
    auto removed = target.remove_replicas(env.name, leaving);
    if (!removed.ok()) {
      settle(
          planned, [](const Planned& p) { return !p.remove.empty(); }, failed(removed.error()));
    }
  }
  settle(
      planned, [](const Planned&) { return true; }, "fixed");
}

}  // namespace

Result<DriftReport> fix_drift(const DriftContext& ctx, const spec::Environment& env,
                              const std::string& trigger) {
  ZTP_ASSIGN_OR_RETURN(auto target, ctx.target_for(env.name));
  auto lock =
      EnvLock::acquire(ctx.home, env.name, fmt::format("ztp drift --fix {}", env.name), false);
  if (!lock.ok()) {
    return lock.take_error();
  }
  ZTP_ASSIGN_OR_RETURN(auto ex, drift_detail::examine(ctx, env, *target));
  DriftReport report = ex.report;
  report.trigger = trigger;
  if (!ex.planned.empty()) {
    report.fix_ran = true;
    auto planned = ex.planned;
    ZTP_TRY(refuse(ctx, ex, planned));
    auto record = recorder(ctx.store, env.name, std::nullopt, ctx.progress);
    repair(ctx, env, *target, ex, planned, record);
    report.findings = drift_detail::findings_of(planned);
    ZTP_ASSIGN_OR_RETURN(auto after, drift_detail::examine(ctx, env, *target));
    report.remaining = after.report.findings;
  }
  ZTP_TRY(drift_detail::save_report(ctx, report));
  return report;
}

}  // namespace ztp::engine
