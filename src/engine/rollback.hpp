#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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

namespace ztp::engine {

// One environment put back on an earlier release (`ztp rollback ENV [--to REVISION]`).
struct RollbackRequest {
  std::string env;
  std::optional<int64_t> to_revision;  // nullopt: rollback_target() chooses
  bool wait_for_lock = true;  // false: fail at once when another rollout holds the environment
  bool force = false;         // go to a revision even when its digest is marked bad
  std::optional<int64_t> run_id;
  std::string actor = "cli";
  std::string reason;  // why, in the operator's words ("" when not given)
  std::function<void(const std::string&)> on_lock_wait;
};

// How the environment got back.
enum class RollbackMethod {
  switch_back,  // the release's set was still running warm: one route change, no process
  rollout,      // a rollout of the release's image by the environment's strategy
};

// "switch_back" | "rollout".
std::string_view rollback_method_name(RollbackMethod method);

// What a successful rollback left running.
struct RollbackOutcome {
  std::optional<store::Release> from;  // the release that was active; nullopt when none was
  store::Release to;                   // the release now active (and last known good)
  RollbackMethod method = RollbackMethod::rollout;
  bool marked_bad = false;           // `from`'s digest is now marked bad in the environment
  std::vector<std::string> stopped;  // the set rolled away from, when it still ran
  // Files of the release's directory that differed from its image before the rollback; they
  // were unpacked afresh (files_refreshed) and a warm set that ran them was not switched to.
  std::vector<target::FileChange> files_changed;
  bool files_refreshed = false;  // the directory was unpacked afresh from the image
  std::string url;
};

// The release a rollback of `env` goes to.
//  - `to`: that revision of `env` (Errc::invalid when it has none, or when it is the active
//    release already).
//  - otherwise: the last known good release, unless it is the active release (or has its
//    digest); then the previous good release: the newest revision below the active one that
//    was active and was later superseded (not rolled back), with another digest.
// A digest marked bad in `env` is refused (Errc::refused) unless `force`; the automatic choice
// skips such releases. Errc::not_found when there is nothing to go back to.
Result<store::Release> rollback_target(store::SqliteStore& store, const std::string& env,
                                       std::optional<int64_t> to, bool force);

// Puts `req.env` back on rollback_target()'s release under the environment's lock (after
// stopping expired standby sets). The release's directory is first compared with its image
// (Target::changed_files); when it was edited, it is unpacked afresh (event
// rollback.files_changed) and no warm set of it is switched to. When that release's set still
// runs with every replica healthy (a blue-green standby inside keep_previous) on unedited files,
// one route change moves all traffic to it (switch_back); no process is started. Otherwise any
// set of it at weight 0 is stopped and the release's image is rolled out by the
// environment's strategy, which verifies it as a deploy would. Either way the set that was
// active is then drained and stopped (it is not kept as a standby). On success the release is
// active again and the last known good; the one that was active is recorded rolled_back and its
// digest marked bad in the environment (a later `ztp deploy` of it needs --force). When the rollout
// fails, the environment is put back on what it ran before and the error is Errc::rolled_back (exit
// 12), naming both; the records are unchanged. Events: rollback.started, rollback.switched,
// rollback.succeeded, rollback.failed (started and succeeded carry the actor and the reason);
// one audit entry.
Result<RollbackOutcome> rollback(const spec::Spec& spec, const std::filesystem::path& home,
                                 store::SqliteStore& store, target::Target& target, Clock& clock,
                                 const RollbackRequest& req, const Progress& progress);

}  // namespace ztp::engine
