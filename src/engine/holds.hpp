#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// Holds: what keeps runs waiting at an environment's gate although nothing is wrong with the
// release. A freeze (`ztp freeze ENV`, kept in the store until `ztp unfreeze ENV`) or a deploy
// window of the spec (`deploy_windows.deny`, weekly spans of local time in a named time zone).
namespace ztp::engine {

using WallTime = std::chrono::system_clock::time_point;

// One reason why an environment refuses deploys now.
struct Hold {
  enum class Kind { freeze, window };
  Kind kind = Kind::freeze;
  std::string env;
  std::string reason;  // as given to `ztp freeze`, or the window's reason
  // freeze: who froze it and when.
  std::string actor;
  std::optional<WallTime> since;
  // window: when deploys may start again (nullopt when the windows leave no open minute in
  // the week), as an instant and in the window's zone ("Mon 2027-01-18 08:00 CET").
  std::optional<WallTime> opens_at;
  std::string opens_local;
  std::string timezone;

  // One line for a person: "prod is frozen by alice: incident 42 (`ztp unfreeze prod` lifts
  // it)", "prod is in a deploy window until Mon 2027-01-18 08:00 CET: weekend".
  std::string describe() const;
  // {kind, env, reason, actor?, at?, opens_at?, opens_local?, timezone?}; times in ms since
  // the epoch.
  nlohmann::json to_json() const;
};

// The deny window of `windows` that holds deploys at `now`, with when they may start again
// (after every adjoining or overlapping window too); nullopt when deploys may go ahead.
// Deny spans are judged on the wall clock of the zone, with its daylight saving changes: a span
// ends at the first instant the local clock reaches its `to` (the first of the two in a repeated
// hour; the end of the gap when `to` falls into a skipped hour). not_found/invalid when the
// time zone cannot be read (zoneinfo_file's message).
Result<std::optional<Hold>> window_hold(const std::string& env, const spec::DeployWindows& windows,
                                        WallTime now);

// Everything that holds deploys to `env` at `now`: its freeze (first), then a deploy window.
// Empty when deploys may go ahead. Errors are the store's or window_hold's.
Result<std::vector<Hold>> holds_on(store::SqliteStore& store, const spec::Environment& env,
                                   WallTime now);

// One line for a list of holds: their describe() joined with "; ".
std::string describe(const std::vector<Hold>& holds);

// An unfinished run that waits at an environment's gate while holds keep it shut.
struct HeldRun {
  int64_t run_id = 0;
  std::string env;              // whose gate it waits at
  WallTime since;               // when it began to wait there
  std::vector<Hold> holds;      // what holds the environment now
  std::string recorded_reason;  // the run's reason (when no hold is left: the last one it saw)

  // "held at prod's gate since 2027-01-15 08:00 UTC: prod is frozen by alice: incident 42
  // (`ztp unfreeze prod` lifts it)"
  std::string describe() const;
  // {env, since (ms), holds: [Hold::to_json()], reason, message: describe()}
  nlohmann::json to_json() const;
};

// Where and why `run` waits when it is running or queued with its gate stage open: the
// environment, since when, and the holds on it at `now`. nullopt when it does not wait at a
// gate (or waits for an approval). Errors are the store's or holds_on's.
Result<std::optional<HeldRun>> held_run(store::SqliteStore& store, const spec::Spec& spec,
                                        const store::Run& run, WallTime now);

}  // namespace ztp::engine
