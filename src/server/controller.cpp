// The controller's run queue and its background loops: the worker, the poller and the upkeep
// schedule. The webhook handler is in controller_webhook.cpp.
#include "server/controller.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "source/git_fetch.hpp"
#include "source/webhook.hpp"
#include "util/log.hpp"

namespace ztp::server {
namespace {

engine::Workspace& require_workspace(engine::Workspace* ws) {
  if (ws == nullptr || ws->store == nullptr) {
    throw std::invalid_argument("the controller needs a workspace with an open store");
  }
  return *ws;
}

// Ends run `run_id` cancelled with `reason`, telling the live view why.
void cancel_run(store::SqliteStore& store, int64_t run_id, const std::string& kind,
                const std::string& reason, nlohmann::json data) {
  auto ended = store.update_run_status(run_id, store::RunStatus::cancelled, reason);
  if (!ended.ok()) {
    log::warn("run not cancelled",
              {{"run", std::to_string(run_id)}, {"error", ended.error().message}});
    return;
  }
  data["run"] = run_id;
  [[maybe_unused]] auto e = store.append_event({run_id, std::nullopt, kind, reason, data.dump()});
}

// True when the approval of run `run_id` was answered (approved or rejected).
bool gate_answered(store::SqliteStore& store, int64_t run_id) {
  auto approval = store.get_approval(run_id);
  return approval.ok() && approval->status != store::ApprovalStatus::pending;
}

// Every run in `status`, newest first.
Result<std::vector<store::Run>> runs_in(store::SqliteStore& store, store::RunStatus status) {
  store::RunFilter filter;
  filter.status = status;
  filter.limit = 0;
  return store.list_runs(filter);
}

}  // namespace

Controller::Controller(Options options)
    : m_opt(std::move(options)), m_ws(require_workspace(m_opt.workspace)), m_run_spec(m_ws.spec) {
  m_remote = source::is_remote_repo(m_ws.spec.source.repo);
  if (m_remote) {
    // Runs build from the mirror: an absolute source.repo replaces spec.base_dir().
    m_run_spec.source.repo = source::mirror_path(m_ws.home, m_ws.spec.source.repo).string();
  }
  m_secret = m_opt.webhook_secret.value_or(source::webhook_secret(m_ws.spec.source));
  auto base = engine::make_pipeline(
      m_ws, m_opt.progress,
      [](const std::string& m) {
        log::info(m, {{"actor", "controller"}});
      },
      "controller");
  m_pipeline = std::make_unique<engine::Pipeline>(engine::Pipeline{
      .spec = m_run_spec,
      .home = base.home,
      .store = base.store,
      .clock = m_opt.run_clock != nullptr ? *m_opt.run_clock : base.clock,
      .target_for = m_opt.target_for ? m_opt.target_for : base.target_for,
      .progress = base.progress,
      .on_wait = base.on_wait,
      .wait_for_approval = false,  // the worker parks runs at gates and resumes them
      .wait_when_held = true,      // a freeze or window holds the run; stop() requeues it
      .stop_requested =
          [this] {
            std::lock_guard lock(m_mu);
            return m_stopping;
          },
      .approval_poll = base.approval_poll,
      .actor = base.actor,
  });
}

Controller::~Controller() { stop(); }

void Controller::start() {
  {
    std::lock_guard lock(m_mu);
    if (m_started) {
      return;
    }
    m_started = true;
    m_stopping = false;
  }
  adopt_queued_runs();
  [[maybe_unused]] auto repaired = engine::reconcile_logged(*m_pipeline);
  m_worker = std::thread([this] { worker_loop(); });
  if (m_opt.poll && m_ws.spec.source.poll_interval.count() > 0) {
    m_poller = std::thread([this] { poll_loop(); });
  }
  if (m_opt.drift_check || m_opt.reap_standby) {
    m_upkeep = std::thread([this] { upkeep_loop(); });
  }
  log::info("controller: started",
            {{"repo", source::strip_credentials(m_ws.spec.source.repo)},
             {"branch", m_ws.spec.source.branch},
             {"webhooks", m_secret.empty() ? "refused (no secret)" : "accepted"}});
}

void Controller::stop() {
  {
    std::lock_guard lock(m_mu);
    if (!m_started) {
      return;
    }
    m_stopping = true;
  }
  m_cv.notify_all();
  for (auto* t : {&m_upkeep, &m_poller, &m_worker}) {
    if (t->joinable()) {
      t->join();
    }
  }
  std::lock_guard lock(m_mu);
  m_queued.reset();  // stays queued in the store; the next start takes it over
  m_resume.clear();
  m_started = false;
}

Result<source::GitRepo> Controller::open_repo(bool fetch) {
  std::lock_guard lock(m_fetch_mu);
  return source::open_source_repo(m_ws.spec, m_ws.home, fetch && m_remote);
}

Result<Controller::Queueing> Controller::enqueue(const source::CommitInfo& commit,
                                                 store::Trigger trigger, const std::string& actor,
                                                 bool skip_done) {
  std::lock_guard lock(m_mu);
  if (m_queued && m_queued->sha == commit.sha) {
    return Queueing{m_queued->id, fmt::format("commit {} is already queued as run {}",
                                              commit.short_sha, m_queued->id)};
  }
  if (skip_done) {
    if (m_running && m_running->second == commit.sha) {
      return Queueing{std::nullopt, fmt::format("commit {} is being run (run {})", commit.short_sha,
                                                m_running->first)};
    }
    // A run ended by a crash is no verdict: its commit runs again.
    ZTP_ASSIGN_OR_RETURN(auto last, engine::last_runs(*m_pipeline));
    bool rerun = last.interrupted && last.interrupted->commit_sha == commit.sha;
    if (!rerun && last.of_record && last.of_record->commit_sha == commit.sha) {
      return Queueing{std::nullopt,
                      fmt::format("commit {} already ran as run {} ({})", commit.short_sha,
                                  last.of_record->id, store::to_string(last.of_record->status))};
    }
  }
  engine::RunRequest req;
  req.revision = commit.sha;
  req.trigger = trigger;
  req.actor = actor;
  store::Run run;
  ZTP_ASSIGN_OR_RETURN(run, engine::create_run(*m_pipeline, commit, req));
  Queued next{run.id, commit.sha, std::nullopt};
  auto hold = engine::EnvLock::acquire_run(m_ws.home, run.id, "ztp serve: queued");
  if (hold.ok()) {
    next.hold.emplace(std::move(*hold));
  } else {
    log::warn("controller: queued run not locked",
              {{"run", std::to_string(run.id)}, {"error", hold.error().message}});
  }
  Queueing out{run.id, fmt::format("commit {} queued as run {}", commit.short_sha, run.id)};
  if (m_queued) {
    int64_t old = m_queued->id;
    m_queued.reset();  // releases its lock
    cancel_run(*m_ws.store, old, "run.coalesced",
               fmt::format("coalesced into run {} (commit {}): a newer commit arrived while it "
                           "waited for run {} to finish",
                           run.id, commit.short_sha,
                           m_running ? std::to_string(m_running->first) : "another"),
               {{"into", run.id}});
    out.reason += fmt::format(", replacing run {} that had not started", old);
  }
  m_queued = std::move(next);
  m_cv.notify_all();
  log::info("controller: " + out.reason,
            {{"trigger", std::string(store::to_string(trigger))}, {"actor", actor}});
  return out;
}

Result<std::optional<int64_t>> Controller::request_run(const std::string& commit,
                                                       store::Trigger trigger,
                                                       const std::string& actor) {
  ZTP_ASSIGN_OR_RETURN(auto repo, open_repo(true));
  ZTP_ASSIGN_OR_RETURN(
      auto info, commit.empty() ? repo.branch_tip(m_ws.spec.source.branch) : repo.resolve(commit));
  bool skip_done = trigger == store::Trigger::poll || trigger == store::Trigger::webhook;
  Queueing queued;
  ZTP_ASSIGN_OR_RETURN(queued, enqueue(info, trigger, actor, skip_done));
  return queued.run_id;
}

Result<std::optional<int64_t>> Controller::poll_once() {
  ZTP_ASSIGN_OR_RETURN(auto repo, open_repo(true));
  engine::RunRequest req;
  req.trigger = store::Trigger::poll;
  req.actor = "poll";
  ZTP_ASSIGN_OR_RETURN(auto check, engine::check_trigger(*m_pipeline, repo, req));
  if (!check.triggers) {
    log::debug("controller: poll: nothing to run", {{"reason", check.reason}});
    return std::optional<int64_t>();
  }
  Queueing queued;
  ZTP_ASSIGN_OR_RETURN(queued, enqueue(check.commit, store::Trigger::poll, "poll", true));
  return queued.run_id;
}

void Controller::resume(int64_t run_id) {
  std::lock_guard lock(m_mu);
  m_given_up.erase(run_id);
  if (std::find(m_resume.begin(), m_resume.end(), run_id) == m_resume.end()) {
    m_resume.push_back(run_id);
  }
  m_cv.notify_all();
}

Controller::QueueState Controller::queue_state() const {
  std::lock_guard lock(m_mu);
  QueueState s;
  if (m_running) {
    s.running = m_running->first;
  }
  if (m_queued) {
    s.queued = m_queued->id;
  }
  return s;
}

bool Controller::idle_locked() const { return !m_running && !m_queued && m_resume.empty(); }

bool Controller::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mu);
  return m_cv.wait_for(lock, timeout, [this] { return idle_locked(); });
}

// Runs left queued by a controller that stopped: the newest is queued again, older ones are
// coalesced into it. Taking its lock keeps reconcile from ending it.
void Controller::adopt_queued_runs() {
  auto runs = runs_in(*m_ws.store, store::RunStatus::queued);
  if (!runs.ok()) {
    log::warn("controller: queued runs not read", {{"error", runs.error().message}});
    return;
  }
  std::lock_guard lock(m_mu);
  for (const auto& run : *runs) {  // newest first
    if (run.app != m_ws.spec.app) {
      continue;
    }
    auto hold = engine::EnvLock::acquire_run(m_ws.home, run.id, "ztp serve: queued");
    if (!hold.ok()) {
      continue;  // another process drives it
    }
    if (m_queued) {
      cancel_run(*m_ws.store, run.id, "run.coalesced",
                 fmt::format("coalesced into run {} when the controller started", m_queued->id),
                 {{"into", m_queued->id}});
      continue;
    }
    m_queued = Queued{run.id, run.commit_sha, std::move(*hold)};
    log::info(fmt::format("controller: run {} (commit {}) was queued; it runs next", run.id,
                          run.short_sha));
  }
}

// Runs parked at a gate whose approval was answered (by the API or `ztp approve --no-resume`)
// are continued.
void Controller::find_answered_gates() {
  auto runs = runs_in(*m_ws.store, store::RunStatus::awaiting_approval);
  if (!runs.ok()) {
    return;
  }
  std::vector<int64_t> answered;
  for (const auto& run : *runs) {
    if (gate_answered(*m_ws.store, run.id)) {
      answered.push_back(run.id);
    }
  }
  std::lock_guard lock(m_mu);
  for (int64_t id : answered) {
    if (!m_given_up.contains(id) &&
        std::find(m_resume.begin(), m_resume.end(), id) == m_resume.end()) {
      m_resume.push_back(id);
    }
  }
}

// A run starting supersedes older runs parked at a gate (as engine::create_run does for those
// parked when it was queued).
void Controller::supersede_waiting_runs(int64_t run_id) {
  auto runs = runs_in(*m_ws.store, store::RunStatus::awaiting_approval);
  if (!runs.ok()) {
    return;
  }
  for (const auto& run : *runs) {
    if (run.id < run_id) {
      cancel_run(*m_ws.store, run.id, "run.superseded",
                 fmt::format("superseded by run {}, which started", run_id), {{"by", run_id}});
    }
  }
}

void Controller::drive(int64_t run_id) {
  if (m_remote) {
    auto fetched = open_repo(true);
    if (!fetched.ok()) {
      log::warn("controller: fetch before the run failed; building from the mirror as it is",
                {{"run", std::to_string(run_id)}, {"error", fetched.error().message}});
    }
  }
  auto result = m_opt.drive ? m_opt.drive(run_id) : engine::drive_run(*m_pipeline, run_id);
  if (!result.ok()) {
    bool elsewhere = result.error().code == Errc::conflict;
    log::write(elsewhere ? log::Level::info : log::Level::error,
               elsewhere ? "controller: the run is driven by another process"
                         : "controller: the run could not be driven",
               {{"run", std::to_string(run_id)}, {"error", result.error().message}});
    return;
  }
  const auto& run = result->run;
  log::info(fmt::format("controller: run {} {}", run_id, store::to_string(run.status)),
            {{"run", std::to_string(run_id)}, {"reason", run.reason}});
}

void Controller::worker_loop() {
  std::unique_lock lock(m_mu);
  while (!m_stopping) {
    if (!m_queued && m_resume.empty()) {
      lock.unlock();
      find_answered_gates();
      lock.lock();
      m_cv.wait_for(lock, m_opt.approval_poll,
                    [this] { return m_stopping || m_queued || !m_resume.empty(); });
      continue;
    }
    int64_t id = 0;
    std::optional<engine::EnvLock> hold;
    bool fresh = m_resume.empty();
    if (!fresh) {
      id = m_resume.front();
      m_resume.pop_front();
      m_running.emplace(id, "");
    } else {
      id = m_queued->id;
      hold = std::move(m_queued->hold);
      m_running.emplace(id, m_queued->sha);
      m_queued.reset();
    }
    lock.unlock();
    if (fresh) {
      supersede_waiting_runs(id);
      // A process that died (a killed `ztp run` or `ztp deploy`) may have left an environment
      // half-rolled: put it back before this run rolls anything (`hold` keeps it off this run).
      [[maybe_unused]] auto repaired = engine::reconcile_logged(*m_pipeline);
    }
    hold.reset();  // drive_run takes the run's lock itself
    drive(id);
    auto after = m_ws.store->get_run(id);
    lock.lock();
    if (!fresh && after.ok() && after->status == store::RunStatus::awaiting_approval &&
        gate_answered(*m_ws.store, id)) {
      m_given_up.insert(id);  // answered, yet it could not continue: not again and again
    }
    m_running.reset();
    m_cv.notify_all();
  }
}

void Controller::poll_loop() {
  const auto interval = m_ws.spec.source.poll_interval;
  std::string last_error;
  std::unique_lock lock(m_mu);
  while (!m_stopping) {
    lock.unlock();
    auto polled = poll_once();
    if (!polled.ok() && polled.error().message != last_error) {
      log::warn("controller: poll failed (retried every poll_interval)",
                {{"error", polled.error().message}});
    }
    last_error = polled.ok() ? "" : polled.error().message;
    lock.lock();
    m_cv.wait_for(lock, interval, [this] { return m_stopping; });
  }
}

void Controller::upkeep_loop() {
  using steady = std::chrono::steady_clock;
  const auto& envs = m_ws.spec.environments;
  // When each environment's drift check and standby reaping are due next (nullopt: never).
  struct Due {
    std::optional<steady::time_point> drift;
    std::optional<steady::time_point> reap;
  };
  std::vector<Due> due;
  for (const auto& env : envs) {
    Due d;
    if (m_opt.drift_check && env.drift_interval.count() > 0) {
      d.drift = steady::now() + env.drift_interval;
    }
    if (m_opt.reap_standby) {
      d.reap = steady::now();  // a standby an earlier process left may have expired meanwhile
    }
    due.push_back(d);
  }
  std::unique_lock lock(m_mu);
  while (!m_stopping) {
    std::optional<steady::time_point> next;
    for (const auto& d : due) {
      for (const auto& t : {d.drift, d.reap}) {
        if (t && (!next || *t < *next)) {
          next = t;
        }
      }
    }
    if (!next) {
      m_cv.wait(lock, [this] { return m_stopping; });
      break;
    }
    if (m_cv.wait_until(lock, *next, [this] { return m_stopping; })) {
      break;
    }
    lock.unlock();
    for (size_t i = 0; i < envs.size(); ++i) {
      if (std::lock_guard stopping(m_mu); m_stopping) {
        break;
      }
      if (due[i].drift && *due[i].drift <= steady::now()) {
        m_opt.drift_check(envs[i]);
        due[i].drift = steady::now() + envs[i].drift_interval;
      }
      if (due[i].reap && *due[i].reap <= steady::now()) {
        auto expiry = m_opt.reap_standby(envs[i]);
        steady::duration wait = m_opt.reap_recheck;
        if (expiry) {
          // A little past the expiry, so that the standby is past its window when reaped.
          auto left = *expiry - std::chrono::system_clock::now() + std::chrono::milliseconds(50);
          steady::duration at_most = m_opt.reap_recheck;
          steady::duration at_least =
              std::min(at_most, steady::duration(std::chrono::milliseconds(50)));
          wait = std::clamp(std::chrono::duration_cast<steady::duration>(left), at_least, at_most);
        }
        due[i].reap = steady::now() + wait;
      }
    }
    lock.lock();
  }
}

}  // namespace ztp::server
