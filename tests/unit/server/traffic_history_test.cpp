#include "server/traffic_history.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "unit/store/store_test_util.hpp"

namespace ztp::server {
namespace {

using namespace std::chrono_literals;

constexpr double k_inf = std::numeric_limits<double>::infinity();

// Cumulative counters the test sets, as the proxy would report them.
struct FakeProxy {
  std::map<std::string, std::vector<target::ReleaseMetrics>> envs;
  TrafficSource source() {
    return [this](const std::string& env) -> Result<std::vector<target::ReleaseMetrics>> {
      auto it = envs.find(env);
      if (it == envs.end()) {
        return make_error(Errc::unavailable, "no proxy serves " + env);
      }
      return it->second;
    };
  }
};

target::ReleaseMetrics counters(const std::string& release, uint64_t requests, uint64_t errors,
                                std::vector<uint64_t> buckets) {
  target::ReleaseMetrics m;
  m.release = release;
  m.requests = requests;
  m.errors = errors;
  m.bucket_bounds_ms = {10, 100, 1000, k_inf};
  m.bucket_counts = std::move(buckets);
  return m;
}

TEST(TrafficHistory, RatesErrorRateAndP95PerReleaseBetweenSamples) {
  store::test::TempStore s;
  FakeProxy proxy;
  proxy.envs["prod"] = {counters("1", 100, 0, {100, 0, 0, 0})};
  TrafficHistory h(*s.store, {"prod", "qa"}, proxy.source(), s.clock, {});
  h.sample_once();  // the baseline: no point yet
  EXPECT_TRUE(h.points("prod", 0).empty());

  s.clock.advance(5s);
  proxy.envs["prod"] = {counters("1", 150, 5, {100, 50, 0, 0}),
                        counters("2", 20, 0, {20, 0, 0, 0})};
  h.sample_once();
  auto points = h.points("prod", 0);
  ASSERT_EQ(points.size(), 1u) << points.dump();  // release 2 is new: a baseline only
  EXPECT_EQ(points[0]["release"], "1");
  EXPECT_EQ(points[0]["at"], s.now_ms());
  EXPECT_DOUBLE_EQ(points[0]["requests_per_s"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(points[0]["error_rate"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(points[0]["p95_ms"].get<double>(), 95.5);  // 47.5 of 50 in 10-100 ms

  s.clock.advance(5s);
  int64_t third = s.now_ms();
  proxy.envs["prod"] = {counters("1", 150, 5, {100, 50, 0, 0}),
                        counters("2", 40, 0, {40, 0, 0, 0})};
  h.sample_once();
  auto since = h.points("prod", third);
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0]["requests_per_s"], 0.0);
  EXPECT_EQ(since[0]["p95_ms"], 0.0);
  EXPECT_EQ(since[1]["release"], "2");
  EXPECT_DOUBLE_EQ(since[1]["requests_per_s"].get<double>(), 4.0);
  EXPECT_TRUE(h.points("qa", 0).empty());
}

TEST(TrafficHistory, ARestartedProxyStartsANewBaseline) {
  store::test::TempStore s;
  FakeProxy proxy;
  proxy.envs["prod"] = {counters("1", 100, 0, {100, 0, 0, 0})};
  TrafficHistory h(*s.store, {"prod"}, proxy.source(), s.clock, {});
  h.sample_once();
  s.clock.advance(5s);
  proxy.envs["prod"] = {counters("1", 3, 0, {3, 0, 0, 0})};
  h.sample_once();
  EXPECT_TRUE(h.points("prod", 0).empty());
  s.clock.advance(5s);
  proxy.envs["prod"] = {counters("1", 13, 0, {13, 0, 0, 0})};
  h.sample_once();
  auto points = h.points("prod", 0);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_DOUBLE_EQ(points[0]["requests_per_s"].get<double>(), 2.0);
}

TEST(TrafficHistory, KeepsABoundedRing) {
  store::test::TempStore s;
  FakeProxy proxy;
  TrafficHistoryOptions options;
  options.samples = 3;
  TrafficHistory h(*s.store, {"prod"}, proxy.source(), s.clock, options);
  for (uint64_t i = 0; i < 10; ++i) {
    proxy.envs["prod"] = {counters("1", i * 10, 0, {i * 10, 0, 0, 0})};
    h.sample_once();
    s.clock.advance(1s);
  }
  auto points = h.points("prod", 0);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points.back()["at"], s.now_ms() - 1000);
}

TEST(TrafficHistory, SeriesMarksDeploymentsFromTheStore) {
  store::test::TempStore s;
  FakeProxy proxy;
  TrafficHistory h(*s.store, {"prod"}, proxy.source(), s.clock, {});
  store::NewRelease nr;
  nr.env = "prod";
  nr.digest = "sha256:" + std::string(64, 'b');
  nr.short_sha = "b0b0b0b";
  auto old = s->create_release(nr);
  ASSERT_TRUE(s->set_release_status("prod", old->revision, store::ReleaseStatus::active).ok());
  s.clock.advance(10s);
  int64_t since = s.now_ms();
  auto next = s->create_release(nr);
  ASSERT_TRUE(s->set_release_status("prod", next->revision, store::ReleaseStatus::active).ok());
  auto j = h.series("prod", since);
  EXPECT_EQ(j["env"], "prod");
  EXPECT_TRUE(j["points"].is_array());
  ASSERT_EQ(j["deployments"].size(), 1u) << j.dump();
  EXPECT_EQ(j["deployments"][0]["revision"], next->revision);
  EXPECT_EQ(j["deployments"][0]["short_sha"], "b0b0b0b");
  EXPECT_EQ(j["deployments"][0]["at"], since);
}

TEST(TrafficHistory, StartAndStopSampleOnTheirOwnThread) {
  store::test::TempStore s;
  std::atomic<int> reads{0};
  TrafficSource source = [&](const std::string&) -> Result<std::vector<target::ReleaseMetrics>> {
    ++reads;
    return std::vector<target::ReleaseMetrics>{};
  };
  TrafficHistoryOptions options;
  options.interval = 5ms;
  TrafficHistory h(*s.store, {"prod"}, source, s.clock, options);
  h.start();
  EXPECT_TRUE(testing::wait_until([&] { return reads.load() >= 3; }));
  h.stop();
  int after = reads.load();
  h.stop();
  EXPECT_EQ(reads.load(), after);
}

}  // namespace
}  // namespace ztp::server
