#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::engine {

// What a pass of the reaper did.
struct ReapOutcome {
  std::vector<std::string> stopped;  // releases whose standby sets were stopped
  // When the standby set still kept runs out of its window; nullopt when none is kept.
  // The controller calls reap_expired_standby again then.
  std::optional<std::chrono::system_clock::time_point> next_expiry;
  bool skipped = false;  // reap_expired_standby only: a rollout held the environment
};

// How long a release set that stopped taking traffic is kept warm in `env` for an instant
// rollback: blue_green's keep_previous, else the post-deploy watch's window (0 when it is off).
Clock::Duration standby_window(const spec::Environment& env);

// The label of the one release whose set may be kept warm in `env`: the release `ztp rollback`
// would go to now (rollback_target); "" when there is none.
Result<std::string> rollback_standby(store::SqliteStore& store, const std::string& env);

// Keeps at most one standby set in `env`: the rollback target's (rollback_standby), while its
// window (standby_window) lasts. Every other standby set is stopped at once ("standby.replaced"),
// the rollback target's once its window has passed ("standby.expired"). A standby set is a
// release set at weight 0 that is not the store's active release, while the active release's
// set takes traffic; with no active release, or the active one not routed, nothing is reaped
// (a rollout died half-way: that is for reconcile). A set's window starts when it stopped being
// active, i.e. when the next release was activated after its own last activation (the active
// release's activation for a set that never was active). The caller holds the environment's
// lock. Times are the store's wall-clock stamps against clock.wall_now().
Result<ReapOutcome> reap_standby(const spec::Environment& env, store::SqliteStore& store,
                                 target::Target& target, Clock& clock, const Progress& progress);

// reap_standby under the environment's lock, taken without waiting: when a rollout holds it the
// outcome is `skipped` (that rollout reaps when it starts). For commands that only look at an
// environment (`ztp status`) and for the controller's timer. Its events are recorded in the
// store and passed on to `progress` (which may be empty). Errc::invalid for an unknown
// environment.
Result<ReapOutcome> reap_expired_standby(const spec::Spec& spec, const std::filesystem::path& home,
                                         const std::string& env, store::SqliteStore& store,
                                         target::Target& target, Clock& clock,
                                         const Progress& progress);

// Drains and stops every replica of the release sets `releases` of `env`; a release that does
// not run is skipped. Returns the releases it stopped.
Result<std::vector<std::string>> stop_release_sets(target::Target& target, const std::string& env,
                                                   const std::vector<std::string>& releases,
                                                   const Progress& progress);

}  // namespace ztp::engine
