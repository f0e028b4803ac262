#include "server/controller.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "../source/git_test_repo.hpp"
#include "source/webhook.hpp"
#include "spec/parse.hpp"
#include "support/support.hpp"
#include "sys/crypto.hpp"

namespace ztp::server {
namespace {

using store::RunStatus;
using store::Trigger;

constexpr const char* k_secret = "It's a Secret to Everybody";

// Drives runs without deploying anything: records each run it is given, optionally holds it
// until released, and ends it succeeded (or parks it at a gate once when `park_at_gate`).
class FakeDriver {
 public:
  explicit FakeDriver(store::SqliteStore& store) : m_store(store) {}

  Result<engine::RunResult> operator()(int64_t run_id) {
    int now = ++m_active;
    m_max_active = std::max(m_max_active.load(), now);
    {
      std::unique_lock lock(m_mu);
      m_driven.push_back(run_id);
      m_cv.notify_all();
      m_cv.wait(lock, [this] { return !m_hold; });
    }
    engine::RunResult out;
    auto run = m_store.get_run(run_id);
    if (!run.ok()) {
      --m_active;
      return run.take_error();
    }
    if (run->status == RunStatus::queued) {
      run = m_store.update_run_status(run_id, RunStatus::running);
    }
    if (park_at_gate && !m_parked.contains(run_id)) {
      m_parked.insert(run_id);
      [[maybe_unused]] auto a = m_store.request_approval(run_id, "prod");
      run = m_store.update_run_status(run_id, RunStatus::awaiting_approval, "prod waits");
    } else if (!store::is_final(run->status)) {
      auto approval = m_store.get_approval(run_id);
      bool rejected = approval.ok() && approval->status == store::ApprovalStatus::rejected;
      run =
          m_store.update_run_status(run_id, rejected ? RunStatus::cancelled : RunStatus::succeeded);
    }
    --m_active;
    out.run = *run;
    return out;
  }

  void hold() {
    std::lock_guard lock(m_mu);
    m_hold = true;
  }
  void release() {
    std::lock_guard lock(m_mu);
    m_hold = false;
    m_cv.notify_all();
  }
  std::vector<int64_t> driven() const {
    std::lock_guard lock(m_mu);
    return m_driven;
  }
  bool wait_driven(size_t n) {
    std::unique_lock lock(m_mu);
    return m_cv.wait_for(lock, std::chrono::seconds(10), [&] { return m_driven.size() >= n; });
  }
  int max_active() const { return m_max_active; }

  bool park_at_gate = false;

 private:
  store::SqliteStore& m_store;
  mutable std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_hold = false;
  std::vector<int64_t> m_driven;
  std::set<int64_t> m_parked;
  std::atomic<int> m_active{0};
  std::atomic<int> m_max_active{0};
};

class ControllerTest : public source::test::GitRepoFixture {
 protected:
  void SetUp() override {
    GitRepoFixture::SetUp();
    ::unsetenv(source::k_webhook_secret_env);
    repo().write("site/index.html", "v1\n");
    repo().write("ztp.yaml", R"(app: site
source: {repo: ., branch: main, paths: ["site/**"], github_repository: octo/site}
build: {command: ["serve"]}
environments:
  - {name: dev, listen: "127.0.0.1:18081", replicas: 1, drift_interval: 20ms}
  - {name: prod, listen: "127.0.0.1:18083", replicas: 1, gate: approval}
)");
    first = repo().commit("first");
    auto spec = spec::load_spec(repo() / "ztp.yaml");
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    ws.spec = std::move(*spec);
    ws.home = dir() / "home";
    auto store = store::SqliteStore::open(ws.home / "state.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    ws.store = std::move(*store);
    driver = std::make_unique<FakeDriver>(*ws.store);
  }

  Controller::Options options(std::optional<std::string> secret = k_secret) {
    Controller::Options o;
    o.workspace = &ws;
    o.poll = false;
    o.webhook_secret = std::move(secret);
    o.approval_poll = std::chrono::milliseconds(20);
    o.drive = [this](int64_t id) { return (*driver)(id); };
    return o;
  }

  std::string commit_file(const std::string& path, const std::string& message) {
    repo().write(path, message + "\n");
    return repo().commit(message);
  }

  int64_t queue(Controller& c, const std::string& commit, Trigger t = Trigger::manual) {
    auto r = c.request_run(commit, t, "test");
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : 0;
  }

  store::Run run(int64_t id) {
    auto r = ws.store->get_run(id);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : store::Run{};
  }

  size_t run_count() {
    store::RunFilter all;
    all.limit = 0;
    return ws.store->list_runs(all)->size();
  }

  Request push_request(const std::string& delivery, const std::string& ref,
                       const std::string& after, const std::vector<std::string>& modified,
                       const std::string& secret = k_secret,
                       const std::string& repository = "octo/site") {
    nlohmann::json body{
        {"ref", ref},
        {"before", first},
        {"after", after},
        {"repository", {{"full_name", repository}}},
        {"commits", {{{"id", after}, {"message", "change\n\nbody"}, {"modified", modified}}}},
        {"head_commit", {{"id", after}, {"message", "change\n\nbody"}, {"modified", modified}}}};
    return signed_request("push", delivery, body.dump(), secret);
  }

  Request signed_request(const std::string& event, const std::string& delivery,
                         const std::string& body, const std::string& secret = k_secret) {
    Request req;
    req.method = "POST";
    req.path = "/hooks/github";
    req.body = body;
    req.headers["x-github-event"] = event;
    req.headers["x-github-delivery"] = delivery;
    req.headers["x-hub-signature-256"] = "sha256=" + sys::hmac_sha256_hex(secret, body);
    return req;
  }

  std::string first;
  engine::Workspace ws;
  std::unique_ptr<FakeDriver> driver;
};

TEST_F(ControllerTest, RunsOneAtATimeAndCoalescesWhatArrivesMeanwhile) {
  std::string b = commit_file("site/b.html", "b");
  std::string c = commit_file("site/c.html", "c");
  Controller ctl(options());
  driver->hold();
  ctl.start();
  int64_t run_a = queue(ctl, first);
  ASSERT_TRUE(driver->wait_driven(1));
  EXPECT_EQ(ctl.queue_state().running, run_a);

  int64_t run_b = queue(ctl, b);
  EXPECT_EQ(ctl.queue_state().queued, run_b);
  EXPECT_EQ(queue(ctl, b), run_b);  // the same commit again is the same run
  int64_t run_c = queue(ctl, c);
  EXPECT_EQ(ctl.queue_state().queued, run_c);
  EXPECT_EQ(run(run_b).status, RunStatus::cancelled);
  EXPECT_NE(run(run_b).reason.find("coalesced into run " + std::to_string(run_c)),
            std::string::npos)
      << run(run_b).reason;

  driver->release();
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(driver->driven(), (std::vector<int64_t>{run_a, run_c}));
  EXPECT_EQ(driver->max_active(), 1);
  EXPECT_EQ(run(run_a).status, RunStatus::succeeded);
  EXPECT_EQ(run(run_c).status, RunStatus::succeeded);
  EXPECT_EQ(run(run_c).trigger, Trigger::manual);
}

TEST_F(ControllerTest, PollAndWebhookNeverRunACommitTwice) {
  Controller ctl(options());
  ctl.start();
  auto polled = ctl.poll_once();
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  ASSERT_TRUE(polled->has_value());  // the first run of the app
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(run(**polled).trigger, Trigger::poll);

  auto again = ctl.poll_once();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  auto hook = ctl.request_run(first, Trigger::webhook, "webhook");
  ASSERT_TRUE(hook.ok());
  EXPECT_FALSE(hook->has_value());
  EXPECT_EQ(run_count(), 1u);
  // Asked for by a person, the same commit runs again.
  EXPECT_TRUE(ctl.request_run("", Trigger::manual, "alice")->has_value());
}

TEST_F(ControllerTest, PollingHonoursThePathFilter) {
  Controller ctl(options());
  ctl.start();
  ASSERT_TRUE(ctl.poll_once()->has_value());
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));

  commit_file("README.md", "docs only");
  auto docs = ctl.poll_once();
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  EXPECT_FALSE(docs->has_value());

  std::string site = commit_file("site/about.html", "about page");
  auto app = ctl.poll_once();
  ASSERT_TRUE(app.ok()) << app.error().message;
  ASSERT_TRUE(app->has_value());
  EXPECT_EQ(run(**app).commit_sha, site);
}

TEST_F(ControllerTest, UnknownRevisionsAreNotFound) {
  Controller ctl(options());
  auto r = ctl.request_run("no-such-branch", Trigger::manual, "alice");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST_F(ControllerTest, ContinuesARunWhoseGateWasAnsweredElsewhere) {
  driver->park_at_gate = true;
  Controller ctl(options());
  ctl.start();
  int64_t id = queue(ctl, first);
  ASSERT_TRUE(driver->wait_driven(1));
  ASSERT_TRUE(testing::wait_until([&] { return run(id).status == RunStatus::awaiting_approval; }));
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(driver->driven().size(), 1u);  // parked: the worker does not spin on it

  ASSERT_TRUE(ws.store->decide_approval(id, store::ApprovalStatus::approved, "alice").ok());
  ASSERT_TRUE(driver->wait_driven(2));
  ASSERT_TRUE(testing::wait_until([&] { return run(id).status == RunStatus::succeeded; }));
  EXPECT_EQ(driver->driven(), (std::vector<int64_t>{id, id}));
}

TEST_F(ControllerTest, ResumeContinuesARunAtOnce) {
  driver->park_at_gate = true;
  auto o = options();
  o.approval_poll = std::chrono::hours(1);  // only resume() wakes it
  Controller ctl(std::move(o));
  ctl.start();
  int64_t id = queue(ctl, first);
  ASSERT_TRUE(testing::wait_until([&] { return run(id).status == RunStatus::awaiting_approval; }));
  ASSERT_TRUE(ws.store->decide_approval(id, store::ApprovalStatus::rejected, "bob").ok());
  ctl.resume(id);
  ASSERT_TRUE(testing::wait_until([&] { return run(id).status == RunStatus::cancelled; }));
}

TEST_F(ControllerTest, AStartingRunSupersedesOlderRunsParkedAtAGate) {
  driver->park_at_gate = true;
  std::string b = commit_file("site/b.html", "b");
  Controller ctl(options());
  driver->hold();
  ctl.start();
  int64_t run_a = queue(ctl, first);
  ASSERT_TRUE(driver->wait_driven(1));
  int64_t run_b = queue(ctl, b);
  driver->release();
  ASSERT_TRUE(driver->wait_driven(2));
  ASSERT_TRUE(
      testing::wait_until([&] { return run(run_b).status == RunStatus::awaiting_approval; }));
  EXPECT_EQ(run(run_a).status, RunStatus::cancelled);
  EXPECT_NE(run(run_a).reason.find("superseded by run " + std::to_string(run_b)),
            std::string::npos);
}

TEST_F(ControllerTest, AQueuedRunSurvivesAStopAndRunsAfterTheNextStart) {
  int64_t id = 0;
  {
    Controller ctl(options());  // never started: nothing drives the run
    id = queue(ctl, first);
  }
  EXPECT_EQ(run(id).status, RunStatus::queued);
  Controller next(options());
  next.start();
  ASSERT_TRUE(driver->wait_driven(1));
  EXPECT_EQ(driver->driven(), std::vector<int64_t>{id});
  ASSERT_TRUE(testing::wait_until([&] { return run(id).status == RunStatus::succeeded; }));
}

TEST_F(ControllerTest, StartRepairsARunWhoseDriverDied) {
  auto orphan = ws.store->create_run({"site", first, first.substr(0, 7), Trigger::manual, ""});
  ASSERT_TRUE(orphan.ok());
  ASSERT_TRUE(ws.store->update_run_status(orphan->id, RunStatus::running).ok());
  Controller ctl(options());
  ctl.start();
  EXPECT_EQ(run(orphan->id).status, RunStatus::failed);
  EXPECT_NE(run(orphan->id).reason.find("interrupted"), std::string::npos);
  EXPECT_TRUE(driver->driven().empty());
}

TEST_F(ControllerTest, ACommitWhoseRunACrashEndedIsQueuedAgain) {
  // A `ztp run` of the tip was killed: its run is still running and nobody holds its lock.
  auto killed = ws.store->create_run({"site", first, first.substr(0, 7), Trigger::manual, ""});
  ASSERT_TRUE(ws.store->update_run_status(killed->id, RunStatus::running).ok());
  Controller ctl(options());
  ctl.start();  // reconciles: the run ends, marked interrupted
  ASSERT_TRUE(run(killed->id).interrupted);
  auto polled = ctl.poll_once();
  ASSERT_TRUE(polled.ok()) << polled.error().message;
  ASSERT_TRUE(polled->has_value()) << "a run ended by a crash is no verdict on its commit";
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(run(**polled).commit_sha, first);
  EXPECT_EQ(run(**polled).status, RunStatus::succeeded);
  // Once it ran to its end, neither the poller nor a webhook runs it again.
  EXPECT_FALSE(ctl.poll_once()->has_value());
  EXPECT_FALSE(ctl.request_run(first, Trigger::webhook, "webhook")->has_value());

  // Killed while the controller runs: the commit is queued again, and the worker ends the dead
  // run before it drives the new one.
  auto died = ws.store->create_run({"site", first, first.substr(0, 7), Trigger::manual, ""});
  ASSERT_TRUE(ws.store->update_run_status(died->id, RunStatus::running).ok());
  auto hooked = ctl.request_run(first, Trigger::webhook, "webhook");
  ASSERT_TRUE(hooked.ok()) << hooked.error().message;
  ASSERT_TRUE(hooked->has_value());
  ASSERT_TRUE(ctl.wait_idle(std::chrono::seconds(10)));
  EXPECT_TRUE(run(died->id).interrupted);
  EXPECT_EQ(run(died->id).status, RunStatus::failed);
  EXPECT_EQ(run(**hooked).status, RunStatus::succeeded);
  EXPECT_EQ(driver->driven(), (std::vector<int64_t>{**polled, **hooked}));
}

TEST_F(ControllerTest, TheDriftScheduleChecksEachEnvironmentByItsInterval) {
  std::mutex mu;
  std::map<std::string, int> checks;
  auto o = options();
  o.drift_check = [&](const spec::Environment& env) {
    std::lock_guard lock(mu);
    ++checks[env.name];
  };
  Controller ctl(std::move(o));
  ctl.start();
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(mu);
    return checks["dev"] >= 3;
  }));
  ctl.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(checks.count("prod"), 0u);  // its interval is 5 minutes
}

TEST_F(ControllerTest, TheReaperRunsAtStartAndAgainWhenTheNextStandbyExpires) {
  using wall = std::chrono::system_clock;
  std::mutex mu;
  std::map<std::string, std::vector<wall::time_point>> calls;
  std::optional<wall::time_point> expiry;
  auto o = options();
  o.reap_recheck = std::chrono::hours(1);  // only the expiry brings it back
  o.reap_standby = [&](const spec::Environment& env) -> std::optional<wall::time_point> {
    std::lock_guard lock(mu);
    calls[env.name].push_back(wall::now());
    if (env.name == "dev" && calls["dev"].size() == 1) {
      expiry = wall::now() + std::chrono::milliseconds(100);
      return expiry;
    }
    return std::nullopt;
  };
  Controller ctl(std::move(o));
  ctl.start();
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(mu);
    return calls["dev"].size() >= 2;
  }));
  ctl.stop();
  std::lock_guard lock(mu);
  ASSERT_EQ(calls["dev"].size(), 2u);
  EXPECT_GE(calls["dev"][1], *expiry);  // not before the standby's window ran out
  EXPECT_EQ(calls["prod"].size(), 1u);  // at start; nothing kept, and the recheck is an hour
}

TEST_F(ControllerTest, TheReaperLooksAgainEveryRecheckForNewStandbySets) {
  std::mutex mu;
  std::map<std::string, int> calls;
  auto o = options();
  o.reap_recheck = std::chrono::milliseconds(20);
  o.reap_standby = [&](const spec::Environment& env) {
    std::lock_guard lock(mu);
    ++calls[env.name];
    return std::optional<std::chrono::system_clock::time_point>();
  };
  Controller ctl(std::move(o));
  ctl.start();
  ASSERT_TRUE(testing::wait_until([&] {
    std::lock_guard lock(mu);
    return calls["dev"] >= 3 && calls["prod"] >= 3;
  }));
}

// --- webhooks ---

TEST_F(ControllerTest, WithNoSecretEveryWebhookIsRefused) {
  Controller ctl(options(""));
  auto res = ctl.handle_github_webhook(push_request("d1", "refs/heads/main", first, {"site/a"}));
  EXPECT_EQ(res.status, 403);
  EXPECT_NE(res.body.find("ZTP_WEBHOOK_SECRET"), std::string::npos) << res.body;
  EXPECT_EQ(run_count(), 0u);
}

TEST_F(ControllerTest, TheSecretComesFromTheEnvironmentBeforeTheSpec) {
  ws.spec.source.webhook_secret = "from-spec";
  ::setenv(source::k_webhook_secret_env, "from-env", 1);
  Controller from_env(options(std::nullopt));
  ::unsetenv(source::k_webhook_secret_env);
  Controller from_spec(options(std::nullopt));
  auto ping = [&](const std::string& delivery, const std::string& secret) {
    return signed_request("ping", delivery, R"({"zen": "z"})", secret);
  };
  EXPECT_EQ(from_env.handle_github_webhook(ping("e1", "from-env")).status, 200);
  EXPECT_EQ(from_env.handle_github_webhook(ping("e2", "from-spec")).status, 401);
  EXPECT_EQ(from_spec.handle_github_webhook(ping("s1", "from-spec")).status, 200);
}

TEST_F(ControllerTest, ABadSignatureIs401AndStartsNothing) {
  Controller ctl(options());
  auto bad = push_request("d1", "refs/heads/main", first, {"site/a"}, "wrong secret");
  EXPECT_EQ(ctl.handle_github_webhook(bad).status, 401);
  auto unsigned_req = push_request("d2", "refs/heads/main", first, {"site/a"});
  unsigned_req.headers.erase("x-hub-signature-256");
  auto res = ctl.handle_github_webhook(unsigned_req);
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("missing X-Hub-Signature-256"), std::string::npos) << res.body;
  auto tampered = push_request("d3", "refs/heads/main", first, {"site/a"});
  tampered.body[5] ^= 0x01;
  EXPECT_EQ(ctl.handle_github_webhook(tampered).status, 401);
  EXPECT_EQ(run_count(), 0u);
  EXPECT_TRUE(ws.store->list_webhook_deliveries()->empty());
}

TEST_F(ControllerTest, AMatchingPushQueuesARunAndAReplayDoesNot) {
  std::string sha = commit_file("site/new.html", "new page");
  Controller ctl(options());
  auto res =
      ctl.handle_github_webhook(push_request("d1", "refs/heads/main", sha, {"site/new.html"}));
  ASSERT_EQ(res.status, 202) << res.body;
  auto body = nlohmann::json::parse(res.body);
  EXPECT_EQ(body["status"], "queued");
  int64_t id = body["run"];
  EXPECT_EQ(run(id).commit_sha, sha);
  EXPECT_EQ(run(id).trigger, Trigger::webhook);
  EXPECT_EQ(ctl.queue_state().queued, id);

  auto replay =
      ctl.handle_github_webhook(push_request("d1", "refs/heads/main", sha, {"site/new.html"}));
  EXPECT_EQ(replay.status, 200);
  EXPECT_NE(replay.body.find("duplicate delivery"), std::string::npos) << replay.body;
  EXPECT_EQ(run_count(), 1u);

  auto deliveries = ws.store->list_webhook_deliveries();
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].outcome, "run " + std::to_string(id));
  EXPECT_EQ((*deliveries)[0].run_id, id);
}

TEST_F(ControllerTest, PushesThatDoNotMatchAre202WithTheReason) {
  std::string sha = commit_file("README.md", "docs");
  Controller ctl(options());
  struct Case {
    Request req;
    std::string says;
  };
  std::vector<Case> cases{
      {push_request("d1", "refs/heads/dev", sha, {"site/a"}), "push to branch dev"},
      {push_request("d2", "refs/tags/v1", sha, {"site/a"}), "is a tag"},
      {push_request("d3", "refs/heads/main", sha, {"README.md"}), "no changed path matches"},
      {push_request("d4", "refs/heads/main", std::string(40, '0'), {}), "was deleted"},
      {push_request("d5", "refs/heads/main", std::string(40, 'a'), {"site/x"}), "is not in"},
      {signed_request("workflow_run", "d6", "{}"), "event workflow_run is not handled"},
  };
  for (auto& c : cases) {
    auto res = ctl.handle_github_webhook(c.req);
    EXPECT_EQ(res.status, 202) << res.body;
    EXPECT_NE(res.body.find(c.says), std::string::npos) << "want " << c.says << " in " << res.body;
    EXPECT_EQ(nlohmann::json::parse(res.body)["status"], "ignored");
  }
  EXPECT_EQ(run_count(), 0u);
  auto deliveries = ws.store->list_webhook_deliveries();
  ASSERT_EQ(deliveries->size(), cases.size());
  for (const auto& d : *deliveries) {
    EXPECT_TRUE(d.outcome.starts_with("ignored: ")) << d.outcome;
  }
}

TEST_F(ControllerTest, APushOfAnotherRepositoryIsRefusedAndAudited) {
  std::string sha = commit_file("site/new.html", "new page");
  Controller ctl(options());
  auto other = ctl.handle_github_webhook(
      push_request("d1", "refs/heads/main", sha, {"site/new.html"}, k_secret, "octo/other"));
  EXPECT_EQ(other.status, 202) << other.body;
  auto body = nlohmann::json::parse(other.body);
  EXPECT_EQ(body["status"], "ignored");
  EXPECT_EQ(body["reason"],
            "push to repository octo/other; ztp follows octo/site (source.github_repository)");
  EXPECT_EQ(run_count(), 0u);
  EXPECT_FALSE(ctl.queue_state().queued);

  auto deliveries = ws.store->list_webhook_deliveries();
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].outcome, "ignored: " + body["reason"].get<std::string>());
  auto audit = ws.store->list_audit();
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].actor, "webhook");
  EXPECT_EQ((*audit)[0].action, "webhook_refused");
  EXPECT_EQ((*audit)[0].target, "repository octo/other");
  EXPECT_NE((*audit)[0].detail.find("delivery d1"), std::string::npos) << (*audit)[0].detail;

  // GitHub's names ignore case.
  auto same = ctl.handle_github_webhook(
      push_request("d2", "refs/heads/main", sha, {"site/new.html"}, k_secret, "Octo/Site"));
  ASSERT_EQ(same.status, 202) << same.body;
  EXPECT_EQ(nlohmann::json::parse(same.body)["status"], "queued");
  EXPECT_EQ(run_count(), 1u);
}

TEST_F(ControllerTest, PushesAreRefusedWhenTheSpecNamesNoRepository) {
  ws.spec.source.github_repository.clear();  // source.repo is a path: no name to compare with
  std::string sha = commit_file("site/new.html", "new page");
  Controller ctl(options());
  auto res =
      ctl.handle_github_webhook(push_request("d1", "refs/heads/main", sha, {"site/new.html"}));
  EXPECT_EQ(res.status, 403) << res.body;
  EXPECT_NE(res.body.find("source.github_repository"), std::string::npos) << res.body;
  EXPECT_EQ(run_count(), 0u);
  auto deliveries = ws.store->list_webhook_deliveries();
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_TRUE((*deliveries)[0].outcome.starts_with("refused: ")) << (*deliveries)[0].outcome;
  auto audit = ws.store->list_audit();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "webhook_refused");
  // A ping still answers, so GitHub's test delivery shows the hook reaches ztp.
  EXPECT_EQ(ctl.handle_github_webhook(signed_request("ping", "p1", R"({"zen": "z"})")).status, 200);
}

TEST_F(ControllerTest, PingIsAnsweredAndMalformedPayloadsAre400) {
  Controller ctl(options());
  std::ifstream example(testing::vector_path("github-webhooks/payload-examples/ping/payload.json"));
  std::string payload{std::istreambuf_iterator<char>(example), {}};
  ASSERT_FALSE(payload.empty());
  auto ping = ctl.handle_github_webhook(signed_request("ping", "p1", payload));
  EXPECT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(nlohmann::json::parse(ping.body)["status"], "pong");

  auto bad = ctl.handle_github_webhook(signed_request("push", "m1", "{\"ref\": "));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("not valid JSON"), std::string::npos) << bad.body;
  auto missing =
      ctl.handle_github_webhook(signed_request("push", "m2", R"({"ref": "refs/heads/main"})"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("before is missing"), std::string::npos) << missing.body;
  auto no_delivery = signed_request("push", "", "{}");
  EXPECT_EQ(ctl.handle_github_webhook(no_delivery).status, 400);
  EXPECT_EQ(run_count(), 0u);
}

}  // namespace
}  // namespace ztp::server
