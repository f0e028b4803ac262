#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/records.hpp"
#include "store/sqlite.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::store {

// The state of ztp in one SQLite file (ZTP_HOME/state.db): runs, stages, events, releases,
// last known good, approvals, bad digests, audit and desired environment state.
//
// Several processes (`ztp run`, `ztp deploy`, `ztp serve`) may hold the file open at once:
// every write is one short BEGIN IMMEDIATE transaction, so writers queue on the file lock (up
// to 10 s) instead of failing half-way. One object may be shared by threads; calls are
// serialised. Errors name the file and the operation; Errc::timeout means another process
// held the lock too long and the call may be retried.
class SqliteStore {
 public:
  // Creates the parent directory and the file when missing, opens it in WAL mode with foreign
  // keys on, and brings the schema up to date. Errc::conflict when the file was written by a
  // newer ztp; Errc::invalid when it is another program's database. Record times come from
  // `clock`, which must outlive the store.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& db_path,
                                                   Clock& clock = system_clock());

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The database file.
  const std::filesystem::path& path() const { return m_db.path(); }
  // The schema version of the file (latest_schema_version() once open).
  Result<int> schema_version();
  // Runs SQLite's integrity check; Errc::internal with its findings when the file is damaged.
  Result<void> integrity_check();

  // --- runs ---

  // Records a new queued run.
  Result<Run> create_run(const NewRun& run);
  // not_found when there is no run `id`.
  Result<Run> get_run(int64_t id);
  // Moves run `id` to `status` with `reason`; a final status also sets finished_at.
  // not_found when there is no such run; conflict when the run already finished.
  Result<Run> update_run_status(int64_t id, RunStatus status, const std::string& reason = {});
  // Ends run `id` in final `status` with `reason`, marked interrupted (Run::interrupted): its
  // driver died and reconcile ended it. invalid for a status that is not final; otherwise as
  // update_run_status.
  Result<Run> end_interrupted_run(int64_t id, RunStatus status, const std::string& reason);
  // Records the image run `id` promotes (once built). not_found when there is no such run.
  Result<Run> set_run_digest(int64_t id, const std::string& digest);
  // Runs matching `filter`, newest first.
  Result<std::vector<Run>> list_runs(const RunFilter& filter = {});
  // The newest run (with a stage in `env` when given); nullopt when there is none.
  Result<std::optional<Run>> latest_run(const std::optional<std::string>& env = std::nullopt);

  // --- stages ---

  // Records stage `name` of run `run_id` as running since now. not_found when the run does
  // not exist.
  Result<Stage> start_stage(int64_t run_id, const std::string& name,
                            const std::optional<std::string>& env = std::nullopt);
  // Ends stage `stage_id` with a final `status` (succeeded, failed, skipped) and `detail`.
  // invalid for a non-final status; not_found when there is no such stage; conflict when it
  // already ended.
  Result<Stage> finish_stage(int64_t stage_id, StageStatus status, const std::string& detail = {});
  // The stages of run `run_id` in the order they started (empty for an unknown run).
  Result<std::vector<Stage>> list_stages(int64_t run_id);
  // How many runs are in each status (statuses with none are absent).
  Result<std::map<RunStatus, int64_t>> count_runs_by_status();
  // Every finished stage (started and finished), grouped by name, environment and status, with
  // how many took at most each of `bounds_ms` (ascending): one pass inside SQLite, however long
  // the history.
  Result<std::vector<StageDurations>> stage_durations(const std::vector<int64_t>& bounds_ms);

  // --- events ---

  // Appends an event stamped now. invalid when `data` is not JSON or `kind` is empty.
  Result<Event> append_event(const NewEvent& event);
  // Events matching `filter`, oldest first.
  Result<std::vector<Event>> list_events(const EventFilter& filter = {});
  // The id of the newest event (0 when there is none): where a follower starts.
  Result<int64_t> latest_event_id();

  // --- releases ---

  // Records a pending release with the next revision of its environment (1 for the first);
  // concurrent callers get distinct, gap-free revisions. invalid when env or digest is empty.
  Result<Release> create_release(const NewRelease& release);
  // not_found when `env` has no release `revision`.
  Result<Release> get_release(const std::string& env, int64_t revision);
  // The active release of `env`; nullopt when none is active.
  Result<std::optional<Release>> current_release(const std::string& env);
  // The releases of `env`, newest revision first.
  Result<std::vector<Release>> list_releases(const std::string& env, int limit = 50);
  // Sets the status of a release. Making it active marks the previously active release of
  // the environment superseded and stamps activated_at, in one transaction. not_found when
  // there is no such release.
  Result<Release> set_release_status(const std::string& env, int64_t revision,
                                     ReleaseStatus status);

  // --- last known good ---

  // Records release `revision` as the rollback target of `env`. not_found when `env` has no
  // such release.
  Result<LastKnownGood> set_last_known_good(const std::string& env, int64_t revision);
  // The rollback target of `env`; nullopt when none was recorded.
  Result<std::optional<LastKnownGood>> get_last_known_good(const std::string& env);

  // --- approvals ---

  // Opens the approval gate of run `run_id` for `env`. When the run already asked for `env`,
  // returns that approval unchanged, pending or decided, so a resumed run neither asks twice
  // nor loses an answer. not_found when the run does not exist.
  Result<Approval> request_approval(int64_t run_id, const std::string& env);
  // Answers the pending approval of run `run_id` (in `env` when given) with `decision`
  // (approved or rejected). not_found when the run does not exist or none was requested;
  // conflict when it was already decided or the run has ended (the message names its status
  // and reason, e.g. `superseded by run 5`); invalid when `decision` is pending.
  Result<Approval> decide_approval(int64_t run_id, ApprovalStatus decision,
                                   const std::string& decided_by, const std::string& comment = {},
                                   const std::optional<std::string>& env = std::nullopt);
  // The latest approval of run `run_id` (in `env` when given). not_found when none.
  Result<Approval> get_approval(int64_t run_id,
                                const std::optional<std::string>& env = std::nullopt);
  // Every approval still waiting for an answer, oldest first.
  Result<std::vector<Approval>> list_pending_approvals();

  // --- bad digests ---

  // Marks `digest` bad in `env` (in every environment when nullopt); marking again replaces
  // the reason and time.
  Result<void> mark_bad(const std::string& digest, const std::string& reason,
                        const std::optional<std::string>& env = std::nullopt);
  // True when `digest` is marked bad everywhere or in `env`; with no env, when it is marked
  // bad anywhere.
  Result<bool> is_bad(const std::string& digest,
                      const std::optional<std::string>& env = std::nullopt);
  // Every bad digest mark, newest first.
  Result<std::vector<BadDigest>> list_bad_digests();
  // Removes the marks of `digest` (in `env` only when given); true when one was removed.
  Result<bool> clear_bad(const std::string& digest,
                         const std::optional<std::string>& env = std::nullopt);

  // --- audit ---

  // Appends an audit entry stamped now.
  Result<AuditEntry> append_audit(const std::string& actor, const std::string& action,
                                  const std::string& target, const std::string& detail = {});
  // The latest `limit` entries, newest first (<= 0: all).
  Result<std::vector<AuditEntry>> list_audit(int limit = 100);

  // --- desired environment state ---

  // Replaces the desired state of `state.env` (updated_at is set to now). invalid when
  // `weights` is not JSON or env is empty.
  Result<EnvState> set_env_state(const EnvState& state);
  // The desired state of `env`; nullopt when none was recorded.
  Result<std::optional<EnvState>> get_env_state(const std::string& env);
  // The desired state of every environment, by name.
  Result<std::vector<EnvState>> list_env_states();

  // --- API tokens (sqlite_store_controller.cpp) ---

  // Records a token by the SHA-256 of its secret. invalid for an empty name or hash; conflict
  // when a token of that name exists (revoke it first).
  Result<ApiToken> create_token(const std::string& name, Role role, const std::string& token_hash);
  // The unrevoked token with `token_hash`, stamping its last use; nullopt when none.
  Result<std::optional<ApiToken>> use_token(const std::string& token_hash);
  // Every token, revoked ones included, by name.
  Result<std::vector<ApiToken>> list_tokens();
  // Revokes the token `name`. not_found when there is none; conflict when already revoked.
  Result<ApiToken> revoke_token(const std::string& name);

  // --- webhook deliveries ---

  // Records delivery `delivery_id` of `event` as received now. false (and nothing changes) when
  // that delivery was recorded before: a replay. invalid for an empty id.
  Result<bool> record_webhook_delivery(const std::string& delivery_id, const std::string& event);
  // Notes what the controller did with a delivery. not_found for an unknown delivery.
  Result<void> set_webhook_outcome(const std::string& delivery_id, const std::string& outcome,
                                   std::optional<int64_t> run_id = std::nullopt);
  // The latest deliveries, newest first.
  Result<std::vector<WebhookDelivery>> list_webhook_deliveries(int limit = 50);

  // --- notifications ---

  // Claims the announcement of event `event_id` through notifier `notifier` (a stable key of
  // one notifier): true for the first caller only, in any process sharing the database, so
  // each event is announced once per notifier. invalid for an empty notifier key.
  Result<bool> claim_notification(int64_t event_id, const std::string& notifier);
  // Records one delivered or failed notification. invalid when the payload is not JSON.
  Result<Notification> record_notification(const NewNotification& n);
  // Notifications matching `filter`, newest first.
  Result<std::vector<Notification>> list_notifications(const NotificationFilter& filter = {});

  // --- freezes and isolations (sqlite_store_holds.cpp) ---

  // Freezes `env` (replacing an earlier freeze's reason). invalid for an empty env or reason.
  Result<EnvHold> set_freeze(const std::string& env, const std::string& reason,
                             const std::string& actor);
  // Lifts the freeze of `env`; false when it was not frozen.
  Result<bool> clear_freeze(const std::string& env);
  // The freeze of `env`; nullopt when it is not frozen.
  Result<std::optional<EnvHold>> get_freeze(const std::string& env);
  // Every freeze, by environment.
  Result<std::vector<EnvHold>> list_freezes();

  // The same for isolations (ztp isolate / restore).
  Result<EnvHold> set_isolation(const std::string& env, const std::string& reason,
                                const std::string& actor);
  Result<bool> clear_isolation(const std::string& env);
  Result<std::optional<EnvHold>> get_isolation(const std::string& env);
  Result<std::vector<EnvHold>> list_isolations();

  // --- drift reports ---

  // Keeps one drift report. invalid for an empty env or a report that is not JSON.
  Result<DriftReport> save_drift_report(const NewDriftReport& report);
  // The latest reports (of `env` when given), newest first.
  Result<std::vector<DriftReport>> list_drift_reports(
      const std::optional<std::string>& env = std::nullopt, int limit = 20);

 private:
  SqliteStore(Database db, Clock& clock) : m_db(std::move(db)), m_clock(&clock) {}
  int64_t now_ms() const;
  Result<Run> get_run_locked(int64_t id);
  Result<Run> update_run_status_locked(int64_t id, RunStatus status, const std::string& reason,
                                       bool interrupted);
  Result<Release> get_release_locked(const std::string& env, int64_t revision);
  Result<Stage> get_stage_locked(int64_t id);

  std::mutex m_mu;
  Database m_db;
  Clock* m_clock;
};

}  // namespace ztp::store
