#include "engine/reap.hpp"

#include <gtest/gtest.h>

#include "engine/env_lock.hpp"
#include "engine_fixture.hpp"

namespace ztp::engine {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using Weights = std::map<std::string, int>;

class ReapTest : public test::EngineFixture {
 protected:
  Result<ReapOutcome> reap() { return reap_standby(env(), *store, target, clock, progress); }

  std::chrono::system_clock::time_point activated(int64_t revision) {
    auto r = store->get_release("dev", revision);
    EXPECT_TRUE(r.ok() && r->activated_at);
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(*r->activated_at));
  }
};

TEST_F(ReapTest, StandbyIsKeptForKeepPreviousThenStopped) {
  use_blue_green(minutes(10));
  land("sha256:a");
  auto second = land("sha256:b");
  ASSERT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));

  clock.sleep_for(minutes(5));
  auto early = reap();
  ASSERT_TRUE(early.ok()) << early.error().message;
  EXPECT_TRUE(early->stopped.empty());
  ASSERT_TRUE(early->next_expiry);
  EXPECT_EQ(*early->next_expiry, activated(second) + minutes(10));
  EXPECT_NE(target.observe("dev")->find("1"), nullptr);

  clock.sleep_for(minutes(5));
  auto late = reap();
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_EQ(late->stopped, (std::vector<std::string>{"1"}));
  EXPECT_FALSE(late->next_expiry);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  EXPECT_TRUE(saw("standby.expired"));
  // Draining a set at weight 0 touches no weight.
  EXPECT_EQ(target.weight_changes.back(), (Weights{{"1", 0}, {"2", 100}}));
}

TEST_F(ReapTest, EachStandbyCountsFromWhenItWasReplaced) {
  use_blue_green(minutes(10));
  land("sha256:a");
  auto second = land("sha256:b");
  clock.sleep_for(minutes(6));
  auto third = land("sha256:c");
  // Release 1 was replaced when 2 became active, release 2 when 3 did.
  fake.advance(std::chrono::duration_cast<Clock::Duration>(activated(second) + minutes(10) -
                                                           fake.wall_now()));
  auto r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"1"}));
  ASSERT_TRUE(r->next_expiry);
  EXPECT_EQ(*r->next_expiry, activated(third) + minutes(10));
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 0}, {"3", 100}}));
}

TEST_F(ReapTest, NothingIsStoppedWhileTheActiveReleaseTakesNoTraffic) {
  use_blue_green(minutes(10));
  land("sha256:a");
  auto second = land("sha256:b");
  // As if a rollout had died with all traffic on another set: not a standby situation.
  ASSERT_TRUE(target.set_weights("dev", {{"1", 100}, {"2", 0}}).ok());
  clock.sleep_for(minutes(30));
  auto r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stopped.empty());
  EXPECT_EQ(target.observe("dev")->sets.size(), 2u);
  // Nor with no active release at all.
  ASSERT_TRUE(target.set_weights("dev", {{"1", 0}, {"2", 100}}).ok());
  ASSERT_TRUE(store->set_release_status("dev", second, store::ReleaseStatus::failed).ok());
  r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stopped.empty());
}

TEST_F(ReapTest, OtherStrategiesKeepASetAtWeightZeroOnlyForTheWatchWindow) {
  land("sha256:a");  // rolling
  land("sha256:b");
  // A leftover set of the rollback target at weight 0 beside the active release (e.g. the
  // strategy was blue_green).
  ASSERT_TRUE(target.add_replicas({"dev", "1", "sha256:a"}, 1).ok());
  clock.sleep_for(seconds(1));
  env().watch.window = minutes(2);
  auto kept = reap();
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_TRUE(kept->stopped.empty());
  env().watch.window = {};
  auto gone = reap();
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(gone->stopped, (std::vector<std::string>{"1"}));
}

TEST_F(ReapTest, OnlyTheRollbackTargetsSetIsKeptWarm) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  auto third = land("sha256:c");
  // A set of a release no rollback goes to (here: one the environment does not know).
  ASSERT_TRUE(target.add_replicas({"dev", "9", "sha256:z"}, 1).ok());
  ASSERT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 0}, {"3", 100}, {"9", 0}}));
  // Inside every window: release 2, the rollback target, stays; the others stop at once.
  auto r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"1", "9"}));
  ASSERT_TRUE(r->next_expiry);
  EXPECT_EQ(*r->next_expiry, activated(third) + minutes(10));
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 0}, {"3", 100}}));
  const auto* replaced = find("standby.replaced");
  ASSERT_NE(replaced, nullptr);
  EXPECT_EQ(replaced->data["kept"], "2");
  EXPECT_FALSE(saw("standby.expired"));
}

TEST_F(ReapTest, AStandbyWhoseImageIsMarkedBadGivesWayToTheRollbackTarget) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  land("sha256:c");
  // Release 2's image was marked bad since: a rollback from 3 goes to 1.
  ASSERT_TRUE(store->mark_bad("sha256:b", "broke checkout", std::string("dev")).ok());
  auto r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"2"}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"3", 100}}));
}

TEST_F(ReapTest, NoStandbyIsKeptWhenThereIsNoRollbackTarget) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:a");  // the same image again: a rollback has nowhere to go
  auto r = reap();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"1"}));
  EXPECT_FALSE(r->next_expiry);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
}

TEST_F(ReapTest, StandbyWindowIsKeepPreviousOrTheWatchWindow) {
  EXPECT_EQ(standby_window(env()), seconds(0));
  env().watch.window = minutes(3);
  EXPECT_EQ(standby_window(env()), minutes(3));
  use_blue_green(minutes(10));
  EXPECT_EQ(standby_window(env()), minutes(10));
}

TEST_F(ReapTest, ExpiredStandbyIsLeftAloneWhileARolloutHoldsTheEnvironment) {
  use_blue_green(minutes(10));
  land("sha256:a");
  land("sha256:b");
  clock.sleep_for(minutes(11));
  {
    auto held = EnvLock::acquire(home(), "dev", "ztp deploy dev", false);
    ASSERT_TRUE(held.ok()) << held.error().message;
    auto r = reap_expired_standby(spec, home(), "dev", *store, target, clock, progress);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->skipped);
    EXPECT_NE(target.observe("dev")->find("1"), nullptr);
  }
  // No progress callback needed: the events go to the store.
  auto r = reap_expired_standby(spec, home(), "dev", *store, target, clock, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->skipped);
  EXPECT_EQ(r->stopped, (std::vector<std::string>{"1"}));
  store::EventFilter filter;
  filter.env = "dev";
  auto events = store->list_events(filter);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(std::any_of(events->begin(), events->end(),
                          [](const store::Event& e) { return e.kind == "standby.expired"; }));
  auto unknown = reap_expired_standby(spec, home(), "qa", *store, target, clock, progress);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::invalid);
}

}  // namespace
}  // namespace ztp::engine
