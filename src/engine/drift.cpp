#include "engine/drift.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "artifact/digest.hpp"
#include "engine/drift_check.hpp"
#include "engine/env_lock.hpp"
#include "util/log.hpp"

namespace ztp::engine {
namespace drift_detail {
namespace {

using artifact::short_digest;

using target::Replica;

int64_t wall_ms(Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch())
      .count();
}

// The desired weights of `state` (release label -> percent); malformed JSON reads as none.
std::map<std::string, int> weights_of(const store::EnvState& state) {
  std::map<std::string, int> out;
  auto j = nlohmann::json::parse(state.weights, nullptr, false);
  if (!j.is_object()) {
    return out;
  }
  for (const auto& [release, w] : j.items()) {
    if (w.is_number_integer()) {
      out[release] = w.get<int>();
    }
  }
  return out;
}

std::string replica_where(const Replica& r) {
  return fmt::format("replica {} ({})", r.id, r.address);
}

// "2 files differ: ...", what changed_files found.
std::string files_differ(const std::vector<target::FileChange>& changes) {
  return fmt::format("{} {}: {}", changes.size(),
                     changes.size() == 1 ? "file differs" : "files differ",
                     target::describe_changes(changes));
}

bool alive(const Replica& r) { return r.state != Replica::State::stopped; }

std::string describe(const Replica& r) {
  std::string state(target::state_name(r.state));
  if (r.state == Replica::State::stopped) {
    state = "not running (its supervisor is gone)";
  }
  return r.detail.empty() ? state : fmt::format("{}: {}", state, r.detail);
}

// Adds a finding to `ex.planned` and returns it, for the caller to name the replicas concerned
// and what the fix starts, removes or unpacks.
Planned& add_finding(Examined& ex, DriftKind kind, std::string where, std::string expected,
                     std::string observed, std::string fix) {
  Planned& p = ex.planned.emplace_back();
  p.finding = {kind, std::move(where), std::move(expected), std::move(observed), std::move(fix), {},
               ""};
  return p;
}

// Replica findings of the active release's set: dead and unhealthy replicas, too few or too
// many, another image, edited files.
Result<void> examine_active_set(Examined& ex, target::Target& target, const target::Observed& obs,
                                const target::RouteView& routes) {
  const auto& report = ex.report;
  const std::string& label = ex.active.release;
  const auto* set = obs.find(label);
  std::vector<Replica> replicas = set == nullptr ? std::vector<Replica>{} : set->replicas;
  const int desired = report.desired_replicas;

  std::vector<const Replica*> broken;   // to replace or remove
  std::vector<const Replica*> working;  // alive and not failing
  for (const auto& r : replicas) {
    if (!alive(r) || r.state == Replica::State::crashed || r.state == Replica::State::unhealthy) {
      broken.push_back(&r);
    } else {
      working.push_back(&r);
    }
  }
  int needed = desired - static_cast<int>(working.size());  // replacements wanted
  for (const auto* r : broken) {
    auto& p = add_finding(
        ex,
        r->state == Replica::State::unhealthy ? DriftKind::replica_unhealthy
                                              : DriftKind::replica_down,
        replica_where(*r), fmt::format("running release {}, healthy", label), describe(*r),
        fmt::format("drain and remove {} (enough replicas run without it)", r->id));
    p.finding.replicas = {r->id};
    p.remove = {r->id};
    if (needed > 0) {
      --needed;
      p.start = 1;
      p.finding.fix = fmt::format(
          "start a replacement of release {}, wait until it is healthy, then drain and remove {}",
          label, r->id);
    }
  }
  if (needed > 0) {
    auto& p = add_finding(
        ex, DriftKind::replica_missing, fmt::format("release {} of {}", label, report.env),
        fmt::format("{} replicas", desired), fmt::format("{} running", working.size()),
        fmt::format("start {} replica{} of release {} and wait until healthy", needed,
                    needed == 1 ? "" : "s", label));
    p.start = needed;
  } else if (static_cast<int>(working.size()) > desired) {
    // The surplus: replicas the router does not route first, then the newest.
    std::set<std::string> routed;
    if (const auto* rs = routes.find(label); rs != nullptr) {
      for (const auto& [id, address] : rs->backends) {
        routed.insert(id);
      }
    }
    std::vector<const Replica*> order = working;
    std::stable_sort(order.begin(), order.end(), [&](const Replica* a, const Replica* b) {
      bool ar = routed.count(a->id) > 0;
      bool br = routed.count(b->id) > 0;
      return ar != br ? !ar : a->id > b->id;
    });
    size_t surplus = working.size() - static_cast<size_t>(desired);
    for (size_t i = 0; i < surplus; ++i) {
      const auto* r = order[i];
      auto& p =
          add_finding(ex, DriftKind::replica_extra, replica_where(*r),
                      fmt::format("{} replicas of release {}", desired, label),
                      fmt::format("{} running; {} is one too many{}", working.size(), r->id,
                                  routed.count(r->id) > 0 ? "" : " (not in the router's routes)"),
                      fmt::format("drain and stop {}", r->id));
      p.finding.replicas = {r->id};
      p.remove = {r->id};
    }
  }
  if (replicas.empty()) {
    return {};
  }

  // Config rendered at start and edited since: the replica runs it at its next restart.
  ZTP_ASSIGN_OR_RETURN(auto configs, target.changed_config(report.env));
  std::set<std::string> planned_out;
  for (const auto& p : ex.planned) {
    planned_out.insert(p.remove.begin(), p.remove.end());
  }
  for (const auto* r : working) {
    auto it = configs.find(r->id);
    if (it == configs.end() || planned_out.count(r->id) > 0) {
      continue;
    }
    auto& p = add_finding(
        ex, DriftKind::config_changed, replica_where(*r), "its config as the templates render it",
        target::describe_changes(it->second),
        fmt::format("start a replacement of release {} with freshly rendered config, wait until it "
                    "is healthy, then drain and remove {}",
                    label, r->id));
    p.finding.replicas = {r->id};
    p.start = 1;
    p.remove = {r->id};
  }

  // Whole-set problems replace every replica of the set with fresh ones.
  std::vector<std::string> all;
  for (const auto& r : replicas) {
    all.push_back(r.id);
  }
  auto whole_set = [&](DriftKind kind, std::string where, std::string expected,
                       std::string observed, std::string fix) {
    // The fresh set covers what the per-replica findings would have done.
    for (auto& p : ex.planned) {
      if (p.start > 0 || !p.remove.empty()) {
        p.start = 0;
        p.remove.clear();
        p.finding.fix = fmt::format("covered by the fresh replicas of release {}", label);
      }
    }
    auto& p = add_finding(ex, kind, std::move(where), std::move(expected), std::move(observed),
                          std::move(fix));
    p.finding.replicas = all;
    p.start = desired;
    p.remove = all;
  };
  if (!set->digest.empty() && set->digest != ex.active.digest) {
    whole_set(DriftKind::release_mismatch, fmt::format("release {} of {}", label, report.env),
              fmt::format("image {}", ex.active.digest), fmt::format("image {}", set->digest),
              fmt::format("start {} replicas of {}, wait until healthy, then drain and stop the "
                          "replicas that run {}",
                          desired, short_digest(ex.active.digest), short_digest(set->digest)));
    return {};
  }
  ZTP_ASSIGN_OR_RETURN(auto changes, target.changed_files(ex.active));
  if (!changes.empty()) {
    whole_set(DriftKind::files_changed,
              fmt::format("files of release {} ({})", label, short_digest(ex.active.digest)),
              fmt::format("the files of image {}", ex.active.digest), files_differ(changes),
              fmt::format("unpack {} afresh, start {} fresh replicas on it, wait until healthy, "
                          "then drain and stop {}",
                          short_digest(ex.active.digest), desired, fmt::join(all, ", ")));
  }
  return {};
}

// A standby set (a known release kept warm at weight 0 for an instant rollback) with a replica
// down: a rollback would not be the one route change it promises. The fix stops the set, so
// that a rollback inside the window rolls the release out afresh instead of switching to a
// set that cannot take the traffic.
void examine_standby_replicas(Examined& ex, const target::ReleaseSet& set) {
  std::vector<std::string> down;
  std::vector<std::string> all;
  std::vector<std::string> states;
  for (const auto& r : set.replicas) {
    all.push_back(r.id);
    if (!alive(r) || r.state == Replica::State::crashed) {
      down.push_back(r.id);
      states.push_back(fmt::format("{} {}", r.id, describe(r)));
    }
  }
  if (down.empty()) {
    return;
  }
  auto& p = add_finding(
      ex, DriftKind::standby_degraded,
      fmt::format("standby release {} of {}", set.release, ex.report.env),
      fmt::format(
          "every replica of release {} running, kept warm at weight 0 for an instant rollback",
          set.release),
      fmt::format("{}", fmt::join(states, "; ")),
      fmt::format(
          "drain and stop the standby set ({}): a rollback to release {} then rolls it out afresh",
          fmt::join(all, ", "), set.release));
  p.finding.replicas = down;
  p.remove = all;
}

// A standby set whose release directory was edited: a switch back would put the edited files
// in front of the traffic. The fix unpacks the image afresh and stops the set, so that a
// rollback rolls the release out on pristine files. A standby of the active release's image
// shares its directory, which the active release's own check covers (files_changed).
Result<void> examine_standby_files(Examined& ex, target::Target& target,
                                   const target::ReleaseSet& set) {
  if (set.digest.empty() || set.digest == ex.active.digest) {
    return {};
  }
  const target::ReleaseRef ref{ex.report.env, set.release, set.digest};
  ZTP_ASSIGN_OR_RETURN(auto changes, target.changed_files(ref));
  if (changes.empty()) {
    return {};
  }
  std::vector<std::string> all;
  for (const auto& r : set.replicas) {
    all.push_back(r.id);
  }
  auto& p = add_finding(
      ex, DriftKind::standby_files_changed,
      fmt::format("files of standby release {} ({}) of {}", set.release, short_digest(set.digest),
                  ex.report.env),
      fmt::format("the files of image {}", set.digest), files_differ(changes),
      fmt::format("unpack {} afresh and drain and stop the standby set ({}): a rollback to release "
                  "{} then rolls it out on the image's files",
                  short_digest(set.digest), fmt::join(all, ", "), set.release));
  p.finding.replicas = all;
  p.remove = all;
  p.refresh = ref;
  return {};
}

// Replicas of releases that are not desired: neither the active release nor a standby (a
// known release of the environment kept warm at weight 0).
Result<void> examine_other_sets(Examined& ex, target::Target& target, const target::Observed& obs,
                                const std::set<std::string>& known) {
  const auto& report = ex.report;
  for (const auto& set : obs.sets) {
    if (report.desired_replicas > 0 && set.release == ex.active.release) {
      continue;
    }
    if (report.desired_replicas > 0 && known.count(set.release) > 0) {
      examine_standby_replicas(ex, set);
      ZTP_TRY(examine_standby_files(ex, target, set));
      continue;
    }
    for (const auto& r : set.replicas) {
      auto& p = add_finding(
          ex, DriftKind::replica_extra, replica_where(r),
          report.desired_replicas == 0
              ? fmt::format("nothing runs in {}", report.env)
              : fmt::format("only release {} (and standbys of known releases)", ex.active.release),
          fmt::format("release {} ({}), {}", set.release, short_digest(set.digest), describe(r)),
          fmt::format("drain and stop {}", r.id));
      p.finding.replicas = {r.id};
      p.remove = {r.id};
    }
  }
  return {};
}

// The router's side: up, serving the environment, at the desired weights, to the replicas that
// run.
void examine_routes(Examined& ex, const target::Observed& obs, const target::RouteView& routes) {
  const auto& report = ex.report;
  const std::string reapply = fmt::format(
      "re-apply the routes of {}: every running replica in its release set, at the desired "
      "weights",
      report.env);
  if (!routes.router_up) {
    if (report.desired_replicas > 0) {
      add_finding(
          ex, DriftKind::router_down, "router (ztp proxy)", "answering on its admin socket",
          "no answer: the front door is down",
          fmt::format("start the router under its supervisor (it restores its saved routes), "
                      "then {}",
                      reapply));
    }
    return;
  }
  if (!routes.env_routed) {
    if (report.desired_replicas > 0) {
      add_finding(ex, DriftKind::env_unrouted, fmt::format("router routes of {}", report.env),
                  fmt::format("{} routed", report.env), "the router serves no routes for it",
                  reapply);
    }
    return;
  }
  // Replicas that are to be removed anyway are not asked to be routed.
  std::set<std::string> leaving;
  for (const auto& p : ex.planned) {
    leaving.insert(p.remove.begin(), p.remove.end());
  }
  for (const auto& set : routes.sets) {
    auto it = report.desired_weights.find(set.release);
    int want = it == report.desired_weights.end() ? 0 : it->second;
    if (set.weight != want) {
      add_finding(ex, DriftKind::route_weight,
                  fmt::format("router route of {}, release {}", report.env, set.release),
                  fmt::format("weight {}%", want), fmt::format("weight {}%", set.weight), reapply);
    }
  }
  std::map<std::string, std::pair<std::string, std::string>> routed;  // id -> (release, address)
  for (const auto& set : routes.sets) {
    for (const auto& [id, address] : set.backends) {
      routed[id] = {set.release, address};
    }
  }
  std::set<std::string> replica_ids;
  for (const auto& set : obs.sets) {
    for (const auto& r : set.replicas) {
      replica_ids.insert(r.id);
      if (!alive(r) || leaving.count(r.id) > 0) {
        continue;
      }
      auto found = routed.find(r.id);
      if (found == routed.end()) {
        add_finding(ex, DriftKind::route_backends,
                    fmt::format("router route of {}, release {}", report.env, set.release),
                    fmt::format("{} routed to {}", r.id, r.address),
                    fmt::format("{} runs but is not in the routes", r.id), reapply);
      } else if (found->second != std::pair{set.release, r.address}) {
        add_finding(ex, DriftKind::route_backends,
                    fmt::format("router route of {}, release {}", report.env, set.release),
                    fmt::format("{} routed to {} in release {}", r.id, r.address, set.release),
                    fmt::format("{} routed to {} in release {}", r.id, found->second.second,
                                found->second.first),
                    reapply);
      }
    }
  }
  for (const auto& [id, where] : routed) {
    if (replica_ids.count(id) == 0) {
      add_finding(ex, DriftKind::route_backends,
                  fmt::format("router route of {}, release {}", report.env, where.first),
                  "only replicas of the environment routed",
                  fmt::format("backend {} at {} is no replica of {}", id, where.second, report.env),
                  reapply);
    }
  }
}

}  // namespace

bool is_route_kind(DriftKind kind) {
  return kind == DriftKind::router_down || kind == DriftKind::env_unrouted ||
         kind == DriftKind::route_weight || kind == DriftKind::route_backends;
}

std::vector<DriftFinding> findings_of(const std::vector<Planned>& planned) {
  std::vector<DriftFinding> out;
  for (const auto& p : planned) {
    out.push_back(p.finding);
  }
  return out;
}

Result<Examined> examine(const DriftContext& ctx, const spec::Environment& env,
                         target::Target& target) {
  Examined ex;
  auto& report = ex.report;
  report.env = env.name;
  report.at_ms = wall_ms(ctx.clock);

  ZTP_ASSIGN_OR_RETURN(auto active, ctx.store.current_release(env.name));
  ZTP_ASSIGN_OR_RETURN(auto state, ctx.store.get_env_state(env.name));
  ZTP_ASSIGN_OR_RETURN(report.isolated, ctx.store.get_isolation(env.name));
  auto releases = ctx.store.list_releases(env.name, 0);
  if (!releases.ok()) {
    return releases.take_error();
  }
  std::set<std::string> known;
  for (const auto& r : *releases) {
    known.insert(std::to_string(r.revision));
  }
  if (active.has_value()) {
    const auto& r = *active;
    report.revision = r.revision;
    report.digest = r.digest;
    ex.active = {env.name, std::to_string(r.revision), r.digest};
    if (state.has_value()) {
      report.desired_replicas = state->replicas;
      report.desired_weights = weights_of(*state);
    } else {
      report.desired_replicas = r.replicas;
      report.desired_weights = {{ex.active.release, 100}};
    }
  }

  ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(env.name));
  ZTP_ASSIGN_OR_RETURN(auto routes, target.routes(env.name));
  if (report.desired_replicas > 0) {
    ZTP_TRY(examine_active_set(ex, target, obs, routes));
  }
  ZTP_TRY(examine_other_sets(ex, target, obs, known));
  if (!report.isolated) {
    // An isolated environment's router serves a maintenance page by intent: not drift.
    examine_routes(ex, obs, routes);
  }
  report.findings = findings_of(ex.planned);
  return ex;
}

Result<void> save_report(const DriftContext& ctx, DriftReport& report) {
  store::NewDriftReport nr;
  nr.env = report.env;
  nr.in_sync = report.in_sync();
  nr.findings = static_cast<int>(report.findings.size());
  nr.fixed = report.repaired();
  nr.trigger = report.trigger;
  nr.markdown = report.to_markdown();
  nr.report = report.to_json().dump();
  ZTP_ASSIGN_OR_RETURN(auto saved, ctx.store.save_drift_report(nr));
  report.stored_id = saved.id;
  if (report.in_sync()) {
    return {};
  }
  std::vector<std::string> kinds;
  for (const auto& f : report.findings) {
    kinds.emplace_back(drift_kind_name(f.kind));
  }
  nlohmann::json data{{"report_id", saved.id},
                      {"findings", report.findings.size()},
                      {"kinds", kinds},
                      {"trigger", report.trigger}};
  ZTP_TRY(ctx.store.append_event(
      {std::nullopt, report.env, "drift.found",
       fmt::format("drift in {}: {} finding{} ({})", report.env, report.findings.size(),
                   report.findings.size() == 1 ? "" : "s", fmt::join(kinds, ", ")),
       data.dump()}));
  if (report.fix_ran) {
    data["remaining"] = report.remaining.size();
    data["refused"] = report.refused();
    const bool done = report.repaired();
    ZTP_TRY(ctx.store.append_event(
        {std::nullopt, report.env, done ? "drift.fixed" : "drift.fix_incomplete",
         done ? fmt::format("drift in {} repaired", report.env)
              : fmt::format("drift in {} not fully repaired: {} finding{} remain ({} refused)",
                            report.env, report.remaining.size(),
                            report.remaining.size() == 1 ? "" : "s", report.refused()),
         data.dump()}));
  }
  return {};
}

}  // namespace drift_detail

Result<DriftReport> detect_drift(const DriftContext& ctx, const spec::Environment& env,
                                 const std::string& trigger) {
  ZTP_ASSIGN_OR_RETURN(auto target, ctx.target_for(env.name));
  ZTP_ASSIGN_OR_RETURN(auto lock, EnvLock::acquire(ctx.home, env.name,
                                                   fmt::format("ztp drift {}", env.name), false));
  ZTP_ASSIGN_OR_RETURN(auto ex, drift_detail::examine(ctx, env, *target));
  ex.report.trigger = trigger;
  ZTP_TRY(drift_detail::save_report(ctx, ex.report));
  return std::move(ex.report);
}

Result<DriftReport> scheduled_drift_check(const DriftContext& ctx, const spec::Environment& env) {
  auto report = detect_drift(ctx, env, "schedule");
  if (!report.ok() || report->in_sync() || !env.self_heal) {
    return report;
  }
  log::info("self-heal: repairing drift", {{"env", env.name}});
  return fix_drift(ctx, env, "schedule");
}

}  // namespace ztp::engine
