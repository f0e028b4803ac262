#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The records of the state database, as plain structs. Times are unix milliseconds, ids are
// the rows' integer keys. docs/store.md describes the tables behind them.
namespace ztp::store {

// What started a run.
enum class Trigger { manual, poll, webhook, deploy };

// Where a run is. succeeded, failed, rolled_back and cancelled are final.
enum class RunStatus {
  queued,
  running,
  awaiting_approval,
  succeeded,
  failed,
  rolled_back,
  cancelled
};

// Where one stage of a run is. succeeded, failed and skipped are final.
enum class StageStatus { pending, running, succeeded, failed, skipped };

// The life of a release in its environment; at most one release per environment is active.
enum class ReleaseStatus { pending, deploying, active, failed, rolled_back, superseded };

// The answer to an approval gate.
enum class ApprovalStatus { pending, approved, rejected };

// What an API token may do: viewer reads, deployer also approves, rejects, rolls back and
// verifies, admin also manages tokens, freezes and isolation.
enum class Role { viewer, deployer, admin };

// Stable lower-case names, as stored and as printed ("awaiting_approval", "rolled_back").
std::string_view to_string(Trigger v);
std::string_view to_string(RunStatus v);
std::string_view to_string(StageStatus v);
std::string_view to_string(ReleaseStatus v);
std::string_view to_string(ApprovalStatus v);
std::string_view to_string(Role v);

// Inverse of to_string; nullopt for an unknown name.
std::optional<Trigger> parse_trigger(std::string_view text);
std::optional<RunStatus> parse_run_status(std::string_view text);
std::optional<StageStatus> parse_stage_status(std::string_view text);
std::optional<ReleaseStatus> parse_release_status(std::string_view text);
std::optional<ApprovalStatus> parse_approval_status(std::string_view text);
std::optional<Role> parse_role(std::string_view text);

// True for the statuses a run or stage never leaves.
bool is_final(RunStatus v);
bool is_final(StageStatus v);

// One pass of the pipeline for one commit.
struct Run {
  int64_t id = 0;
  std::string app;
  std::string commit_sha;
  std::string short_sha;
  Trigger trigger = Trigger::manual;
  RunStatus status = RunStatus::queued;
  std::string reason;     // why it ended (or waits) as it did; empty while all is well
  std::string digest;     // the image it promotes, once built ("" before)
  std::string until_env;  // the last environment it goes to ("" = every one)
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> finished_at;  // set when the status becomes final
  // Ended by reconcile because the process driving it died: its status says what became of
  // the environments, not whether its commit is good, so the commit is run again.
  bool interrupted = false;
};

// What create_run needs; the run starts queued.
struct NewRun {
  std::string app;
  std::string commit_sha;
  std::string short_sha;
  Trigger trigger = Trigger::manual;
  std::string until_env;  // "" = every environment
};

// Which runs list_runs returns, newest first.
struct RunFilter {
  int limit = 50;                    // <= 0: no limit
  std::optional<std::string> env;    // only runs with a stage in this environment
  std::optional<RunStatus> status;   // only runs in this status
  std::optional<int64_t> before_id;  // only runs older than this one (paging)
  std::optional<bool> interrupted;   // only runs that were (or were not) interrupted
};

// One step of a run: build, push, gate, rollout, verify, ...
struct Stage {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string name;
  std::optional<std::string> env;  // none for build and push
  StageStatus status = StageStatus::pending;
  std::string detail;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
};

// How long the finished stages of one name, environment and status took (/metrics).
struct StageDurations {
  std::string name;
  std::string env;  // empty for build and push
  StageStatus status = StageStatus::succeeded;
  int64_t count = 0;
  int64_t total_ms = 0;
  std::vector<int64_t> at_most;  // how many took at most each bound asked for (cumulative)
};

// Something that happened, for the live view, SSE and history.
struct Event {
  int64_t id = 0;
  std::optional<int64_t> run_id;  // none for a `ztp deploy` outside a run
  std::optional<std::string> env;
  std::string kind;  // "rollout.started", "replica.healthy", ...
  std::string message;
  std::string data = "{}";  // a JSON document
  int64_t at = 0;
};

// What append_event needs; `at` is taken from the store's clock.
struct NewEvent {
  std::optional<int64_t> run_id;
  std::optional<std::string> env;
  std::string kind;
  std::string message;
  std::string data = "{}";  // must be valid JSON
};

// Which events list_events returns, oldest first.
struct EventFilter {
  std::optional<int64_t> run_id;
  std::optional<std::string> env;
  int64_t after_id = 0;  // only events with a greater id (follow with the last id seen)
  int limit = 1000;      // <= 0: no limit
};

// One image with its rendered config in one environment: the desired state.
struct Release {
  int64_t id = 0;
  std::string env;
  int64_t revision = 0;  // 1, 2, 3, ... per environment
  std::string digest;    // sha256:...
  std::string image_ref;
  std::string short_sha;
  std::string config_hash;
  int replicas = 0;
  std::string strategy;  // rolling | blue_green | canary
  ReleaseStatus status = ReleaseStatus::pending;
  std::optional<int64_t> run_id;
  int64_t created_at = 0;
  std::optional<int64_t> activated_at;  // last time it became active
};

// What create_release needs; the release starts pending with the next revision of `env`.
struct NewRelease {
  std::string env;
  std::string digest;
  std::string image_ref;
  std::string short_sha;
  std::string config_hash;
  int replicas = 1;
  std::string strategy = "rolling";
  std::optional<int64_t> run_id;
};

// The rollback target of an environment: the last release that passed verification.
struct LastKnownGood {
  std::string env;
  int64_t revision = 0;
  std::string digest;
  int64_t updated_at = 0;
};

// A gate waiting for (or answered by) a person.
struct Approval {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string env;
  ApprovalStatus status = ApprovalStatus::pending;
  int64_t requested_at = 0;
  std::optional<int64_t> decided_at;
  std::string decided_by;
  std::string comment;
};

// An image digest that must not be deployed again.
struct BadDigest {
  std::string digest;
  std::optional<std::string> env;  // none: bad in every environment
  std::string reason;
  int64_t marked_at = 0;
};

// Who did what to what, for the audit trail.
struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;
  std::string actor;   // a user name, "controller", "webhook", ...
  std::string action;  // "approve", "rollback", "deploy", ...
  std::string target;  // "run 12", "env prod", ...
  std::string detail;
};

// The desired state of an environment that drift detection compares the target against.
struct EnvState {
  std::string env;
  int replicas = 0;
  std::string weights = "{}";  // JSON, e.g. {"7": 90, "8": 10}: revision -> traffic share
  std::string spec_hash;       // hash of the rendered spec and config
  int64_t updated_at = 0;
};

// A bearer token of the controller's API. Only the SHA-256 of the token is stored.
struct ApiToken {
  int64_t id = 0;
  std::string name;  // unique, chosen by whoever created it ("ci", "alice")
  Role role = Role::viewer;
  std::string token_hash;  // lower-case hex SHA-256 of the token
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
  std::optional<int64_t> revoked_at;  // set: the token no longer authenticates
};

// A webhook delivery the controller received (X-GitHub-Delivery), kept to refuse replays.
struct WebhookDelivery {
  std::string delivery_id;
  std::string event;    // push, ping, ...
  std::string outcome;  // what the controller did: "run 12", "ignored: branch dev", ...
  std::optional<int64_t> run_id;
  int64_t received_at = 0;
};

// One notification delivered (or given up on) to one channel.
struct Notification {
  int64_t id = 0;
  std::string channel;  // slack | pagerduty | webhook
  std::string event;    // run.started, run.failed, approval.requested, ...
  std::optional<std::string> env;
  std::optional<int64_t> run_id;
  bool delivered = false;
  int attempts = 0;
  std::string error;           // the last failure ("" when delivered at once)
  std::string payload = "{}";  // the JSON sent
  int64_t at = 0;
};

// What record_notification needs; `at` is taken from the store's clock.
struct NewNotification {
  std::string channel;
  std::string event;
  std::optional<std::string> env;
  std::optional<int64_t> run_id;
  bool delivered = false;
  int attempts = 0;
  std::string error;
  std::string payload = "{}";  // must be valid JSON
};

// Which notifications list_notifications returns, newest first.
struct NotificationFilter {
  int limit = 100;  // <= 0: no limit
  std::optional<std::string> channel;
  std::optional<std::string> env;
};

// A hold someone put on an environment: a freeze (deploys wait at the gate) or an isolation
// (the front door answers a maintenance page).
struct EnvHold {
  std::string env;
  std::string reason;
  std::string actor;
  int64_t at = 0;
};

// One drift check of one environment, as reported.
struct DriftReport {
  int64_t id = 0;
  std::string env;
  bool in_sync = true;
  int findings = 0;
  bool fixed = false;         // --fix (or self-heal) repaired what was found
  std::string trigger;        // manual | schedule | fix
  std::string report = "{}";  // the JSON report
  std::string markdown;       // the same report for people
  int64_t at = 0;
};

// What save_drift_report needs; `at` is taken from the store's clock.
struct NewDriftReport {
  std::string env;
  bool in_sync = true;
  int findings = 0;
  bool fixed = false;
  std::string trigger = "manual";
  std::string report = "{}";  // must be valid JSON
  std::string markdown;
};

}  // namespace ztp::store
