#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// Drift: any difference between the desired state of an environment (the store: its active
// release, replica count and weights) and what runs (the target and its router). See
// docs/drift.md.
namespace ztp::engine {

// What differs.
enum class DriftKind {
  router_down,            // the router (proxy) does not answer
  env_unrouted,           // the router answers but serves no routes for the environment
  route_weight,           // a release set's share of traffic is not the desired one
  route_backends,         // the routes name a backend that is no replica, or leave one out
  replica_down,           // a replica's supervisor is gone, or the replica crashed for good
  replica_unhealthy,      // a replica runs but fails its health checks
  replica_missing,        // fewer replicas of the active release than desired
  replica_extra,          // more replicas than desired, or replicas of no known release
  release_mismatch,       // the active release's replicas run another image
  files_changed,          // files of the active release's directory differ from its image
  config_changed,         // a replica's rendered config (build.templates) was edited
  standby_degraded,       // a replica of a standby set (kept warm for rollback) is down
  standby_files_changed,  // files of a standby set's release directory differ from its image
};

// "router_down", "replica_extra", ...
std::string_view drift_kind_name(DriftKind kind);

// One difference, and what `--fix` does (or did) about it.
struct DriftFinding {
  DriftKind kind = DriftKind::replica_down;
  std::string where;                  // "replica dev-r3-0", "proxy route of dev, release 3", ...
  std::string expected;               // the desired state
  std::string observed;               // what runs
  std::string fix;                    // what --fix does
  std::vector<std::string> replicas;  // the replicas concerned, when any
  std::string outcome;  // after a fix: "fixed", "refused: ...", "failed: ..." ("" before)

  nlohmann::json to_json() const;
};

// One drift check of one environment: what was desired, what differs, and after a fix what
// was done and what still differs.
struct DriftReport {
  std::string env;
  int64_t at_ms = 0;                // wall clock of the check
  std::string trigger = "manual";   // manual | schedule | fix
  std::optional<int64_t> revision;  // the active release (none: nothing is desired to run)
  std::string digest;
  int desired_replicas = 0;
  std::map<std::string, int> desired_weights;  // release label -> percent
  std::optional<store::EnvHold> isolated;      // ztp isolate: not repaired back into serving
  std::vector<DriftFinding> findings;          // as found (outcomes set after a fix)
  bool fix_ran = false;
  std::vector<DriftFinding> remaining;  // after a fix: what a second check still found
  std::optional<int64_t> stored_id;     // the store's id of the saved report

  bool in_sync() const { return findings.empty(); }
  // A fix ran and a second check found nothing.
  bool repaired() const { return fix_ran && remaining.empty(); }
  // Findings whose fix was refused (a digest marked bad, an isolated environment).
  int refused() const;

  nlohmann::json to_json() const;
  std::string to_markdown() const;
};

// What drift checks work with. `target_for` gives the target of an environment (the
// Workspace's); `progress` receives the fix's steps (may be empty).
struct DriftContext {
  const spec::Spec& spec;
  std::filesystem::path home;
  store::SqliteStore& store;
  Clock& clock;
  std::function<Result<target::Target*>(const std::string&)> target_for;
  Progress progress;
};

// Compares environment `env` with its desired state and saves the report in the store
// (save_drift_report, with `trigger`); appends a "drift.found" event when something differs.
// Takes the environment's lock without waiting: Errc::conflict (naming the holder) while a
// rollout holds it. Errors of the store or the target are returned as they are.
Result<DriftReport> detect_drift(const DriftContext& ctx, const spec::Environment& env,
                                 const std::string& trigger = "manual");

// Detects, then restores the desired state without downtime, holding the environment's lock
// (Errc::conflict while a rollout holds it): starts the router when it is down; unpacks an
// edited release afresh; starts replacements of dead, unhealthy or stale replicas and waits
// until they are healthy before draining and stopping what they replace; starts missing
// replicas; drains and stops extra ones; re-applies the routes with the desired weights. Never
// starts replicas of a digest marked bad in the environment, and touches nothing of an
// isolated one: those findings are marked refused. Then checks again (`remaining`), saves one
// report (trigger `trigger`) and appends "drift.found" when drift was found and "drift.fixed"
// or "drift.fix_incomplete" after the fix.
Result<DriftReport> fix_drift(const DriftContext& ctx, const spec::Environment& env,
                              const std::string& trigger = "fix");

// The controller's scheduled check of one environment: detect_drift, then fix_drift when
// drift was found and the environment says `self_heal: true`. Trigger "schedule".
Result<DriftReport> scheduled_drift_check(const DriftContext& ctx, const spec::Environment& env);

}  // namespace ztp::engine
