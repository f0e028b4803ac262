#include "engine/pipeline.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "engine/env_lock.hpp"
#include "spec/parse.hpp"
#include "support/fake_target.hpp"
#include "support/support.hpp"
#include "unit/source/git_test_repo.hpp"

namespace ztp::engine {
namespace {

using store::RunStatus;
using store::StageStatus;
using Weights = std::map<std::string, int>;

// A git repository with a one-page site and a ztp.yaml of two environments (dev, prod) on a
// fake target and a fake clock; the real store, builder and layout store.
class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("git", "git");
    git_repo.emplace(dir / "repo");
    testing::write_text(repo() / "site" / "index.html", "v1\n");
    testing::write_text(repo() / "README.md", "notes\n");
    use_prod_gate("auto");
    git_repo->commit("first");
    auto opened = store::SqliteStore::open(home() / "state.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }

  std::filesystem::path repo() const { return dir / "repo"; }
  std::filesystem::path home() const { return dir / "home"; }

  void use_prod_gate(const std::string& gate) {
    testing::write_text(repo() / "ztp.yaml", R"(app: site
source: {repo: ., branch: main, paths: ["site/**", "ztp.yaml"]}
build: {command: ["serve"]}
service: {start_timeout: 3s}
environments:
  - {name: dev, listen: "127.0.0.1:18081", replicas: 2}
  - {name: prod, listen: "127.0.0.1:18083", replicas: 2, gate: )" +
                                                 gate + "}\n");
    auto loaded = spec::load_spec(repo() / "ztp.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    spec = std::make_unique<spec::Spec>(std::move(*loaded));
  }

  void commit(const std::string& message) { git_repo->commit(message); }

  Pipeline pipeline() {
    return Pipeline{
        .spec = *spec,
        .home = home(),
        .store = *store,
        .clock = clock,
        .target_for = [this](const std::string&) -> Result<target::Target*> { return &target; },
        .progress = [this](const ProgressEvent& e) { kinds.push_back(e.kind); },
        .on_wait = {},
        .wait_for_approval = false,
        .wait_when_held = false,
        .stop_requested = {},
        .approval_poll = std::chrono::milliseconds(100),
        .actor = "test",
    };
  }

  // Starts a run of the tip (when it triggers) and drives it.
  Result<RunResult> run(bool always = false) {
    auto p = pipeline();
    auto repo_opened = source::GitRepo::open(repo());
    if (!repo_opened.ok()) {
      return repo_opened.take_error();
    }
    RunRequest req;
    req.always = always;
    auto check = check_trigger(p, *repo_opened, req);
    if (!check.ok()) {
      return check.take_error();
    }
    if (!check->triggers) {
      return make_error(Errc::conflict, "no trigger: " + check->reason);
    }
    auto created = create_run(p, check->commit, req);
    if (!created.ok()) {
      return created.take_error();
    }
    return drive_run(p, created->id);
  }

  std::vector<std::string> stage_names(int64_t run_id) {
    std::vector<std::string> out;
    auto stages = store->list_stages(run_id);
    EXPECT_TRUE(stages.ok());
    for (const auto& s : *stages) {
      out.push_back(s.name + (s.env ? ":" + *s.env : "") + "=" +
                    std::string(store::to_string(s.status)));
    }
    return out;
  }

  testing::TempDir dir;
  std::optional<source::test::GitTestRepo> git_repo;  // at repo()
  testing::FakeClock clock;
  testing::FakeTarget target{clock};
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<spec::Spec> spec;
  std::vector<std::string> kinds;
};

TEST_F(PipelineTest, RunsEveryEnvironmentInOrderAndRecordsEachStage) {
  auto result = run();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::succeeded);
  EXPECT_FALSE(result->error);
  EXPECT_EQ(stage_names(result->run.id),
            (std::vector<std::string>{"build=succeeded", "push=skipped", "rollout:dev=succeeded",
                                      "verify:dev=skipped", "rollout:prod=succeeded",
                                      "verify:prod=skipped"}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(target.weights("prod"), (Weights{{"1", 100}}));
  ASSERT_EQ(result->envs.size(), 2u);
  EXPECT_EQ(result->envs[1].status, "succeeded");
  EXPECT_EQ(result->envs[1].revision, 1);
  EXPECT_EQ(result->envs[1].url, "http://127.0.0.1:18083/");
  EXPECT_TRUE(result->run.digest.starts_with("sha256:"));
  EXPECT_EQ((*store->get_last_known_good("prod"))->digest, result->run.digest);
}

TEST_F(PipelineTest, TriggersOnlyOnMatchingChangesSinceTheLastRun) {
  ASSERT_TRUE(run().ok());
  auto again = run();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already ran as run 1"), std::string::npos)
      << again.error().message;

  testing::write_text(repo() / "README.md", "more notes\n");
  commit("notes only");
  auto notes = run();
  ASSERT_FALSE(notes.ok());
  EXPECT_NE(notes.error().message.find("README.md"), std::string::npos) << notes.error().message;

  // A site change followed by a notes change: the run of the tip still deploys the site.
  testing::write_text(repo() / "site" / "index.html", "v2\n");
  commit("v2");
  testing::write_text(repo() / "README.md", "even more notes\n");
  commit("notes again");
  auto both = run();
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->run.status, RunStatus::succeeded);
  EXPECT_TRUE(run(/*always=*/true).ok());
}

TEST_F(PipelineTest, ApprovalGateWaitsAndTheRunContinuesOnceApproved) {
  use_prod_gate("approval");
  auto waiting = run();
  ASSERT_TRUE(waiting.ok()) << waiting.error().message;
  EXPECT_EQ(waiting->run.status, RunStatus::awaiting_approval);
  EXPECT_EQ(waiting->envs[1].status, "awaiting_approval");
  EXPECT_TRUE(target.weights("prod").empty()) << "prod must not be touched before approval";
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));

  ASSERT_TRUE(store->decide_approval(waiting->run.id, store::ApprovalStatus::approved, "ops").ok());
  auto p = pipeline();
  auto done = drive_run(p, waiting->run.id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->run.status, RunStatus::succeeded);
  EXPECT_EQ(target.weights("prod"), (Weights{{"1", 100}}));
  auto names = stage_names(waiting->run.id);
  EXPECT_EQ(std::count(names.begin(), names.end(), "build=succeeded"), 1) << "built once";
  EXPECT_EQ(std::count(names.begin(), names.end(), "rollout:dev=succeeded"), 1)
      << "dev is not rolled again";
  EXPECT_NE(std::find(names.begin(), names.end(), "gate:prod=succeeded"), names.end());
}

TEST_F(PipelineTest, RejectedGateCancelsTheRun) {
  use_prod_gate("approval");
  auto waiting = run();
  ASSERT_TRUE(waiting.ok());
  ASSERT_TRUE(
      store->decide_approval(waiting->run.id, store::ApprovalStatus::rejected, "ops", "not today")
          .ok());
  auto p = pipeline();
  auto done = drive_run(p, waiting->run.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->run.status, RunStatus::cancelled);
  ASSERT_TRUE(done->error);
  EXPECT_EQ(done->error->code, Errc::refused);
  EXPECT_NE(done->run.reason.find("not today"), std::string::npos);
  EXPECT_TRUE(target.weights("prod").empty());
}

TEST_F(PipelineTest, ANewerRunSupersedesOneWaitingAtAGate) {
  use_prod_gate("approval");
  auto first = run();
  ASSERT_TRUE(first.ok());
  testing::write_text(repo() / "site" / "index.html", "v2\n");
  commit("v2");
  auto second = run();
  ASSERT_TRUE(second.ok());
  auto old = store->get_run(first->run.id);
  EXPECT_EQ(old->status, RunStatus::cancelled);
  EXPECT_NE(old->reason.find("superseded by run 2"), std::string::npos) << old->reason;
}

TEST_F(PipelineTest, FailedEnvironmentRollsBackAndLaterOnesAreNeverTouched) {
  ASSERT_TRUE(run().ok());
  testing::write_text(repo() / "site" / "index.html", "v2\n");
  commit("v2");
  target.never_healthy = {"2"};
  auto failed = run();
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_EQ(failed->run.status, RunStatus::rolled_back);
  ASSERT_TRUE(failed->error);
  EXPECT_EQ(failed->error->code, Errc::rolled_back);
  EXPECT_TRUE(failed->error->message.starts_with("dev: ")) << failed->error->message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(target.weights("prod"), (Weights{{"1", 100}}));
  auto prod_releases = store->list_releases("prod");
  EXPECT_EQ(prod_releases->size(), 1u) << "prod got no release";
  EXPECT_EQ(failed->envs[1].status, "not_reached");
}

TEST_F(PipelineTest, ReconcileRollsBackWhatADeadDriverLeftHalfDone) {
  ASSERT_TRUE(run().ok());
  // A driver that died half-way through dev: release 2 at 50%, its run still running.
  auto dead =
      store->create_run({"site", std::string(40, 'b'), "bbbbbbb", store::Trigger::manual, ""});
  ASSERT_TRUE(store->update_run_status(dead->id, RunStatus::running).ok());
  ASSERT_TRUE(store->start_stage(dead->id, "rollout", std::string("dev")).ok());
  store::NewRelease nr;
  nr.env = "dev";
  nr.digest = "sha256:" + std::string(64, 'b');
  nr.image_ref = "bbbbbbb";
  nr.run_id = dead->id;
  ASSERT_TRUE(store->create_release(nr).ok());
  ASSERT_TRUE(store->set_release_status("dev", 2, store::ReleaseStatus::deploying).ok());
  ASSERT_TRUE(target.add_replicas({"dev", "2", nr.digest}, 1).ok());
  clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(target.set_weights("dev", {{"1", 50}, {"2", 50}}).ok());

  auto p = pipeline();
  auto repairs = reconcile(p);
  ASSERT_TRUE(repairs.ok()) << repairs.error().message;
  ASSERT_EQ(repairs->size(), 2u);
  EXPECT_EQ((*repairs)[0].env, "dev");
  EXPECT_NE((*repairs)[0].what.find("dev rolled back to revision 1"), std::string::npos)
      << (*repairs)[0].what;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(store->get_release("dev", 2)->status, store::ReleaseStatus::failed);
  EXPECT_EQ(store->get_release("dev", 1)->status, store::ReleaseStatus::active);
  auto ended = store->get_run(dead->id);
  EXPECT_EQ(ended->status, RunStatus::rolled_back);
  EXPECT_TRUE(ended->interrupted);
  EXPECT_NE(ended->reason.find("interrupted during rollout of dev"), std::string::npos)
      << ended->reason;
  // Nothing more to do the second time.
  EXPECT_TRUE(reconcile(p)->empty());
}

TEST_F(PipelineTest, ACommitWhoseRunWasInterruptedRunsAgain) {
  ASSERT_TRUE(run().ok());
  testing::write_text(repo() / "site" / "index.html", "v2\n");
  commit("v2");
  auto tip = source::GitRepo::open(repo())->branch_tip("main");
  ASSERT_TRUE(tip.ok());
  // Its driver died: the run of v2 is still running, its lock free.
  auto dead = store->create_run({"site", tip->sha, tip->short_sha, store::Trigger::manual, ""});
  ASSERT_TRUE(store->update_run_status(dead->id, RunStatus::running).ok());
  auto p = pipeline();
  auto last = last_runs(p);
  ASSERT_TRUE(last.ok()) << last.error().message;
  ASSERT_TRUE(last->of_record && last->interrupted);
  EXPECT_EQ(last->of_record->id, 1);
  EXPECT_EQ(last->interrupted->id, dead->id);

  auto repairs = reconcile(p);
  ASSERT_TRUE(repairs.ok()) << repairs.error().message;
  auto ended = store->get_run(dead->id);
  EXPECT_EQ(ended->status, RunStatus::failed);
  EXPECT_TRUE(ended->interrupted);
  EXPECT_FALSE(store->get_run(1)->interrupted);

  // The next run is of the same commit, and deploys it.
  auto again = run();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->run.commit_sha, tip->sha);
  EXPECT_EQ(again->run.status, RunStatus::succeeded);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  auto done = run();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.error().message.find("already ran as run 3 (succeeded)"), std::string::npos)
      << done.error().message;
}

TEST_F(PipelineTest, ReconcileLeavesLiveDriversAndWaitingRunsAlone) {
  auto live =
      store->create_run({"site", std::string(40, 'c'), "ccccccc", store::Trigger::manual, ""});
  ASSERT_TRUE(store->update_run_status(live->id, RunStatus::running).ok());
  auto held = EnvLock::acquire_run(home(), live->id, "another ztp run");
  ASSERT_TRUE(held.ok()) << held.error().message;
  auto waiting =
      store->create_run({"site", std::string(40, 'd'), "ddddddd", store::Trigger::manual, ""});
  ASSERT_TRUE(store->update_run_status(waiting->id, RunStatus::awaiting_approval).ok());

  auto p = pipeline();
  auto repairs = reconcile(p);
  ASSERT_TRUE(repairs.ok()) << repairs.error().message;
  EXPECT_TRUE(repairs->empty());
  EXPECT_EQ(store->get_run(live->id)->status, RunStatus::running);
  EXPECT_EQ(store->get_run(waiting->id)->status, RunStatus::awaiting_approval);
  auto driven = drive_run(p, live->id);
  ASSERT_FALSE(driven.ok());
  EXPECT_EQ(driven.error().code, Errc::conflict);
  EXPECT_NE(driven.error().message.find("another ztp run"), std::string::npos);
}

}  // namespace
}  // namespace ztp::engine
