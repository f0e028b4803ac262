#include "engine/canary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "support/fake_target.hpp"
#include "traffic_clock.hpp"

namespace ztp::engine {
namespace {

using testing::FakeClock;
using testing::FakeTarget;
using testing::TrafficClock;
using Weights = std::map<std::string, int>;
using std::chrono::seconds;

class CanaryTest : public ::testing::Test {
 protected:
  FakeClock fake;
  FakeTarget target{fake};
  TrafficClock clock{fake, target};
  struct Seen {
    ProgressEvent event;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Seen> events;
  Progress progress = [this](const ProgressEvent& e) { events.push_back({e, clock.now()}); };
  std::vector<std::string> verified_urls;
  VerifyFn verify = [this](const std::string& url) -> Result<void> {
    verified_urls.push_back(url);
    return {};
  };
  const std::string front_door = "http://127.0.0.1:8080";

  RolloutPlan plan(const std::string& release, int replicas) {
    RolloutPlan p;
    p.next = {"dev", release, "sha256:" + release};
    p.replicas = replicas;
    p.start_timeout = seconds(5);
    return p;
  }

  static spec::Canary params() {
    spec::Canary c;
    c.steps = {{10, seconds(30)}, {50, seconds(30)}, {100, seconds(30)}};
    c.analysis.max_error_rate = 0.01;
    c.analysis.max_p95 = std::chrono::milliseconds(500);
    c.analysis.min_requests = 20;
    c.analysis.deadline = seconds(60);
    return c;
  }

  // Release "1" serving everything with 4 replicas; the fake's records start after it.
  void deploy_stable() {
    ASSERT_TRUE(rolling_update(target, clock, plan("1", 4), {1, 0}, progress).ok());
    ASSERT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
    target.weight_changes.clear();
    target.journal.clear();
    events.clear();
  }

  Result<void> roll(const spec::Canary& c) {
    return canary_update(target, clock, plan("2", 4), c, front_door, verify, progress);
  }

  // The canary's weight at each change that named it, repeats collapsed.
  std::vector<int> canary_weights() const {
    std::vector<int> out;
    for (const auto& w : target.weight_changes) {
      auto it = w.find("2");
      if (it != w.end() && (out.empty() || out.back() != it->second)) {
        out.push_back(it->second);
      }
    }
    return out;
  }

  const Seen* find(const std::string& kind) const {
    for (const auto& s : events) {
      if (s.event.kind == kind) {
        return &s;
      }
    }
    return nullptr;
  }

  size_t count(const std::string& kind) const {
    return static_cast<size_t>(std::count_if(events.begin(), events.end(),
                                             [&](const Seen& s) { return s.event.kind == kind; }));
  }

  size_t index_of(const std::string& line) const {
    auto it = std::find(target.journal.begin(), target.journal.end(), line);
    return static_cast<size_t>(it - target.journal.begin());
  }

  // Stable back at 100% in one change strictly before any replica of the canary stopped,
  // and the canary set gone.
  void expect_restored() {
    size_t back = index_of("weights 1=100 2=0");
    size_t stopped = index_of("remove 2");
    EXPECT_LT(back, target.journal.size());
    EXPECT_LT(back, stopped);
    EXPECT_LT(stopped, target.journal.size());
    EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
    auto obs = target.observe("dev");
    ASSERT_EQ(obs->sets.size(), 1u);
    EXPECT_EQ(obs->sets[0].release, "1");
    EXPECT_EQ(obs->sets[0].healthy(), 4);
  }
};

TEST(CanaryReplicasTest, IsTheWeightsShareRoundedUp) {
  EXPECT_EQ(canary_replicas(4, 10), 1);
  EXPECT_EQ(canary_replicas(4, 50), 2);
  EXPECT_EQ(canary_replicas(4, 51), 3);
  EXPECT_EQ(canary_replicas(4, 100), 4);
  EXPECT_EQ(canary_replicas(10, 25), 3);
  EXPECT_EQ(canary_replicas(1, 1), 1);
}

TEST_F(CanaryTest, HealthyCanaryIsPromotedThroughEveryStep) {
  deploy_stable();
  int verified_at_full = 0;
  verify = [&](const std::string& url) -> Result<void> {
    // Verified through the front door with all traffic on the canary, the stable set still warm.
    EXPECT_EQ(url, front_door);
    EXPECT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));
    EXPECT_NE(target.observe("dev")->find("1"), nullptr);
    ++verified_at_full;
    return {};
  };
  auto r = roll(params());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(verified_at_full, 1);
  EXPECT_EQ(canary_weights(), (std::vector<int>{10, 50, 100}));
  // Each step's weights in one change: the canary's share and the rest to stable.
  ASSERT_GE(target.weight_changes.size(), 2u);
  EXPECT_EQ(target.weight_changes[0], (Weights{{"1", 90}, {"2", 10}}));
  EXPECT_EQ(target.weight_changes[1], (Weights{{"1", 50}, {"2", 50}}));
  // The canary grew with its weight: 1 of 4 replicas at 10%, 2 at 50%, 4 at 100%.
  EXPECT_LT(index_of("add 2 1"), index_of("weights 1=90 2=10"));
  EXPECT_EQ(std::count(target.journal.begin(), target.journal.end(), "add 2 1"), 2);
  EXPECT_EQ(std::count(target.journal.begin(), target.journal.end(), "add 2 2"), 1);
  // The stable set drained away after the switch.
  EXPECT_LT(index_of("weights 1=0 2=100"), index_of("remove 1"));
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  auto obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].healthy(), 4);
  EXPECT_EQ(count("canary.step"), 3u);
  ASSERT_EQ(count("canary.analysis"), 3u);
  for (const auto& s : events) {
    if (s.event.kind == "canary.analysis") {
      EXPECT_EQ(s.event.data["verdict"], "pass");
      EXPECT_GE(s.event.data["requests"].get<int>(), 20);
    }
  }
  EXPECT_EQ(find("canary.step")->event.data["weight"], 10);
}

TEST_F(CanaryTest, StableSetsStayWarmWhenAskedForTheWatch) {
  deploy_stable();
  auto r = canary_update(target, clock, plan("2", 4), params(), front_door, verify, progress,
                         /*keep_stable_warm=*/true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // All traffic on the canary, the stable set whole and healthy beside it at 0, nothing removed.
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 0}, {"2", 100}}));
  EXPECT_EQ(index_of("remove 1"), target.journal.size());
  auto obs = target.observe("dev");
  ASSERT_NE(obs->find("1"), nullptr);
  EXPECT_EQ(obs->find("1")->healthy(), 4);
  EXPECT_NE(find("canary.stable_kept"), nullptr);
}

TEST_F(CanaryTest, ErrorRateBreachAbortsTheFirstStepEarly) {
  deploy_stable();
  clock.behaviour["2"].error_ratio = 0.5;
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_EQ(r.error().message.rfind("canary release 2 of dev failed its analysis at 10%: canary "
                                    "error rate 50.0% (",
                                    0),
            0u)
      << r.error().message;
  EXPECT_NE(r.error().message.find(") above max 1.0%; rolled back"), std::string::npos)
      << r.error().message;
  expect_restored();
  EXPECT_EQ(canary_weights(), (std::vector<int>{10, 0}));
  EXPECT_TRUE(verified_urls.empty());
  // Aborted as soon as enough requests were in, long before the 30 s pause ended.
  const auto* step = find("canary.step");
  const auto* aborted = find("canary.aborted");
  ASSERT_NE(step, nullptr);
  ASSERT_NE(aborted, nullptr);
  EXPECT_LT(aborted->at - step->at, seconds(10));
  EXPECT_EQ(aborted->event.data["verdict"], "fail");
  EXPECT_FALSE(ended_inconclusive(aborted->event));
  const auto& data = aborted->event.data;
  EXPECT_DOUBLE_EQ(data["error_rate"].get<double>(), 0.5);
  EXPECT_GE(data["requests"].get<int>(), 20);
  EXPECT_EQ(data["weight"], 10);
  EXPECT_TRUE(data.contains("p95_ms"));
  EXPECT_EQ(count("canary.step"), 1u);
}

TEST_F(CanaryTest, P95BreachAborts) {
  deploy_stable();
  clock.behaviour["2"].latency_ms = 800;
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("failed its analysis at 10%: canary p95 "), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(" ms above max 500 ms"), std::string::npos) << r.error().message;
  expect_restored();
  const auto* aborted = find("canary.aborted");
  ASSERT_NE(aborted, nullptr);
  EXPECT_GT(aborted->event.data["p95_ms"].get<double>(), 500);
}

TEST_F(CanaryTest, InconclusiveStepWaitsUntilTheDeadlineThenFails) {
  deploy_stable();
  clock.rps = 1;  // 0.1 request per second reaches a 10% canary: never 20 in 60 s
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("could not be judged at 10%: inconclusive: 6 requests, need "
                                   "20 by the analysis deadline (1m after the step began)"),
            std::string::npos)
      << r.error().message;
  expect_restored();
  const auto* step = find("canary.step");
  const auto* extended = find("canary.inconclusive");
  const auto* aborted = find("canary.aborted");
  ASSERT_NE(step, nullptr);
  ASSERT_NE(extended, nullptr);
  ASSERT_NE(aborted, nullptr);
  // Too little traffic is no verdict on the image: the abort says so.
  EXPECT_EQ(aborted->event.data["verdict"], "inconclusive");
  EXPECT_TRUE(ended_inconclusive(aborted->event));
  // Extended after the 30 s pause, given up at the 60 s deadline.
  EXPECT_GE(extended->at - step->at, seconds(30));
  EXPECT_GE(aborted->at - step->at, seconds(60));
  EXPECT_LT(aborted->at - step->at, seconds(62));
}

TEST_F(CanaryTest, InconclusiveStepPassesAtTheDeadlineWhenConfigured) {
  deploy_stable();
  clock.rps = 1;
  auto c = params();
  c.analysis.pass_when_inconclusive = true;
  auto r = roll(c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(canary_weights(), (std::vector<int>{10, 50, 100}));
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  EXPECT_GE(count("canary.inconclusive"), 1u);
}

TEST_F(CanaryTest, ErrorRateWellAboveTheStableSetsAborts) {
  deploy_stable();
  clock.rps = 1000;
  clock.behaviour["2"].error_ratio = 0.008;  // under the 1% limit; the stable set makes none
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("above the stable set's 0.0% (0 of "), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(") by more than 0.5%"), std::string::npos) << r.error().message;
  expect_restored();
}

TEST_F(CanaryTest, ErrorRateLikeTheStableSetsPasses) {
  deploy_stable();
  clock.rps = 1000;
  clock.behaviour["1"].error_ratio = 0.008;
  clock.behaviour["2"].error_ratio = 0.008;
  auto r = roll(params());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
}

TEST_F(CanaryTest, ReplicaThatNeverGetsHealthyRollsBack) {
  deploy_stable();
  target.never_healthy.insert("2");
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("did not become healthy"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(canary_weights().empty() || canary_weights() == std::vector<int>{0});
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
}

TEST_F(CanaryTest, FailedVerificationAfterTheLastStepPutsStableBack) {
  deploy_stable();
  verify = [](const std::string&) -> Result<void> {
    return make_error(Errc::unhealthy, "GET /: status 500, expected 200");
  };
  auto r = roll(params());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("release 2 of dev failed verification at "
                                   "http://127.0.0.1:8080 after taking 100%: GET /: status 500"),
            std::string::npos)
      << r.error().message;
  expect_restored();
}

TEST_F(CanaryTest, FirstReleaseGoesStraightToFullTraffic) {
  auto r = roll(params());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(target.weight_changes, (std::vector<Weights>{{{"2", 100}}}));
  EXPECT_EQ(verified_urls, (std::vector<std::string>{front_door}));
  EXPECT_NE(find("canary.skipped"), nullptr);
  EXPECT_EQ(count("canary.step"), 0u);
}

TEST_F(CanaryTest, NoStepsIsInvalidAndTouchesNothing) {
  deploy_stable();
  spec::Canary c = params();
  c.steps.clear();
  auto r = roll(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_TRUE(target.journal.empty());
}

}  // namespace
}  // namespace ztp::engine
