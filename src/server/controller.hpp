#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "engine/env_lock.hpp"
#include "engine/pipeline.hpp"
#include "engine/progress.hpp"
#include "engine/workspace.hpp"
#include "server/http_types.hpp"
#include "source/git_repo.hpp"
#include "spec/spec.hpp"
#include "store/records.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// The controller of `ztp serve`: push webhooks, the run queue, the git poller, and the upkeep
// of the environments (the drift schedule, the standby reaper). See docs/webhooks.md.
namespace ztp::server {

class Controller {
 public:
  struct Options {
    // What runs act on: the spec, ZTP_HOME, the store and the targets. Required; must outlive
    // the controller. Its targets are used from the controller's worker thread.
    engine::Workspace* workspace = nullptr;
    // Every progress event of the runs the controller drives (already recorded in the store),
    // on the worker thread; may be empty.
    engine::Progress progress;
    // Called on the upkeep thread for each environment every env.drift_interval (when > 0);
    // empty: no drift schedule.
    std::function<void(const spec::Environment&)> drift_check;
    // Called on the upkeep thread for each environment when the controller starts, then when
    // the environment's next standby set expires (what it returns; nullopt: none is kept) but
    // at least every `reap_recheck`, which is how a standby set a run leaves is found.
    // engine::reap_expired_standby does the work; empty: no standby is reaped here.
    std::function<std::optional<std::chrono::system_clock::time_point>(const spec::Environment&)>
        reap_standby;
    std::chrono::milliseconds reap_recheck{std::chrono::seconds(30)};
    // The key webhooks are verified with; nullopt: ZTP_WEBHOOK_SECRET, else
    // source.webhook_secret (source::webhook_secret).
    std::optional<std::string> webhook_secret;
    // Whether to poll the repository every source.poll_interval (a zero interval never polls).
    bool poll = true;
    // How often the idle worker looks for approvals answered elsewhere (the API, `ztp approve
    // --no-resume`), to continue those runs.
    std::chrono::milliseconds approval_poll{500};

    // --- for tests ---
    // The targets of the environments; empty: the workspace's.
    std::function<Result<target::Target*>(const std::string& env)> target_for;
    // The clock of the runs' rollouts; nullptr: the system clock. The controller's own loops
    // always wait in real time.
    Clock* run_clock = nullptr;
    // Drives one run; empty: engine::drive_run on the controller's pipeline.
    std::function<Result<engine::RunResult>(int64_t run_id)> drive;
  };

  // What the queue holds now.
  struct QueueState {
    std::optional<int64_t> running;  // the run the worker drives
    std::optional<int64_t> queued;   // the run that starts next
  };

  explicit Controller(Options options);  // throws std::invalid_argument without a workspace
  ~Controller();                         // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Takes over the queued runs a stopped controller left, repairs what a dead one left half-done
  // (engine::reconcile, as `ztp run` does; each repair is logged), then starts the worker, the
  // poller (when enabled and source.poll_interval > 0) and the upkeep thread (drift schedule,
  // standby reaper). Idempotent.
  void start();
  // Stops the loops and joins them. An idle controller stops at once; a run being driven is
  // driven to its end or its next approval gate first (a rollout is never abandoned half-way by
  // a clean stop; a killed controller leaves it to the next start's reconcile). A queued run
  // stays queued in the store for the next start.
  void stop();

  // POST /hooks/github. 403 with no secret configured, or for a push when the spec names no
  // repository (source::webhook_repository); 401 for a missing or bad signature; 400 for
  // missing headers or a malformed payload; 200 for a ping or a replayed delivery; 202 for an
  // event that starts no run (with the reason; a push of another repository is also audited)
  // or a push that queued one (with its id). Each delivery is recorded with its outcome.
  Response handle_github_webhook(const Request& req);

  // Queues a run of `commit` (any revision; "" = the tip of source.branch), fetching a remote
  // first. A run already queued is replaced by the new one (coalescing: it ends cancelled);
  // the same commit already queued is that run. For poll and webhook triggers, a commit that
  // is being run or was the last run queues nothing (nullopt), unless that run was ended by a
  // crash (engine::last_runs). not_found for an unknown revision.
  Result<std::optional<int64_t>> request_run(const std::string& commit, store::Trigger trigger,
                                             const std::string& actor);

  // Continues run `run_id` after its gate was answered (the API calls it after approve or
  // reject). The worker also finds answered gates by itself every approval_poll.
  void resume(int64_t run_id);

  // One pass of the poller: fetches a remote, then queues a run of the tip of source.branch
  // when engine::check_trigger says it triggers (path filters, the last run's commit). The
  // queued run, or nullopt.
  Result<std::optional<int64_t>> poll_once();

  QueueState queue_state() const;
  // Blocks until nothing runs, is queued or waits to resume, or `timeout` passes; true when
  // idle.
  bool wait_idle(std::chrono::milliseconds timeout) const;

 private:
  // What enqueue did.
  struct Queueing {
    std::optional<int64_t> run_id;
    std::string reason;  // one line for a person
  };
  struct Queued {
    int64_t id = 0;
    std::string sha;
    std::optional<engine::EnvLock> hold;  // the run's lock while it waits, so no reconcile ends it
  };
  struct Handled {
    Response response;
    std::string outcome;  // for the delivery's record
    std::optional<int64_t> run_id;
  };

  Result<Queueing> enqueue(const source::CommitInfo& commit, store::Trigger trigger,
                           const std::string& actor, bool skip_done);
  Result<source::GitRepo> open_repo(bool fetch);
  Handled handle_push(const std::string& body, const std::string& delivery);
  void adopt_queued_runs();
  void find_answered_gates();
  void supersede_waiting_runs(int64_t run_id);
  void drive(int64_t run_id);
  void worker_loop();
  void poll_loop();
  void upkeep_loop();
  bool idle_locked() const;

  Options m_opt;
  engine::Workspace& m_ws;
  spec::Spec m_run_spec;  // the workspace's spec; source.repo is the mirror for a remote
  bool m_remote = false;
  std::string m_secret;
  std::unique_ptr<engine::Pipeline> m_pipeline;
  std::mutex m_fetch_mu;  // one fetch into the mirror at a time

  mutable std::mutex m_mu;
  mutable std::condition_variable m_cv;
  bool m_started = false;
  bool m_stopping = false;
  std::optional<Queued> m_queued;
  std::optional<std::pair<int64_t, std::string>> m_running;  // run id, commit
  std::deque<int64_t> m_resume;
  std::set<int64_t> m_given_up;  // answered gates whose run could not be continued
  std::thread m_worker;
  std::thread m_poller;
  std::thread m_upkeep;
};

}  // namespace ztp::server
