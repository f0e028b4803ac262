#include "engine/deploy.hpp"

#include <gtest/gtest.h>

#include "engine/rollback.hpp"
#include "engine_fixture.hpp"

namespace ztp::engine {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using Weights = std::map<std::string, int>;

class DeployTest : public test::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    env().watch.window = minutes(1);
  }

  // Deploys a one-page site whose page says `text`.
  Result<DeployOutcome> deploy_site(const std::string& text) {
    DeployRequest req;
    req.env = "dev";
    req.dir = site("site-" + std::to_string(++m_sites), text);
    return deploy(spec, home(), *store, target, clock, req, progress);
  }

  std::string digest_of(int64_t revision) {
    auto r = store->get_release("dev", revision);
    return r.ok() ? r->digest : "";
  }

  // From the moment release `release` takes all traffic, its answers fail at `ratio`.
  void fail_once_promoted(const std::string& release, double ratio) {
    clock.on_tick = [this, release, ratio] {
      auto w = target.weights("dev");
      if (w.count(release) > 0 && w.at(release) == 100) {
        clock.behaviour[release].error_ratio = ratio;
      }
    };
  }

 private:
  int m_sites = 0;
};

TEST_F(DeployTest, ReleaseBecomesLastKnownGoodOnlyOnceItsWatchPassed) {
  auto first = deploy_site("v1");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->watch);
  EXPECT_EQ(first->watch->verdict, verify::Verdict::pass);
  std::vector<std::pair<int64_t, int64_t>> seen;  // (active, last known good) while watched
  clock.on_tick = [&] {
    auto w = target.weights("dev");
    if (w.count("2") > 0 && w.at("2") == 100) {
      auto active = store->current_release("dev");
      seen.emplace_back(active.ok() && active->has_value() ? (*active)->revision : 0,
                        last_known_good());
    }
  };
  auto second = deploy_site("v2");
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), (std::pair<int64_t, int64_t>{2, 1}));
  EXPECT_EQ(last_known_good(), 2);
  EXPECT_TRUE(saw("watch.started"));
  EXPECT_TRUE(saw("watch.passed"));
  EXPECT_EQ(second->watch->measured.requests, 6000u);
}

TEST_F(DeployTest, WatchBreachRollsBackToWhatRanBefore) {
  ASSERT_TRUE(deploy_site("v1").ok());
  clock.behaviour["2"].error_ratio = 0.5;
  auto r = deploy_site("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_EQ(r.error().message.rfind("release 2 of dev failed its post-deploy watch 1s after its "
                                    "rollout: release 2 error rate 50.0% (",
                                    0),
            0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find(") above max 1.0%; rolled back to revision 1"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
  EXPECT_EQ(status_of(2), store::ReleaseStatus::rolled_back);
  EXPECT_EQ(last_known_good(), 1);
  EXPECT_TRUE(store->is_bad(digest_of(2), std::string("dev")).value_or(false));
  const auto* failed = find("watch.failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_DOUBLE_EQ(failed->data["error_rate"].get<double>(), 0.5);
}

TEST_F(DeployTest, CanaryKeepsTheStableSetWarmThroughTheWatch) {
  use_canary();
  ASSERT_TRUE(deploy_site("v1").ok());
  bool warm_while_watched = false;
  clock.on_tick = [&] {
    auto w = target.weights("dev");
    if (w.count("2") > 0 && w.at("2") == 100 && w.count("1") > 0) {
      warm_while_watched = true;
    }
  };
  auto r = deploy_site("v2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(warm_while_watched);
  // Once the watch passed, the stable set is gone.
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
}

TEST_F(DeployTest, CanaryWatchBreachIsOneRouteChangeBack) {
  use_canary();
  ASSERT_TRUE(deploy_site("v1").ok());
  fail_once_promoted("2", 0.5);
  target.journal.clear();
  auto r = deploy_site("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("failed its post-deploy watch"), std::string::npos)
      << r.error().message;
  // Release 1 was never stopped nor started again: all traffic went back in one change.
  EXPECT_EQ(count_journal("add 1"), 0u);
  EXPECT_EQ(count_journal("remove 1"), 0u);
  auto back = std::find(target.journal.begin(), target.journal.end(), "weights 1=100 2=0");
  ASSERT_NE(back, target.journal.end());
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
}

TEST_F(DeployTest, BlueGreenWatchBreachSwitchesBackToTheWarmSet) {
  use_blue_green(minutes(10));
  ASSERT_TRUE(deploy_site("v1").ok());
  fail_once_promoted("2", 1.0);
  target.journal.clear();
  auto r = deploy_site("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_EQ(count_journal("add 1"), 0u);
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(1), store::ReleaseStatus::active);
}

TEST_F(DeployTest, FirstReleaseFailingItsWatchKeepsServingAndIsRecordedFailed) {
  clock.behaviour["1"].error_ratio = 0.5;
  auto r = deploy_site("v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unhealthy);
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(1), store::ReleaseStatus::failed);
  EXPECT_FALSE(store->is_bad(digest_of(1), std::string("dev")).value_or(true));
}

TEST_F(DeployTest, DeployStopsExpiredStandbySetsFirst) {
  env().watch.window = {};
  use_blue_green(minutes(10));
  ASSERT_TRUE(deploy_site("v1").ok());
  ASSERT_TRUE(deploy_site("v2").ok());
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));
  EXPECT_FALSE(saw("watch.started"));
  clock.sleep_for(minutes(11));
  target.journal.clear();
  ASSERT_TRUE(deploy_site("v3").ok());
  ASSERT_FALSE(target.journal.empty());
  EXPECT_EQ(target.journal.front(), "remove 1");
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 0}, {"3", 100}}));
}

TEST_F(DeployTest, BlueGreenKeepsOneStandbySetAfterManyDeploys) {
  env().watch.window = {};
  use_blue_green(minutes(10));
  ASSERT_TRUE(deploy_site("v1").ok());
  // Twelve more deploys within ten minutes, each inside the keep_previous of the one before.
  for (int i = 2; i <= 13; ++i) {
    clock.sleep_for(seconds(40));
    auto r = deploy_site("v" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error().message;
    // The release just replaced (the rollback target) is the one set kept warm.
    EXPECT_EQ(target.weights("dev"),
              (Weights{{std::to_string(i - 1), 0}, {std::to_string(i), 100}}))
        << "after deploy " << i;
    ASSERT_TRUE(rollback_target(*store, "dev", std::nullopt, false).ok());
    EXPECT_EQ(rollback_target(*store, "dev", std::nullopt, false)->revision, i - 1);
  }
  EXPECT_TRUE(saw("standby.replaced"));
  EXPECT_EQ(target.observe("dev")->sets.size(), 2u);
}

TEST_F(DeployTest, OlderStandbySetsStopRightAfterTheSwitchNotAfterTheWatch) {
  use_blue_green(minutes(10));
  ASSERT_TRUE(deploy_site("v1").ok());
  ASSERT_TRUE(deploy_site("v2").ok());
  ASSERT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));
  std::set<std::map<std::string, int>> while_watched;
  clock.on_tick = [&] {
    auto w = target.weights("dev");
    if (w.count("3") > 0 && w.at("3") == 100) {
      while_watched.insert(w);
    }
  };
  auto r = deploy_site("v3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // From the switch on (the watch included), only release 2, the last known good and so the
  // rollback target, was kept beside release 3.
  EXPECT_EQ(while_watched, (std::set<std::map<std::string, int>>{{{"2", 0}, {"3", 100}}}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 0}, {"3", 100}}));
}

TEST_F(DeployTest, AFailedReleaseReplacedByBlueGreenIsNotKeptWarm) {
  use_blue_green(minutes(10));
  // The first release fails its watch with nothing to go back to: it serves, recorded failed.
  clock.behaviour["1"].error_ratio = 0.5;
  ASSERT_FALSE(deploy_site("v1").ok());
  ASSERT_EQ(status_of(1), store::ReleaseStatus::failed);
  clock.behaviour.erase("1");
  auto r = deploy_site("v2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // No rollback would go to release 1, so its set is not kept.
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  const auto* replaced = find("standby.replaced");
  ASSERT_NE(replaced, nullptr);
  EXPECT_EQ(replaced->data["releases"], nlohmann::json::array({"1"}));
  EXPECT_TRUE(replaced->data["kept"].is_null());
}

TEST_F(DeployTest, CanaryWithoutTrafficRollsBackWithoutMarkingTheImageBad) {
  env().watch.window = {};
  use_canary();
  ASSERT_TRUE(deploy_site("v1").ok());
  clock.rps = 1;  // 0.1 request per second reaches a 10% canary: never 20 by the deadline
  auto r = deploy_site("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("could not be judged at 10%: inconclusive"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("is not marked bad in dev: its canary had too little traffic"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(status_of(2), store::ReleaseStatus::rolled_back);
  EXPECT_FALSE(store->is_bad(digest_of(2), std::string("dev")).value_or(true));
  const auto* not_marked = find("image.not_marked");
  ASSERT_NE(not_marked, nullptr);
  EXPECT_EQ(not_marked->data["digest"], digest_of(2));
  // The same image deploys once there is traffic to judge it.
  clock.rps = 100;
  auto again = deploy_site("v2");
  ASSERT_TRUE(again.ok()) << again.error().message;
}

TEST_F(DeployTest, CanaryFailingItsAnalysisMarksTheImageBad) {
  env().watch.window = {};
  use_canary();
  ASSERT_TRUE(deploy_site("v1").ok());
  clock.behaviour["2"].error_ratio = 0.5;
  auto r = deploy_site("v2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("failed its analysis at 10%"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(status_of(2), store::ReleaseStatus::rolled_back);
  EXPECT_TRUE(store->is_bad(digest_of(2), std::string("dev")).value_or(false));
  EXPECT_FALSE(saw("image.not_marked"));
  auto again = deploy_site("v2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::refused);
  EXPECT_NE(again.error().message.find("`ztp unmark dev " + digest_of(2) + "`"), std::string::npos)
      << again.error().message;
}

}  // namespace
}  // namespace ztp::engine
