#include "engine/watch.hpp"

#include <gtest/gtest.h>

#include "engine/live_analysis.hpp"
#include "support/fake_target.hpp"
#include "traffic_clock.hpp"

namespace ztp::engine {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeTarget;
using testing::TrafficClock;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Release "2" takes all of dev's traffic, as after a completed rollout.
    ASSERT_TRUE(target.add_replicas({"dev", "2", "sha256:2"}, 2).ok());
    fake.advance(seconds(1));
    ASSERT_TRUE(target.set_weights("dev", {{"2", 100}}).ok());
    params.window = seconds(60);
  }

  Result<verify::Judgement> watch() {
    began = clock.now();
    return watch_release(target, clock, "dev", "2", params, progress);
  }

  const ProgressEvent* find(const std::string& kind) const {
    for (const auto& e : events) {
      if (e.kind == kind) {
        return &e;
      }
    }
    return nullptr;
  }

  FakeClock fake;
  FakeTarget target{fake};
  TrafficClock clock{fake, target};
  spec::Watch params;
  std::vector<ProgressEvent> events;
  Progress progress = [this](const ProgressEvent& e) { events.push_back(e); };
  std::chrono::steady_clock::time_point began;
};

TEST_F(WatchTest, HealthyReleasePassesAtTheEndOfTheWindow) {
  auto r = watch();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->verdict, verify::Verdict::pass);
  EXPECT_EQ(clock.now() - began, seconds(60));
  EXPECT_EQ(r->measured.requests, 6000u);
  EXPECT_EQ(r->reason.rfind("release 2 error rate 0.0% (0 of 6000), p95 ", 0), 0u) << r->reason;
  ASSERT_NE(find("watch.started"), nullptr);
  ASSERT_NE(find("watch.passed"), nullptr);
  EXPECT_EQ(find("watch.passed")->data["requests"], 6000);
}

TEST_F(WatchTest, ErrorRateBreachEndsTheWatchEarly) {
  clock.behaviour["2"].error_ratio = 0.5;
  auto r = watch();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unhealthy);
  // At the first analysis: 1 s of traffic, 100 requests, half of them failed.
  EXPECT_EQ(r.error().message,
            "release 2 of dev failed its post-deploy watch 1s after its rollout: release 2 error "
            "rate 50.0% (50 of 100) above max 1.0%");
  EXPECT_EQ(clock.now() - began, k_analysis_interval);
  const auto* failed = find("watch.failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_DOUBLE_EQ(failed->data["error_rate"].get<double>(), 0.5);
  EXPECT_EQ(failed->data["release"], "2");
}

TEST_F(WatchTest, LateBreachIsCaughtWithinTheWindow) {
  // Healthy for 30 s (3000 requests), then every answer fails: the rate over the watch so far
  // passes 5% two seconds later (200 of 3200).
  params.limits.max_error_rate = 0.05;
  clock.on_tick = [&] {
    if (clock.now() - began >= seconds(30)) {
      clock.behaviour["2"].error_ratio = 1;
    }
  };
  auto r = watch();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(clock.now() - began, seconds(32));
  EXPECT_NE(r.error().message.find("32s after its rollout: release 2 error rate 6.2% (200 of "
                                   "3200) above max 5.0%"),
            std::string::npos)
      << r.error().message;
}

TEST_F(WatchTest, SlowReleaseFailsOnP95) {
  clock.behaviour["2"].latency_ms = 800;
  auto r = watch();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("release 2 p95 "), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(" ms above max 500 ms"), std::string::npos) << r.error().message;
}

TEST_F(WatchTest, TooLittleTrafficPassesAtTheEnd) {
  clock.rps = 0;
  auto r = watch();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->verdict, verify::Verdict::inconclusive);
  EXPECT_EQ(clock.now() - began, seconds(60));
  ASSERT_NE(find("watch.passed"), nullptr);
  EXPECT_NE(find("watch.passed")->message.find("too little traffic to judge, passed"),
            std::string::npos)
      << find("watch.passed")->message;
}

}  // namespace
}  // namespace ztp::engine
