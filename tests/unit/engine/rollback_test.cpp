#include "engine/rollback.hpp"

#include <gtest/gtest.h>

#include "drift_target.hpp"
#include "engine/env_lock.hpp"
#include "engine_fixture.hpp"

namespace ztp::engine {
namespace {

using std::chrono::minutes;
using Weights = std::map<std::string, int>;

class RollbackTest : public test::EngineFixture {
 protected:
  Result<RollbackOutcome> roll_back_dev(std::optional<int64_t> to = std::nullopt,
                                        bool force = false) {
    RollbackRequest req;
    req.env = "dev";
    req.to_revision = to;
    req.force = force;
    req.wait_for_lock = false;
    return rollback(spec, home(), *store, target, clock, req, progress);
  }

  Result<int64_t> chosen(std::optional<int64_t> to = std::nullopt, bool force = false) {
    auto r = rollback_target(*store, "dev", to, force);
    if (!r.ok()) {
      return r.take_error();
    }
    return r->revision;
  }

  // A release recorded in `status` that never ran (e.g. one whose rollout failed).
  int64_t recorded(const std::string& digest, store::ReleaseStatus status) {
    store::NewRelease nr;
    nr.env = "dev";
    nr.digest = digest;
    auto r = store->create_release(nr);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(store->set_release_status("dev", r->revision, status).ok());
    return r->revision;
  }

  std::vector<std::string> stored_event_kinds() {
    auto events = store->list_events({});
    EXPECT_TRUE(events.ok());
    std::vector<std::string> kinds;
    for (const auto& e : *events) {
      kinds.push_back(e.kind);
    }
    return kinds;
  }

  bool has(const std::vector<std::string>& kinds, const std::string& kind) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  }
};

TEST_F(RollbackTest, TargetIsTheLastKnownGoodWhenSomethingElseIsActive) {
  land("sha256:a");
  land("sha256:b");
  // Release 3 became active but never the last known good (its watch never ended).
  auto third = recorded("sha256:c", store::ReleaseStatus::active);
  ASSERT_EQ(last_known_good(), 2);
  auto r = chosen();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 2);
  EXPECT_NE(third, 2);
}

TEST_F(RollbackTest, TargetIsThePreviousGoodReleaseWhenTheLastKnownGoodRuns) {
  land("sha256:a");
  land("sha256:b");
  auto r = chosen();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 1);
}

TEST_F(RollbackTest, PreviousGoodSkipsRolledBackReleasesBadImagesAndTheRunningImage) {
  land("sha256:a");                                         // 1: good
  land("sha256:c");                                         // 2: good, image marked bad below
  recorded("sha256:d", store::ReleaseStatus::rolled_back);  // 3: never made it
  land("sha256:e");                                         // 4: good but the same image as 5
  land("sha256:e");                                         // 5: active, last known good
  ASSERT_TRUE(store->mark_bad("sha256:c", "broke checkout", std::string("dev")).ok());
  auto r = chosen();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 1);
}

TEST_F(RollbackTest, ToNamesARevisionOfTheEnvironment) {
  land("sha256:a");
  land("sha256:b");
  land("sha256:c");
  EXPECT_EQ(chosen(2).value_or(0), 2);
  auto unknown = chosen(9);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::invalid);
  EXPECT_EQ(unknown.error().message,
            "dev has no revision 9; `ztp status dev` shows what runs, --to names an earlier "
            "revision");
  auto same = chosen(3);
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().code, Errc::invalid);
  EXPECT_NE(same.error().message.find("dev already runs revision 3"), std::string::npos);
  ASSERT_TRUE(store->mark_bad("sha256:a", "bad", std::string("dev")).ok());
  auto bad = chosen(1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::refused);
  EXPECT_NE(bad.error().message.find("is marked bad; roll back to it anyway with --force"),
            std::string::npos);
  EXPECT_EQ(chosen(1, true).value_or(0), 1);
}

TEST_F(RollbackTest, NothingToGoBackToIsNotFound) {
  land("sha256:a");
  auto r = roll_back_dev();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message.find("dev has no earlier good release to roll back to"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
}

TEST_F(RollbackTest, InsideKeepPreviousItIsOneRouteChangeWithNoProcessStarted) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  target.journal.clear();
  clock.sleep_for(minutes(3));
  auto r = roll_back_dev();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RollbackMethod::switch_back);
  ASSERT_TRUE(r->from);
  EXPECT_EQ(r->from->revision, 2);
  EXPECT_EQ(r->to.revision, 1);
  // One weight change, then the bad set leaves; nothing was started.
  EXPECT_EQ(target.journal, (std::vector<std::string>{"weights 1=100 2=0", "remove 2"}));
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"2"}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  // Recorded: 1 active and last known good, 2 rolled back with its image marked bad.
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
  EXPECT_EQ(status_of(2), store::ReleaseStatus::rolled_back);
  EXPECT_EQ(last_known_good(), 1);
  EXPECT_TRUE(r->marked_bad);
  EXPECT_TRUE(store->is_bad("sha256:b", std::string("dev")).value_or(false));
  EXPECT_FALSE(store->is_bad("sha256:b", std::string("qa")).value_or(true));
  auto kinds = stored_event_kinds();
  EXPECT_TRUE(has(kinds, "rollback.started"));
  EXPECT_TRUE(has(kinds, "rollback.switched"));
  EXPECT_TRUE(has(kinds, "rollback.succeeded"));
  auto audit = store->list_audit(1);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "rollback");
  EXPECT_EQ((*audit)[0].detail, "from revision 2 to revision 1 image sha256:a");
  auto desired = store->get_env_state("dev");
  ASSERT_TRUE(desired.ok() && desired->has_value());
  EXPECT_EQ((*desired)->weights, R"({"1":100})");
}

TEST_F(RollbackTest, AfterKeepPreviousItIsABlueGreenRolloutOfTheImage) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  target.journal.clear();
  clock.sleep_for(minutes(11));
  auto r = roll_back_dev();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RollbackMethod::rollout);
  // The expired standby was reaped first, then release 1 came up again behind the preview.
  ASSERT_GE(target.journal.size(), 3u);
  EXPECT_EQ(target.journal[0], "remove 1");
  EXPECT_EQ(target.journal[1], "add 1 2");
  EXPECT_EQ(count_journal("preview 1 "), 1u);
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
  EXPECT_EQ(status_of(2), store::ReleaseStatus::rolled_back);
}

TEST_F(RollbackTest, AWarmSetOnEditedFilesIsReplacedByAFreshRolloutOfTheImage) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  testing::DriftTarget edited(target);
  edited.changes["sha256:a"] = {{"src/index.html", target::FileChange::Kind::modified}};
  target.journal.clear();
  RollbackRequest req;
  req.env = "dev";
  req.wait_for_lock = false;
  auto r = rollback(spec, home(), *store, edited, clock, req, progress);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RollbackMethod::rollout);
  EXPECT_TRUE(r->files_refreshed);
  ASSERT_EQ(r->files_changed.size(), 1u);
  EXPECT_EQ(r->files_changed[0].path, "src/index.html");
  EXPECT_EQ(edited.refreshed, 1);
  // The warm set never took traffic: it was stopped, then a fresh one came up and was switched
  // to behind the preview.
  ASSERT_GE(target.journal.size(), 3u);
  EXPECT_EQ(target.journal[0], "remove 1");
  EXPECT_EQ(target.journal[1], "add 1 2");
  EXPECT_EQ(count_journal("preview 1 "), 1u);
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  const auto* changed = find("rollback.files_changed");
  ASSERT_NE(changed, nullptr);
  EXPECT_NE(changed->message.find("1 file differs from its image (modified src/index.html)"),
            std::string::npos)
      << changed->message;
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
}

TEST_F(RollbackTest, AWarmSetOnTheImagesFilesIsSwitchedTo) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  testing::DriftTarget checked(target);
  RollbackRequest req;
  req.env = "dev";
  auto r = rollback(spec, home(), *store, checked, clock, req, progress);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RollbackMethod::switch_back);
  EXPECT_FALSE(r->files_refreshed);
  EXPECT_EQ(checked.refreshed, 0);
  EXPECT_FALSE(saw("rollback.files_changed"));
}

TEST_F(RollbackTest, RollingEnvironmentRollsTheRevisionOut) {
  land("sha256:a");
  land("sha256:b");
  land("sha256:c");
  auto r = roll_back_dev(1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, RollbackMethod::rollout);
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
  EXPECT_EQ(status_of(2), store::ReleaseStatus::superseded);
  EXPECT_EQ(status_of(3), store::ReleaseStatus::rolled_back);
  EXPECT_EQ(last_known_good(), 1);
}

TEST_F(RollbackTest, FailedRollbackIsItselfRolledBackAndChangesNoRecord) {
  land("sha256:a");
  land("sha256:b");
  target.never_healthy.insert("1");
  auto r = roll_back_dev();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_EQ(r.error().message.rfind("the rollback of dev to revision 1 failed and was itself "
                                    "rolled back; dev still runs revision 2: ",
                                    0),
            0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find("did not become healthy"), std::string::npos);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  EXPECT_EQ(status_of(2), store::ReleaseStatus::active);
  EXPECT_EQ(last_known_good(), 2);
  EXPECT_FALSE(store->is_bad("sha256:b", std::string("dev")).value_or(true));
  EXPECT_TRUE(has(stored_event_kinds(), "rollback.failed"));
}

TEST_F(RollbackTest, CrashedStandbyIsNoShortcut) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  target.crashing.insert("1");
  target.weight_changes.clear();
  auto r = roll_back_dev();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  // Traffic never moved to the crashed set.
  for (const auto& w : target.weight_changes) {
    EXPECT_NE(w.count("1") ? w.at("1") : 0, 100);
  }
  EXPECT_EQ(target.weights("dev").at("2"), 100);
}

TEST_F(RollbackTest, LockedEnvironmentIsAConflictWithNoWait) {
  land("sha256:a");
  land("sha256:b");
  auto held = EnvLock::acquire(home(), "dev", "ztp deploy dev", false);
  ASSERT_TRUE(held.ok());
  auto r = roll_back_dev();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
}

TEST_F(RollbackTest, UnknownEnvironmentIsInvalid) {
  RollbackRequest req;
  req.env = "qa";
  auto r = rollback(spec, home(), *store, target, clock, req, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
}

}  // namespace
}  // namespace ztp::engine
