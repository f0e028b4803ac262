#include "engine/incident_report.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/fake_clock.hpp"
#include "support/support.hpp"
#include "sys/time.hpp"

namespace ztp::engine {
namespace {

using std::chrono::minutes;

store::NewRun new_run(const std::string& sha) {
  store::NewRun r;
  r.app = "demo";
  r.commit_sha = sha;
  r.short_sha = sha.substr(0, 7);
  return r;
}

store::NewRelease new_release(const std::string& digest, const std::string& short_sha) {
  store::NewRelease r;
  r.env = "dev";
  r.digest = digest;
  r.image_ref = "demo:" + short_sha;
  r.short_sha = short_sha;
  r.replicas = 2;
  return r;
}

store::NewEvent new_event(std::optional<int64_t> run, std::optional<std::string> env,
                          std::string kind, std::string message) {
  store::NewEvent e;
  e.run_id = run;
  e.env = std::move(env);
  e.kind = std::move(kind);
  e.message = std::move(message);
  return e;
}

class IncidentReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(dir / "state.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }
  int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock.wall_now().time_since_epoch())
        .count();
  }
  void event(std::optional<int64_t> run, std::optional<std::string> env, std::string kind,
             std::string message) {
    ASSERT_TRUE(
        store->append_event(new_event(run, std::move(env), std::move(kind), std::move(message)))
            .ok());
    clock.advance(minutes(1));
  }

  testing::TempDir dir;
  testing::FakeClock clock;
  std::unique_ptr<store::SqliteStore> store;
};

TEST(ReportSubject, RunOrEnvironment) {
  auto run = parse_report_subject("12");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->run_id, 12);
  auto env = parse_report_subject("prod");
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(env->run_id);
  EXPECT_EQ(env->env, "prod");
  EXPECT_FALSE(parse_report_subject("").ok());
  EXPECT_FALSE(parse_report_subject("99999999999999999999999").ok());
}

TEST(RecordJsonList, IsTheRecordJsonOfEachInOrder) {
  store::EnvHold first{"dev", "incident 1", "alice", 10};
  store::EnvHold second{"prod", "incident 2", "bob", 20};
  auto list = record_json_list(std::vector<store::EnvHold>{first, second});
  EXPECT_EQ(list, nlohmann::json::array({record_json(first), record_json(second)}));
  EXPECT_EQ(record_json_list(std::vector<store::EnvHold>{}), nlohmann::json::array());
}

TEST_F(IncidentReportTest, RunReportHasItsTimelineActionsAndReleases) {
  auto other = store->create_run(new_run("bbbbbbb"));
  ASSERT_TRUE(other.ok());
  auto run = store->create_run(new_run("a1b2c3d4e5"));
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(store->update_run_status(run->id, store::RunStatus::running).ok());
  auto build = store->start_stage(run->id, "build");
  ASSERT_TRUE(build.ok());
  ASSERT_TRUE(store->finish_stage(build->id, store::StageStatus::succeeded).ok());
  auto rollout = store->start_stage(run->id, "rollout", std::string("dev"));
  ASSERT_TRUE(rollout.ok());

  auto good = store->create_release(new_release("sha256:0001", "0000001"));
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(store->set_release_status("dev", good->revision, store::ReleaseStatus::active).ok());
  store::NewRelease bad = new_release("sha256:0002", "a1b2c3d");
  bad.run_id = run->id;
  auto mine = store->create_release(bad);
  ASSERT_TRUE(mine.ok());

  event(run->id, std::nullopt, "run.started", "run started");
  event(other->id, std::string("dev"), "rollout.started", "the other run");
  event(run->id, std::string("dev"), "rollout.started", "rolling 2 replicas | batch 1");
  event(run->id, std::string("dev"), "rollout.failed", "verification failed: 5xx rate 40%");
  ASSERT_TRUE(
      store->set_release_status("dev", mine->revision, store::ReleaseStatus::rolled_back).ok());
  ASSERT_TRUE(store->set_release_status("dev", good->revision, store::ReleaseStatus::active).ok());
  event(run->id, std::string("dev"), "rollback.completed", "dev runs revision 1 again");
  ASSERT_TRUE(store->append_audit("cli", "run", fmt::format("run {}", run->id), "started").ok());
  ASSERT_TRUE(store->append_audit("alice", "isolate", "env dev", "suspected leak").ok());
  ASSERT_TRUE(store->append_audit("bob", "deploy", "env prod", "unrelated").ok());
  ASSERT_TRUE(store->finish_stage(rollout->id, store::StageStatus::failed, "rolled back").ok());
  ASSERT_TRUE(
      store->update_run_status(run->id, store::RunStatus::rolled_back, "verification failed").ok());
  ASSERT_TRUE(store->set_isolation("dev", "suspected leak", "alice").ok());

  auto rep = build_incident_report(*store, {run->id, "", 0, 0}, now_ms());
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  ASSERT_EQ(rep->timeline.size(), 4u);
  EXPECT_EQ(rep->timeline[0].kind, "run.started");
  EXPECT_EQ(rep->timeline[3].kind, "rollback.completed");
  ASSERT_EQ(rep->actions.size(), 2u);
  EXPECT_EQ(rep->actions[0].action, "run");
  EXPECT_EQ(rep->actions[1].action, "isolate");
  // Its own release, and the one a rollback activated during the run.
  ASSERT_EQ(rep->releases.size(), 2u);
  EXPECT_EQ(rep->envs, std::vector<std::string>{"dev"});
  ASSERT_EQ(rep->isolations.size(), 1u);

  std::string md = rep->to_markdown();
  EXPECT_NE(md.find("# Post-incident report: run " + std::to_string(run->id)), std::string::npos);
  EXPECT_NE(md.find("**rolled_back** — verification failed"), std::string::npos);
  EXPECT_NE(md.find("`rollout.failed` | verification failed: 5xx rate 40%"), std::string::npos);
  EXPECT_NE(md.find("rolling 2 replicas \\| batch 1"), std::string::npos);
  EXPECT_EQ(md.find("the other run"), std::string::npos);
  EXPECT_NE(md.find("| alice | isolate | env dev | suspected leak |"), std::string::npos);
  EXPECT_EQ(md.find("unrelated"), std::string::npos);
  EXPECT_NE(md.find("dev revision 2 (a1b2c3d) was rolled back"), std::string::npos);
  EXPECT_NE(md.find("**dev is isolated**"), std::string::npos);
  EXPECT_NE(md.find("| rollout | dev | failed |"), std::string::npos);

  auto j = rep->to_json();
  EXPECT_EQ(j["run"]["status"], "rolled_back");
  EXPECT_EQ(j["timeline"].size(), 4u);
  EXPECT_EQ(j["stages"].size(), 2u);
  EXPECT_EQ(j["releases"][0]["env"], "dev");
}

TEST_F(IncidentReportTest, EnvironmentReportCoversItsSpan) {
  event(std::nullopt, std::string("dev"), "drift.found", "too old to matter");
  int64_t since = now_ms();
  event(std::nullopt, std::string("dev"), "env.isolated", "dev isolated by cli: leak");
  event(std::nullopt, std::string("prod"), "env.isolated", "another environment");
  ASSERT_TRUE(store->append_audit("cli", "isolate", "env dev", "leak").ok());
  auto rep = build_incident_report(*store, {std::nullopt, "dev", since, 0}, now_ms());
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  ASSERT_EQ(rep->timeline.size(), 1u);
  EXPECT_EQ(rep->timeline[0].kind, "env.isolated");
  ASSERT_EQ(rep->actions.size(), 1u);
  std::string md = rep->to_markdown();
  EXPECT_NE(md.find("# Post-incident report: environment dev"), std::string::npos);
  EXPECT_NE(md.find("### Rollbacks\n\nNone."), std::string::npos);
  EXPECT_EQ(md.find("too old"), std::string::npos);
}

TEST_F(IncidentReportTest, EnvironmentReportEndsWhenItIsWritten) {
  int64_t since = now_ms();
  event(std::nullopt, std::string("dev"), "env.isolated", "dev isolated by cli: leak");
  int64_t now = now_ms();
  auto rep = build_incident_report(*store, {std::nullopt, "dev", since, 0}, now);
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  EXPECT_EQ(rep->to_json()["since"], since);
  EXPECT_EQ(rep->to_json()["until"], now);
  std::string md = rep->to_markdown();
  auto covers = md.find("Covers ");
  ASSERT_NE(covers, std::string::npos) << md;
  std::string line = md.substr(covers, md.find('\n', covers) - covers);
  EXPECT_EQ(line.find("1970"), std::string::npos) << line;
  EXPECT_NE(
      line.find(fmt::format("to {}", sys::format_rfc3339(std::chrono::system_clock::time_point(
                                         std::chrono::milliseconds(now))))),
      std::string::npos)
      << line;
}

TEST_F(IncidentReportTest, UnknownRunIsNotFound) {
  auto rep = build_incident_report(*store, {42, "", 0, 0}, now_ms());
  ASSERT_FALSE(rep.ok());
  EXPECT_EQ(rep.error().code, Errc::not_found);
}

}  // namespace
}  // namespace ztp::engine
