#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/progress.hpp"
#include "source/git_repo.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// The run: one pass of the pipeline for one commit, persisted in the store as a state machine
// (build → push → for each environment: [approval gate] → rollout → verify), so that another
// process can answer its gate, resume it, or end it cleanly after its driver died.
namespace ztp::engine {

// What to run.
struct RunRequest {
  std::string revision;  // "" = the tip of source.branch
  std::string until;     // "" = every environment; else the last environment to roll
  store::Trigger trigger = store::Trigger::manual;
  bool always = false;  // run even when no change since the last run matches source.paths
  std::string actor = "cli";
};

// What a run acts on, and how it reports.
struct Pipeline {
  const spec::Spec& spec;
  std::filesystem::path home;
  store::SqliteStore& store;
  Clock& clock;
  std::function<Result<target::Target*>(const std::string& env)> target_for;
  Progress progress;                                // every event, after it is recorded
  std::function<void(const std::string&)> on_wait;  // one line when waiting for a lock
  bool wait_for_approval = true;  // false: leave the run awaiting approval and return
  // A freeze or deploy window at a gate: true waits until it lifts, false refuses the run
  // (cancelled, Errc::refused).
  bool wait_when_held = true;
  // Asked while waiting at a held gate: true puts the run back in the queue (status queued,
  // the gate stage left open) and returns, for a controller that is shutting down.
  std::function<bool()> stop_requested;
  std::chrono::milliseconds approval_poll{500};
  std::string actor = "cli";
};

// Whether a commit starts a run, and why.
struct TriggerCheck {
  source::CommitInfo commit;
  bool triggers = false;
  std::string reason;  // one line for a person
};

// The last run whose end is a verdict on its commit, and the newest run passed over on the way:
// a run ended by reconcile (interrupted) or still `running` with no live driver (its process
// died and nothing reconciled it yet) says nothing about its commit.
struct LastRuns {
  std::optional<store::Run> of_record;
  std::optional<store::Run> interrupted;  // newer than of_record, when there is one
};
Result<LastRuns> last_runs(const Pipeline& p);

// Resolves the request's commit and decides whether it triggers: the paths changed by every
// commit since the last run's commit (by its first parent; every path for the first run) must
// match source.paths; the commit of the last run does not trigger again. Runs ended by a crash
// do not count (last_runs): their commit runs again. `always` overrides.
Result<TriggerCheck> check_trigger(const Pipeline& p, const source::GitRepo& repo,
                                   const RunRequest& req);

// Records a new queued run of `commit`. Older runs still waiting at an approval gate are
// cancelled: the newer commit supersedes them.
Result<store::Run> create_run(const Pipeline& p, const source::CommitInfo& commit,
                              const RunRequest& req);

// Where one environment of a run ended.
struct EnvResult {
  std::string env;
  std::string status;  // succeeded | failed | rolled_back | awaiting_approval | held |
                       // rejected (an approval was refused) | cancelled (ended at the gate
                       // otherwise: a hold it may not wait for, superseded) | not_reached
  int64_t revision = 0;
  std::string url;
  std::string detail;
};

// Where a run stands after drive_run returned.
struct RunResult {
  store::Run run;
  std::vector<EnvResult> envs;
  std::optional<Error> error;  // what ended the run when it did not succeed
};

// Drives run `run_id` from where its stages stand: builds (a commit already built is reused),
// pushes to the spec's registry, then rolls each environment in order through its gate, its
// strategy and its checks. A failed environment is rolled back to its last known good release
// and ends the run; later environments are never touched. At an approval gate it waits for
// `ztp approve`/`ztp reject` (or returns with the run awaiting approval when
// !p.wait_for_approval). Holds the run's lock throughout: conflict when another process drives
// the run.
Result<RunResult> drive_run(Pipeline& p, int64_t run_id);

// The state of run `run_id` as the store has it (for status, history, approve).
Result<RunResult> describe_run(const Pipeline& p, int64_t run_id);

// One thing reconcile repaired.
struct Repair {
  std::string env;   // the environment put back; "" when a run was ended
  std::string what;  // one line for a person
};

// Ends what a dead process left half-done: an environment whose release is still `deploying`
// while nobody holds its lock is rolled back to its last known good release (every other set
// stopped, replicas that never joined the routes included; all traffic on it) or emptied when
// it has none, and that release is recorded failed; a run still `running` or `queued` whose
// driver is gone ends rolled_back (or failed) with the reason, marked interrupted (its commit
// runs again). Runs waiting at a gate are left waiting. Every command that changes an
// environment, and the controller, calls it first.
Result<std::vector<Repair>> reconcile(Pipeline& p);

// reconcile, logging each repair as a warning: how the controller and the API report them.
Result<std::vector<Repair>> reconcile_logged(Pipeline& p);

// The repair that put `env` back, or nullptr. A rollback without a revision that finds one has
// nothing left to do: the environment is back on its last known good release.
const Repair* find_repair(const std::vector<Repair>& repairs, const std::string& env);

}  // namespace ztp::engine
