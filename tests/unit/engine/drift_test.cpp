#include "engine/drift.hpp"

#include <gtest/gtest.h>

#include "drift_target.hpp"
#include "engine/env_lock.hpp"
#include "engine_fixture.hpp"
#include "target/local/release_files.hpp"

namespace ztp::engine::test {
namespace {

constexpr const char* k_digest =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

class DriftTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    revision = land(k_digest);
    ASSERT_TRUE(record_desired_state(*store, env(), std::to_string(revision)).ok());
    journal_before = target.journal.size();
  }

  DriftContext ctx() {
    return DriftContext{spec,
                        home(),
                        *store,
                        clock,
                        [this](const std::string&) -> Result<target::Target*> { return &drift; },
                        progress};
  }

  DriftReport detect() {
    auto r = detect_drift(ctx(), env());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : DriftReport{};
  }

  DriftReport fix() {
    auto r = fix_drift(ctx(), env());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : DriftReport{};
  }

  std::vector<std::string> replica_ids() {
    std::vector<std::string> ids;
    auto obs = target.observe("dev");
    for (const auto& set : obs->sets) {
      for (const auto& r : set.replicas) {
        ids.push_back(r.id);
      }
    }
    return ids;
  }

  std::vector<std::string> kinds(const std::vector<DriftFinding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) {
      out.emplace_back(drift_kind_name(f.kind));
    }
    return out;
  }

  int events_of(const std::string& kind) {
    auto events = store->list_events({});
    return static_cast<int>(std::count_if(events->begin(), events->end(),
                                          [&](const store::Event& e) { return e.kind == kind; }));
  }

  // The fake's changes since the drift set up.
  std::vector<std::string> changes() const {
    return {target.journal.begin() + static_cast<std::ptrdiff_t>(journal_before),
            target.journal.end()};
  }

  // The fewest healthy serving replicas after any change since the drift set up.
  int min_serving_since(size_t from) const {
    int least = 1000;
    for (size_t i = from; i < target.serving_history.size(); ++i) {
      least = std::min(least, target.serving_history[i]);
    }
    return least;
  }

  // Release 2 takes over; release 1 is kept warm beside it at weight 0 (blue-green's
  // keep_previous). Returns the standby's replicas; the fake's changes count from here.
  std::vector<std::string> keep_standby() {
    constexpr const char* k_next =
        "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    int64_t next = land(k_next);
    EXPECT_TRUE(record_desired_state(*store, env(), std::to_string(next)).ok());
    auto standby = target.add_replicas({"dev", std::to_string(revision), k_digest}, 2);
    EXPECT_TRUE(standby.ok());
    EXPECT_TRUE(target.set_weights("dev", {{std::to_string(next), 100}}).ok());
    journal_before = target.journal.size();
    return standby.ok() ? *standby : std::vector<std::string>{};
  }

  testing::DriftTarget drift{target};
  int64_t revision = 0;
  size_t journal_before = 0;
};

TEST_F(DriftTest, AFreshDeployIsInSyncAndTheCheckIsKept) {
  auto r = detect();
  EXPECT_TRUE(r.in_sync()) << r.to_markdown();
  EXPECT_EQ(r.revision, revision);
  EXPECT_EQ(r.desired_replicas, 2);
  auto saved = store->list_drift_reports("dev");
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->size(), 1u);
  EXPECT_TRUE(saved->front().in_sync);
  EXPECT_EQ(saved->front().trigger, "manual");
  EXPECT_NE(saved->front().markdown.find("In sync"), std::string::npos);
  EXPECT_EQ(events_of("drift.found"), 0);
}

TEST_F(DriftTest, AKilledReplicaIsFoundAndReplacedBeforeItIsRemoved) {
  auto dead = replica_ids().front();
  drift.killed.insert(dead);

  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"replica_down"}) << found.to_markdown();
  EXPECT_EQ(found.findings[0].replicas, std::vector<std::string>{dead});
  EXPECT_NE(found.findings[0].fix.find("start a replacement"), std::string::npos);
  EXPECT_EQ(events_of("drift.found"), 1);

  size_t serving_from = target.serving_history.size();
  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(fixed.findings.at(0).outcome, "fixed");
  EXPECT_EQ(changes(), (std::vector<std::string>{"add 1 1", "remove 1"}));
  EXPECT_GE(min_serving_since(serving_from), 1);
  EXPECT_EQ(events_of("drift.fixed"), 1);
  EXPECT_TRUE(detect().in_sync());
  EXPECT_EQ(replica_ids().size(), 2u);
}

TEST_F(DriftTest, AnExtraReplicaIsStopped) {
  auto extra = target.add_replicas({"dev", std::to_string(revision), k_digest}, 1);
  ASSERT_TRUE(extra.ok());
  journal_before = target.journal.size();

  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"replica_extra"})
      << found.to_markdown();
  EXPECT_EQ(found.findings[0].replicas, *extra);

  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(changes(), std::vector<std::string>{"remove 1"});
  EXPECT_EQ(replica_ids().size(), 2u);
  EXPECT_TRUE(detect().in_sync());
}

TEST_F(DriftTest, ReplicasOfAnUnknownReleaseAreExtra) {
  ASSERT_TRUE(target.add_replicas({"dev", "99", "sha256:ff"}, 1).ok());
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"replica_extra"})
      << found.to_markdown();
  EXPECT_NE(found.findings[0].observed.find("release 99"), std::string::npos);
  EXPECT_TRUE(fix().repaired());
}

TEST_F(DriftTest, AStandbySetWithAReplicaDownIsStoppedWhole) {
  auto standby = keep_standby();
  ASSERT_EQ(standby.size(), 2u);
  EXPECT_TRUE(detect().in_sync()) << "a whole standby set is not drift";

  drift.killed.insert(standby.front());
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"standby_degraded"})
      << found.to_markdown();
  EXPECT_EQ(found.findings[0].where, "standby release " + std::to_string(revision) + " of dev");
  EXPECT_EQ(found.findings[0].replicas, std::vector<std::string>{standby.front()});
  EXPECT_NE(found.findings[0].fix.find("rolls it out afresh"), std::string::npos);

  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  // Release 1's set goes (the fake journals one line per release); nothing is started.
  EXPECT_EQ(changes(), std::vector<std::string>{"remove " + std::to_string(revision)});
  EXPECT_TRUE(detect().in_sync());
  EXPECT_EQ(replica_ids().size(), 2u);  // release 2's
}

TEST_F(DriftTest, AStandbyReleaseWithEditedFilesIsUnpackedAfreshAndStopped) {
  auto standby = keep_standby();
  ASSERT_TRUE(detect().in_sync());

  drift.changes[k_digest] = {{"src/index.html", target::FileChange::Kind::modified}};
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"standby_files_changed"})
      << found.to_markdown();
  EXPECT_EQ(found.findings[0].where, "files of standby release " + std::to_string(revision) +
                                         " (sha256:111111111111) of dev");
  EXPECT_EQ(found.findings[0].observed, "1 file differs: modified src/index.html");
  EXPECT_EQ(found.findings[0].replicas, standby);

  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(drift.refreshed, 1);
  // The standby leaves; release 2 is not touched.
  EXPECT_EQ(changes(), std::vector<std::string>{"remove " + std::to_string(revision)});
  EXPECT_TRUE(detect().in_sync());
}

TEST_F(DriftTest, AStandbyOfTheActiveImageIsCoveredByTheActiveReleasesCheck) {
  int64_t next = land(k_digest);  // the same image again: both sets share one directory
  ASSERT_TRUE(record_desired_state(*store, env(), std::to_string(next)).ok());
  ASSERT_TRUE(target.add_replicas({"dev", std::to_string(revision), k_digest}, 2).ok());
  ASSERT_TRUE(target.set_weights("dev", {{std::to_string(next), 100}}).ok());
  drift.changes[k_digest] = {{"src/index.html", target::FileChange::Kind::modified}};
  auto found = detect();
  EXPECT_EQ(kinds(found.findings), std::vector<std::string>{"files_changed"})
      << found.to_markdown();
}

TEST_F(DriftTest, EditedFilesAreUnpackedAfreshAndEveryReplicaReplaced) {
  auto before = replica_ids();
  drift.changes[k_digest] = {{"src/index.html", target::FileChange::Kind::modified},
                             {"x.sh", target::FileChange::Kind::added}};
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"files_changed"})
      << found.to_markdown();
  EXPECT_NE(found.findings[0].observed.find("modified src/index.html, added x.sh"),
            std::string::npos);

  size_t serving_from = target.serving_history.size();
  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(drift.refreshed, 1);
  EXPECT_EQ(changes(), (std::vector<std::string>{"add 1 2", "remove 1"}));
  EXPECT_GE(min_serving_since(serving_from), 2);
  for (const auto& id : replica_ids()) {
    EXPECT_EQ(std::count(before.begin(), before.end(), id), 0) << id << " was not replaced";
  }
}

TEST_F(DriftTest, AnEditedReplicaConfigIsReplacedByAFreshlyRenderedOne) {
  auto edited = replica_ids().back();
  drift.configs[edited] = {{"nginx.local.conf", target::FileChange::Kind::modified}};
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"config_changed"})
      << found.to_markdown();
  EXPECT_EQ(found.findings[0].observed, "modified nginx.local.conf");
  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(changes(), (std::vector<std::string>{"add 1 1", "remove 1"}));
  auto ids = replica_ids();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), edited), 0);
}

TEST_F(DriftTest, RoutesChangedByHandAreReapplied) {
  auto view = drift.routes("dev");
  ASSERT_TRUE(view.ok());
  view->sets.at(0).weight = 40;
  view->sets.at(0).backends.pop_back();
  view->sets.at(0).backends.emplace_back("intruder", "127.0.0.1:1");
  drift.routes_override = *view;

  auto found = detect();
  EXPECT_EQ(kinds(found.findings),
            (std::vector<std::string>{"route_weight", "route_backends", "route_backends"}))
      << found.to_markdown();
  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(drift.route_resets, 1);
  EXPECT_EQ(changes(), std::vector<std::string>{"weights 1=100"});
}

TEST_F(DriftTest, AStoppedRouterIsStartedAndItsRoutesReapplied) {
  drift.router_up = false;
  auto found = detect();
  ASSERT_EQ(kinds(found.findings), std::vector<std::string>{"router_down"}) << found.to_markdown();
  auto fixed = fix();
  EXPECT_TRUE(fixed.repaired()) << fixed.to_markdown();
  EXPECT_EQ(drift.router_starts, 1);
  EXPECT_EQ(drift.route_resets, 1);
}

TEST_F(DriftTest, ABadDigestIsNeverStartedAgain) {
  drift.killed.insert(replica_ids().front());
  ASSERT_TRUE(store->mark_bad(k_digest, "broke prod", "dev").ok());
  auto fixed = fix();
  EXPECT_FALSE(fixed.repaired());
  EXPECT_EQ(fixed.refused(), 1);
  EXPECT_EQ(fixed.findings.at(0).outcome.rfind("refused: image", 0), 0u)
      << fixed.findings.at(0).outcome;
  EXPECT_TRUE(changes().empty());
  EXPECT_EQ(kinds(fixed.remaining), std::vector<std::string>{"replica_down"});
  EXPECT_EQ(events_of("drift.fix_incomplete"), 1);
}

TEST_F(DriftTest, AnIsolatedEnvironmentIsReportedAndLeftAlone) {
  ASSERT_TRUE(store->set_isolation("dev", "incident 42", "alice").ok());
  drift.killed.insert(replica_ids().front());
  drift.router_up = false;
  auto fixed = fix();
  ASSERT_TRUE(fixed.isolated.has_value());
  EXPECT_EQ(fixed.isolated->reason, "incident 42");
  // The router serves the maintenance page by intent: only the replica is reported.
  EXPECT_EQ(kinds(fixed.findings), std::vector<std::string>{"replica_down"});
  EXPECT_EQ(fixed.refused(), 1);
  EXPECT_TRUE(changes().empty());
  EXPECT_EQ(drift.router_starts, 0);
  EXPECT_NE(fixed.to_markdown().find("isolated since"), std::string::npos);
}

TEST_F(DriftTest, TheScheduleFixesOnlyWhenSelfHealIsOn) {
  drift.killed.insert(replica_ids().front());
  auto checked = scheduled_drift_check(ctx(), env());
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked->fix_ran);
  EXPECT_TRUE(changes().empty());

  env().self_heal = true;
  auto healed = scheduled_drift_check(ctx(), env());
  ASSERT_TRUE(healed.ok());
  EXPECT_TRUE(healed->repaired()) << healed->to_markdown();
  auto saved = store->list_drift_reports("dev");
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->size(), 3u);  // detect, detect, fix
  EXPECT_EQ(saved->front().trigger, "schedule");
  EXPECT_TRUE(saved->front().fixed);
}

TEST_F(DriftTest, ARolloutInProgressMakesTheCheckWait) {
  auto held = EnvLock::acquire(home(), "dev", "test rollout", false);
  ASSERT_TRUE(held.ok());
  auto r = detect_drift(ctx(), env());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::conflict);
}

TEST_F(DriftTest, DownMeansNothingShouldRun) {
  store::EnvState none;
  none.env = "dev";
  ASSERT_TRUE(store->set_env_state(none).ok());
  auto found = detect();
  EXPECT_EQ(kinds(found.findings),
            (std::vector<std::string>{"replica_extra", "replica_extra", "route_weight"}))
      << found.to_markdown();
}

TEST_F(DriftTest, TheReportSaysWhatTheFixWouldDoInJsonAndMarkdown) {
  drift.killed.insert(replica_ids().front());
  auto r = detect();
  auto j = r.to_json();
  EXPECT_EQ(j["in_sync"], false);
  EXPECT_EQ(j["findings"][0]["kind"], "replica_down");
  EXPECT_TRUE(j["findings"][0].contains("fix"));
  EXPECT_EQ(j["desired"]["replicas"], 2);
  auto md = r.to_markdown();
  EXPECT_NE(md.find("| replica_down |"), std::string::npos) << md;
  EXPECT_NE(md.find("--fix would"), std::string::npos) << md;
}

TEST(ReleaseFiles, ADirectoryComparedWithItsManifestNamesEachChange) {
  testing::TempDir dir;
  auto rel = dir / "release";
  std::filesystem::create_directories(rel / "src");
  std::ofstream(rel / "src" / "index.html") << "hello";
  std::ofstream(rel / "gone.txt") << "x";
  auto before = target::local::scan_release_dir(rel);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(target::local::write_manifest(target::local::manifest_path(rel), *before).ok());
  auto kept = target::local::read_manifest(target::local::manifest_path(rel));
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ(**kept, *before);

  std::ofstream(rel / "src" / "index.html") << "hellO";
  std::filesystem::remove(rel / "gone.txt");
  std::ofstream(rel / "new.txt") << "y";
  auto after = target::local::scan_release_dir(rel);
  ASSERT_TRUE(after.ok());
  auto changes = target::local::compare_manifests(**kept, *after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "gone.txt");
  EXPECT_EQ(changes[0].kind, target::FileChange::Kind::removed);
  EXPECT_EQ(changes[1].path, "new.txt");
  EXPECT_EQ(changes[1].kind, target::FileChange::Kind::added);
  EXPECT_EQ(changes[2].path, "src/index.html");
  EXPECT_EQ(changes[2].kind, target::FileChange::Kind::modified);

  std::filesystem::permissions(rel / "new.txt", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  auto chmod = target::local::scan_release_dir(rel);
  EXPECT_NE(chmod->at("new.txt"), after->at("new.txt"));
}

}  // namespace
}  // namespace ztp::engine::test
