#include "engine/blue_green.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/fake_target.hpp"

namespace ztp::engine {
namespace {

using testing::FakeClock;
using testing::FakeTarget;
using Weights = std::map<std::string, int>;

class BlueGreenTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeTarget target{clock};
  std::vector<ProgressEvent> events;
  Progress progress = [this](const ProgressEvent& e) { events.push_back(e); };
  std::vector<std::string> verified_urls;

  RolloutPlan plan(const std::string& release, int replicas) {
    RolloutPlan p;
    p.next = {"dev", release, "sha256:" + release};
    p.replicas = replicas;
    p.start_timeout = std::chrono::seconds(5);
    return p;
  }

  spec::BlueGreen params(const std::string& preview = "127.0.0.1:9001") {
    spec::BlueGreen bg;
    bg.preview_listen = preview;
    return bg;
  }

  VerifyFn passing() {
    return [this](const std::string& url) -> Result<void> {
      verified_urls.push_back(url);
      return {};
    };
  }

  // Release "1" serving all traffic with 3 replicas; the fake's records start after it.
  void deploy_first() {
    ASSERT_TRUE(blue_green_update(target, clock, plan("1", 3), params(), passing(), progress).ok());
    ASSERT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
    target.weight_changes.clear();
    target.journal.clear();
    verified_urls.clear();
    events.clear();
  }

  size_t index_of(const std::string& line) const {
    auto it = std::find(target.journal.begin(), target.journal.end(), line);
    return static_cast<size_t>(it - target.journal.begin());
  }

  bool saw(const std::string& kind) const {
    return std::any_of(events.begin(), events.end(),
                       [&](const ProgressEvent& e) { return e.kind == kind; });
  }
};

TEST_F(BlueGreenTest, VerifiesThePreviewThenSwitchesEverythingInOneChange) {
  deploy_first();
  auto before = target.observe("dev");
  int checked = 0;
  VerifyFn verify = [&](const std::string& url) -> Result<void> {
    // While verified: the new set is whole and healthy, alone on the preview, with no share.
    auto obs = target.observe("dev");
    const auto* next = obs->find("2");
    EXPECT_NE(next, nullptr);
    if (next != nullptr) {
      EXPECT_EQ(next->healthy(), 3);
    }
    EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}, {"2", 0}}));
    EXPECT_EQ(target.previews["dev"], (std::pair<std::string, std::string>{"2", "127.0.0.1:9001"}));
    EXPECT_EQ(url, "http://127.0.0.1:9001");
    ++checked;
    return {};
  };
  ASSERT_TRUE(blue_green_update(target, clock, plan("2", 3), params(), verify, progress).ok());
  EXPECT_EQ(checked, 1);

  // Exactly one weight change, and it moves all of it.
  ASSERT_EQ(target.weight_changes.size(), 1u);
  EXPECT_EQ(target.weight_changes[0], (Weights{{"1", 0}, {"2", 100}}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));
  // The preview was opened, closed, and only then the switch.
  EXPECT_LT(index_of("preview 2 127.0.0.1:9001"), index_of("clear_preview"));
  EXPECT_LT(index_of("clear_preview"), index_of("weights 1=0 2=100"));
  EXPECT_TRUE(target.previews.empty());
  // The old set is still running, untouched, at weight 0.
  auto after = target.observe("dev");
  const auto* old = after->find("1");
  ASSERT_NE(old, nullptr);
  ASSERT_EQ(old->replicas.size(), before->find("1")->replicas.size());
  EXPECT_EQ(old->healthy(), 3);
  EXPECT_EQ(std::count(target.journal.begin(), target.journal.end(), "remove 1"), 0);
  EXPECT_TRUE(saw("rollout.succeeded"));
}

TEST_F(BlueGreenTest, FailedVerificationOnThePreviewRollsBack) {
  deploy_first();
  VerifyFn verify = [](const std::string&) -> Result<void> {
    return make_error(Errc::unhealthy,
                      "GET /about.html: body does not contain \"About Our Application\" (got "
                      "1834 bytes)");
  };
  auto r = blue_green_update(target, clock, plan("2", 3), params(), verify, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("release 2 of dev failed verification on its preview "
                                   "http://127.0.0.1:9001: GET /about.html: body does not contain "
                                   "\"About Our Application\" (got 1834 bytes)"),
            std::string::npos)
      << r.error().message;
  // The new set never had a share and is gone; the old one serves as before.
  for (const auto& w : target.weight_changes) {
    EXPECT_EQ(w.count("1") ? w.at("1") : 100, 100);
    EXPECT_EQ(w.count("2") ? w.at("2") : 0, 0);
  }
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  auto obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].healthy(), 3);
  EXPECT_TRUE(target.previews.empty());
  EXPECT_TRUE(saw("rollout.rolled_back"));
}

TEST_F(BlueGreenTest, ReplicaThatNeverGetsHealthyRollsBackWithoutVerifying) {
  deploy_first();
  target.never_healthy.insert("2");
  auto r = blue_green_update(target, clock, plan("2", 2), params(), passing(), progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("did not become healthy within 5000 ms"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(verified_urls.empty());
  EXPECT_EQ(index_of("preview 2 127.0.0.1:9001"), target.journal.size());
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  auto obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].release, "1");
}

TEST_F(BlueGreenTest, CrashingReleaseRollsBack) {
  deploy_first();
  target.crashing.insert("2");
  auto r = blue_green_update(target, clock, plan("2", 2), params(), passing(), progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("crashed: exited with code 1"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
}

TEST_F(BlueGreenTest, WildcardPreviewIsVerifiedOverLoopback) {
  deploy_first();
  ASSERT_TRUE(
      blue_green_update(target, clock, plan("2", 1), params("0.0.0.0:9002"), passing(), progress)
          .ok());
  EXPECT_EQ(verified_urls, (std::vector<std::string>{"http://127.0.0.1:9002"}));
}

TEST_F(BlueGreenTest, SwitchBackIsOneWeightChangeWithNoProcessStarted) {
  deploy_first();
  ASSERT_TRUE(blue_green_update(target, clock, plan("2", 3), params(), passing(), progress).ok());
  target.journal.clear();
  target.weight_changes.clear();
  ASSERT_TRUE(switch_back(target, "dev", "1").ok());
  EXPECT_EQ(target.journal, (std::vector<std::string>{"weights 1=100 2=0"}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}, {"2", 0}}));
}

TEST(AllToTest, GivesEverythingToOneSetAndNothingToTheOthers) {
  target::Observed obs;
  obs.sets.resize(2);
  obs.sets[0].release = "1";
  obs.sets[0].weight = 100;
  obs.sets[1].release = "2";
  EXPECT_EQ(all_to(obs, "2"), (Weights{{"1", 0}, {"2", 100}}));
  EXPECT_EQ(all_to(obs, "3"), (Weights{{"1", 0}, {"2", 0}, {"3", 100}}));
}

TEST_F(BlueGreenTest, SwitchBackToAReleaseNoLongerRunningIsNotFound) {
  deploy_first();
  auto r = switch_back(target, "dev", "0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_NE(r.error().message.find("release 0 no longer runs in dev"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(target.weight_changes.empty());
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
}

TEST_F(BlueGreenTest, SwitchBackToAnUnhealthySetChangesNothing) {
  deploy_first();
  target.never_healthy.insert("2");
  // A standby set that has gone unhealthy (here: one that never was) must not take traffic.
  ASSERT_TRUE(target.add_replicas({"dev", "2", "sha256:2"}, 1).ok());
  target.weight_changes.clear();
  auto r = switch_back(target, "dev", "2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unhealthy);
  EXPECT_TRUE(target.weight_changes.empty());
}

}  // namespace
}  // namespace ztp::engine
