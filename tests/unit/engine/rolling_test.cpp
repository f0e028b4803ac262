#include "engine/rolling.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/fake_target.hpp"

namespace ztp::engine {
namespace {

using testing::FakeClock;
using testing::FakeTarget;

class RollingTest : public ::testing::Test {
 protected:
  FakeClock clock;
  FakeTarget target{clock};
  std::vector<ProgressEvent> events;
  Progress progress = [this](const ProgressEvent& e) { events.push_back(e); };

  RolloutPlan plan(const std::string& release, int replicas) {
    RolloutPlan p;
    p.next = {"dev", release, "sha256:" + release};
    p.replicas = replicas;
    p.start_timeout = std::chrono::seconds(5);
    return p;
  }

  bool saw(const std::string& kind) const {
    return std::any_of(events.begin(), events.end(),
                       [&](const ProgressEvent& e) { return e.kind == kind; });
  }
};

TEST_F(RollingTest, FirstDeployBringsUpEveryReplicaWithFullWeight) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 3), {1, 0}, progress).ok());
  auto obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].healthy(), 3);
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"1", 100}}));
}

TEST_F(RollingTest, UpgradeKeepsCapacityWithNoUnavailability) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 3), {1, 0}, progress).ok());
  target.serving_history.clear();
  ASSERT_TRUE(rolling_update(target, clock, plan("2", 3), {1, 0}, progress).ok());
  // max_unavailable 0: never fewer than 3 healthy replicas with traffic at any change.
  ASSERT_FALSE(target.serving_history.empty());
  EXPECT_GE(*std::min_element(target.serving_history.begin(), target.serving_history.end()), 3);
  // max_surge 1: never more than 4 replicas at once, so at most 4 serving.
  EXPECT_LE(*std::max_element(target.serving_history.begin(), target.serving_history.end()), 4);
  auto obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].release, "2");
  EXPECT_EQ(obs->sets[0].healthy(), 3);
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"2", 100}}));
}

TEST_F(RollingTest, MaxUnavailableRetiresOldFirst) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 4), {1, 0}, progress).ok());
  target.serving_history.clear();
  ASSERT_TRUE(rolling_update(target, clock, plan("2", 4), {0, 2}, progress).ok());
  EXPECT_GE(*std::min_element(target.serving_history.begin(), target.serving_history.end()), 2);
  EXPECT_LE(*std::max_element(target.serving_history.begin(), target.serving_history.end()), 4);
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"2", 100}}));
}

TEST_F(RollingTest, ReplicaThatNeverGetsHealthyRestoresThePreviousStateExactly) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 3), {1, 0}, progress).ok());
  auto before = target.observe("dev");
  target.never_healthy.insert("2");
  auto r = rolling_update(target, clock, plan("2", 3), {1, 0}, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("did not become healthy within 5000 ms"), std::string::npos)
      << r.error().message;
  auto after = target.observe("dev");
  ASSERT_EQ(after->sets.size(), 1u);
  EXPECT_EQ(after->sets[0].release, "1");
  ASSERT_EQ(after->sets[0].replicas.size(), before->sets[0].replicas.size());
  for (size_t i = 0; i < after->sets[0].replicas.size(); ++i) {
    EXPECT_EQ(after->sets[0].replicas[i].id, before->sets[0].replicas[i].id);
  }
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"1", 100}}));
  EXPECT_TRUE(saw("rollout.rolled_back"));
}

TEST_F(RollingTest, FailureAfterOldReplicasLeftBringsThemBack) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 2), {0, 1}, progress).ok());
  // max_unavailable 1: an old replica is retired before the new one is started.
  target.crashing.insert("2");
  auto r = rolling_update(target, clock, plan("2", 2), {0, 1}, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::rolled_back);
  EXPECT_NE(r.error().message.find("crashed: exited with code 1"), std::string::npos)
      << r.error().message;
  auto after = target.observe("dev");
  ASSERT_EQ(after->sets.size(), 1u);
  EXPECT_EQ(after->sets[0].release, "1");
  EXPECT_EQ(after->sets[0].healthy(), 2);
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"1", 100}}));
}

TEST_F(RollingTest, ReplicasOfTheTargetReleaseThatDoNotServeAreReplacedFirst) {
  // A process died rolling dev from 1 to 2 while it stopped a replica of 1: 1 has two healthy
  // replicas and a stopped one, 2 has two healthy ones. Going back to 1 must not stall.
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 3), {1, 0}, progress).ok());
  ASSERT_TRUE(target.add_replicas(plan("2", 3).next, 2).ok());
  clock.advance(std::chrono::seconds(1));
  auto obs = target.observe("dev");
  std::string left = obs->find("1")->replicas.back().id;
  target.stopped.insert(left);
  ASSERT_TRUE(target.set_weights("dev", {{"1", 50}, {"2", 50}}).ok());

  auto back = rolling_update(target, clock, plan("1", 3), {1, 0}, progress);
  ASSERT_TRUE(back.ok()) << back.error().message;
  obs = target.observe("dev");
  ASSERT_EQ(obs->sets.size(), 1u);
  EXPECT_EQ(obs->sets[0].release, "1");
  EXPECT_EQ(obs->sets[0].healthy(), 3);
  for (const auto& r : obs->sets[0].replicas) {
    EXPECT_NE(r.id, left) << "the stopped replica is gone";
  }
  EXPECT_EQ(target.weights("dev"), (std::map<std::string, int>{{"1", 100}}));
}

TEST_F(RollingTest, ApplyWeightsSetsThemInOneChangeAndReportsThem) {
  ASSERT_TRUE(rolling_update(target, clock, plan("1", 1), {1, 0}, progress).ok());
  ASSERT_TRUE(rolling_update(target, clock, plan("2", 1), {1, 0}, progress).ok());
  events.clear();
  target.weight_changes.clear();
  const std::map<std::string, int> weights{{"2", 100}};
  ASSERT_TRUE(apply_weights(target, "dev", weights, progress).ok());
  ASSERT_EQ(target.weight_changes.size(), 1u);
  EXPECT_EQ(target.weights("dev"), weights);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "weights");
  EXPECT_EQ(events[0].message, R"(weights {"2":100})");
  EXPECT_EQ(events[0].data["weights"], nlohmann::json(weights));
}

TEST(ProportionalWeightsTest, SumToHundred) {
  auto w = proportional_weights({{"a", 1}, {"b", 2}});
  EXPECT_EQ(w["a"] + w["b"], 100);
  EXPECT_EQ(w["a"], 33);
  EXPECT_EQ(w["b"], 67);
  auto none = proportional_weights({{"a", 0}});
  EXPECT_EQ(none["a"], 0);
  auto three = proportional_weights({{"a", 1}, {"b", 1}, {"c", 1}});
  EXPECT_EQ(three["a"] + three["b"] + three["c"], 100);
}

}  // namespace
}  // namespace ztp::engine
