#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <thread>

#include "engine/bad_marks.hpp"
#include "engine/holds.hpp"
#include "engine/pipeline.hpp"
#include "spec/parse.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_target.hpp"
#include "support/support.hpp"
#include "unit/source/git_test_repo.hpp"

// A run reaching a held environment's gate: a freeze or a deploy window keeps it waiting (or,
// when it may not wait, ends it refused), and lifting the hold lets it go on; an image marked
// bad in the environment is refused there before any approval is asked.
namespace ztp::engine {
namespace {

using store::RunStatus;

// A git repository with a one-page site and two environments (dev, prod: `prod_extra` is
// added to prod's mapping) on a fake target and a fake clock, which starts on Friday
// 2027-01-15 08:00 UTC.
class PipelineHoldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("git", "git");
    git_repo.emplace(dir / "repo");
    testing::write_text(repo() / "site" / "index.html", "v1\n");
    use_prod("");
    git_repo->commit("first");
    auto opened = store::SqliteStore::open(home() / "state.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }

  std::filesystem::path repo() const { return dir / "repo"; }
  std::filesystem::path home() const { return dir / "home"; }

  void use_prod(const std::string& prod_extra) {
    testing::write_text(repo() / "ztp.yaml", R"(app: site
source: {repo: ., branch: main}
build: {command: ["serve"]}
service: {start_timeout: 3s}
environments:
  - {name: dev, listen: "127.0.0.1:18081"}
  - name: prod
    listen: "127.0.0.1:18083"
)" + prod_extra);
    auto loaded = spec::load_spec(repo() / "ztp.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    spec = std::make_unique<spec::Spec>(std::move(*loaded));
  }

  Pipeline pipeline(bool wait) {
    return Pipeline{
        .spec = *spec,
        .home = home(),
        .store = *store,
        .clock = clock,
        .target_for = [this](const std::string&) -> Result<target::Target*> { return &target; },
        .progress = {},
        .on_wait = {},
        .wait_for_approval = wait,
        .wait_when_held = wait,
        .stop_requested = {},
        .approval_poll = std::chrono::milliseconds(100),
        .actor = "test",
    };
  }

  // A new run of the tip.
  int64_t create(Pipeline& p) {
    auto repo_opened = source::GitRepo::open(repo());
    EXPECT_TRUE(repo_opened.ok());
    auto commit = repo_opened->branch_tip("main");
    EXPECT_TRUE(commit.ok());
    auto run = create_run(p, *commit, RunRequest{});
    EXPECT_TRUE(run.ok()) << run.error().message;
    return run.ok() ? run->id : 0;
  }

  // The run's events of `kind`, as the store has them.
  std::vector<store::Event> events(int64_t run_id, const std::string& kind) {
    store::EventFilter filter;
    filter.run_id = run_id;
    auto all = store->list_events(filter);
    EXPECT_TRUE(all.ok());
    std::vector<store::Event> out;
    for (const auto& e : all.value_or(std::vector<store::Event>{})) {
      if (e.kind == kind) {
        out.push_back(e);
      }
    }
    return out;
  }

  std::string gate_status(int64_t run_id) {
    auto stages = store->list_stages(run_id);
    EXPECT_TRUE(stages.ok());
    std::string out;
    for (const auto& s : stages.value_or(std::vector<store::Stage>{})) {
      if (s.name == "gate" && s.env == "prod") {
        out = std::string(store::to_string(s.status));
      }
    }
    return out;
  }

  size_t prod_releases() {
    auto releases = store->list_releases("prod");
    EXPECT_TRUE(releases.ok());
    return releases.ok() ? releases->size() : 0;
  }

  testing::TempDir dir;
  std::optional<source::test::GitTestRepo> git_repo;  // at repo()
  testing::FakeClock clock;
  testing::FakeTarget target{clock};
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<spec::Spec> spec;
};

TEST_F(PipelineHoldsTest, FrozenEnvironmentHoldsTheRunUntilUnfrozen) {
  ASSERT_TRUE(store->set_freeze("prod", "incident 42", "alice").ok());
  auto p = pipeline(/*wait=*/true);
  int64_t run_id = create(p);
  Result<RunResult> result = make_error(Errc::internal, "not driven");
  std::thread driver([&] { result = drive_run(p, run_id); });

  bool held = testing::wait_until([&] { return !events(run_id, "gate.held").empty(); });
  if (!held) {
    ASSERT_TRUE(store->clear_freeze("prod").ok());
    driver.join();
    FAIL() << "the run never reached prod's gate";
  }
  auto shown = events(run_id, "gate.held").front();
  EXPECT_EQ(shown.message,
            fmt::format("run {} waits at the gate: prod is frozen by alice: incident 42 "
                        "(`ztp unfreeze prod` lifts it)",
                        run_id));
  EXPECT_EQ(shown.env, "prod");
  auto run = store->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::running);
  EXPECT_NE(run->reason.find("incident 42"), std::string::npos) << run->reason;
  EXPECT_EQ(gate_status(run_id), "running");
  auto described = describe_run(p, run_id);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->envs[0].status, "succeeded");
  EXPECT_EQ(described->envs[1].status, "held");
  EXPECT_EQ(prod_releases(), 0u) << "prod must not be touched while frozen";
  // It keeps waiting: the clock moves on and the gate stays shut.
  auto before = clock.wall_now();
  ASSERT_TRUE(
      testing::wait_until([&] { return clock.wall_now() > before + std::chrono::minutes(1); }));
  EXPECT_EQ(prod_releases(), 0u);

  ASSERT_TRUE(store->clear_freeze("prod").ok());
  driver.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::succeeded);
  EXPECT_EQ(result->envs[1].status, "succeeded");
  EXPECT_EQ(events(run_id, "gate.held").size(), 1u) << "the reason is announced once";
  EXPECT_EQ(events(run_id, "gate.released").size(), 1u);
  EXPECT_EQ(gate_status(run_id), "succeeded");
  EXPECT_EQ(prod_releases(), 1u);
}

TEST_F(PipelineHoldsTest, ARunThatMayNotWaitEndsRefusedAtAFrozenGate) {
  ASSERT_TRUE(store->set_freeze("prod", "incident 42", "alice").ok());
  auto p = pipeline(/*wait=*/false);
  auto result = drive_run(p, create(p));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::cancelled);
  ASSERT_TRUE(result->error);
  EXPECT_EQ(result->error->code, Errc::refused);
  EXPECT_EQ(exit_code(result->error->code), 14);
  EXPECT_EQ(result->error->message,
            "held at prod's gate, and the run may not wait: prod is frozen by alice: incident 42 "
            "(`ztp unfreeze prod` lifts it)");
  EXPECT_EQ(result->run.reason, result->error->message);
  EXPECT_EQ(result->envs[0].status, "succeeded");
  // Nobody rejected it: the summary says cancelled, and why.
  EXPECT_EQ(result->envs[1].status, "cancelled");
  EXPECT_EQ(result->envs[1].detail, result->error->message);
  EXPECT_EQ(gate_status(result->run.id), "failed");
  EXPECT_EQ(prod_releases(), 0u);
}

TEST_F(PipelineHoldsTest, ARejectedGateStaysRejected) {
  use_prod("    gate: approval\n");
  auto p = pipeline(/*wait=*/false);
  int64_t run_id = create(p);
  ASSERT_TRUE(drive_run(p, run_id).ok());
  ASSERT_TRUE(store->decide_approval(run_id, store::ApprovalStatus::rejected, "bob").ok());
  auto result = drive_run(p, run_id);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::cancelled);
  EXPECT_EQ(result->envs[1].status, "rejected");
}

TEST_F(PipelineHoldsTest, ARunHeldAtAGateSaysWhereWhyAndSinceWhen) {
  ASSERT_TRUE(store->set_freeze("prod", "incident 42", "alice").ok());
  auto p = pipeline(/*wait=*/true);
  p.stop_requested = [] { return true; };  // parks it at the gate, queued
  int64_t run_id = create(p);
  auto parked = drive_run(p, run_id);
  ASSERT_TRUE(parked.ok()) << parked.error().message;
  ASSERT_EQ(parked->run.status, RunStatus::queued);

  auto held = held_run(*store, *spec, parked->run, clock.wall_now());
  ASSERT_TRUE(held.ok()) << held.error().message;
  ASSERT_TRUE(held->has_value());
  const auto& h = **held;
  EXPECT_EQ(h.env, "prod");
  ASSERT_EQ(h.holds.size(), 1u);
  EXPECT_EQ(h.holds[0].actor, "alice");
  EXPECT_EQ(h.describe(),
            "held at prod's gate since 2027-01-15 08:00 UTC: prod is frozen by alice: incident "
            "42 (`ztp unfreeze prod` lifts it)");
  auto j = h.to_json();
  EXPECT_EQ(j["env"], "prod");
  EXPECT_EQ(j["holds"][0]["reason"], "incident 42");
  EXPECT_EQ(j["message"], h.describe());

  // Lifted: it no longer names a hold, but says it goes on.
  ASSERT_TRUE(store->clear_freeze("prod").ok());
  auto lifted = held_run(*store, *spec, parked->run, clock.wall_now());
  ASSERT_TRUE(lifted.ok() && lifted->has_value());
  EXPECT_TRUE((*lifted)->holds.empty());
  EXPECT_NE((*lifted)->describe().find("no hold is left"), std::string::npos);

  // A finished run waits nowhere.
  auto next = pipeline(/*wait=*/true);
  auto done = drive_run(next, run_id);
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_EQ(done->run.status, RunStatus::succeeded);
  auto none = held_run(*store, *spec, done->run, clock.wall_now());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PipelineHoldsTest, AStopRequestedWhileHeldPutsTheRunBackInTheQueue) {
  ASSERT_TRUE(store->set_freeze("prod", "incident 42", "alice").ok());
  auto p = pipeline(/*wait=*/true);
  p.stop_requested = [] { return true; };  // a controller shutting down
  int64_t run_id = create(p);
  auto parked = drive_run(p, run_id);
  ASSERT_TRUE(parked.ok()) << parked.error().message;
  EXPECT_EQ(parked->run.status, RunStatus::queued);
  EXPECT_NE(parked->run.reason.find("incident 42"), std::string::npos) << parked->run.reason;
  EXPECT_EQ(gate_status(run_id), "running") << "the gate stays open for the next driver";
  EXPECT_EQ(prod_releases(), 0u);

  // The next driver finds the gate open and goes on once the freeze is lifted.
  ASSERT_TRUE(store->clear_freeze("prod").ok());
  auto next = pipeline(/*wait=*/true);
  auto result = drive_run(next, run_id);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::succeeded);
  EXPECT_EQ(gate_status(run_id), "succeeded");
  EXPECT_EQ(prod_releases(), 1u);
}

TEST_F(PipelineHoldsTest, DeployWindowHoldsTheRunUntilItOpens) {
  use_prod(R"(    deploy_windows:
      timezone: UTC
      deny: [{from: Fri 07:30, to: Fri 09:00, reason: morning traffic}]
)");
  auto opens = clock.wall_now() + std::chrono::hours(1);  // Friday 09:00 UTC
  auto p = pipeline(/*wait=*/true);
  int64_t run_id = create(p);
  auto result = drive_run(p, run_id);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->run.status, RunStatus::succeeded);
  EXPECT_GE(clock.wall_now(), opens);
  auto held = events(run_id, "gate.held");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_NE(held[0].message.find("prod is in a deploy window until Fri 2027-01-15 09:00 UTC: "
                                 "morning traffic"),
            std::string::npos)
      << held[0].message;
  auto releases = store->list_releases("prod");
  ASSERT_TRUE(releases.ok());
  ASSERT_EQ(releases->size(), 1u);
  EXPECT_GE(releases->front().created_at,
            std::chrono::duration_cast<std::chrono::milliseconds>(opens.time_since_epoch()).count())
      << "prod was rolled only once the window opened";
}

TEST_F(PipelineHoldsTest, AFreezeDuringTheApprovalWaitHoldsTheApprovedRun) {
  use_prod("    gate: approval\n");
  auto waiting = pipeline(/*wait=*/false);
  int64_t run_id = create(waiting);
  auto asked = drive_run(waiting, run_id);
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(asked->run.status, RunStatus::awaiting_approval);

  ASSERT_TRUE(store->set_freeze("prod", "change freeze", "bob").ok());
  ASSERT_TRUE(store->decide_approval(run_id, store::ApprovalStatus::approved, "ops").ok());
  auto resumed = drive_run(waiting, run_id);
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed->run.status, RunStatus::cancelled);
  ASSERT_TRUE(resumed->error);
  EXPECT_EQ(resumed->error->code, Errc::refused);
  EXPECT_NE(resumed->error->message.find("change freeze"), std::string::npos);
  EXPECT_EQ(prod_releases(), 0u) << "an approval does not lift a freeze";
}

TEST_F(PipelineHoldsTest, AnImageMarkedBadIsRefusedAtTheGateBeforeAnyoneIsAskedToApprove) {
  use_prod("    gate: approval\n");
  auto p = pipeline(/*wait=*/false);
  int64_t first = create(p);
  auto asked = drive_run(p, first);
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  ASSERT_EQ(asked->run.status, RunStatus::awaiting_approval);
  const std::string digest = asked->run.digest;
  const std::string short_digest = digest.substr(0, 19);
  ASSERT_TRUE(store->mark_bad(digest, "canary failed its analysis", std::string("prod")).ok());

  int64_t second = create(p);  // the same commit, so the same image
  auto refused = drive_run(p, second);
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->run.status, RunStatus::cancelled);
  ASSERT_TRUE(refused->error);
  EXPECT_EQ(refused->error->code, Errc::refused);
  EXPECT_NE(refused->error->message.find(fmt::format(
                "its image {} is marked bad in prod (canary failed its analysis)", short_digest)),
            std::string::npos)
      << refused->error->message;
  EXPECT_NE(refused->error->message.find(fmt::format("`ztp unmark prod {}`", short_digest)),
            std::string::npos)
      << refused->error->message;
  // Nobody was asked: no approval row, no waiting event; the refusal is recorded.
  auto approval = store->get_approval(second, std::string("prod"));
  ASSERT_FALSE(approval.ok());
  EXPECT_EQ(approval.error().code, Errc::not_found);
  EXPECT_TRUE(events(second, "gate.waiting").empty());
  auto shown = events(second, "gate.refused");
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].env, std::optional<std::string>("prod"));
  EXPECT_EQ(nlohmann::json::parse(shown[0].data)["digest"], digest);
  EXPECT_EQ(gate_status(second), "failed");
  EXPECT_EQ(prod_releases(), 0u);

  // Unmarked (by its short digest, as `ztp unmark` takes it), a later run passes the check and
  // waits for its approval.
  auto unmarked = unmark_image(*spec, home(), *store, "prod", short_digest, "alice");
  ASSERT_TRUE(unmarked.ok()) << unmarked.error().message;
  EXPECT_TRUE(unmarked->removed);
  EXPECT_FALSE(store->is_bad(digest, std::string("prod")).value_or(true));
  int64_t third = create(p);
  auto waits = drive_run(p, third);
  ASSERT_TRUE(waits.ok()) << waits.error().message;
  EXPECT_EQ(waits->run.status, RunStatus::awaiting_approval);
  EXPECT_TRUE(store->get_approval(third, std::string("prod")).ok());
}

}  // namespace
}  // namespace ztp::engine
