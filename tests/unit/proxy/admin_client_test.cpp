#include "proxy/admin_client.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace ztp::proxy {
namespace {

TEST(ParseEnvStatsTest, TakesTheBucketBoundsWithTheCounts) {
  auto stats = parse_env_stats(R"({"env": "prod",
      "releases": [{"release": "7", "requests": 6, "status_2xx": 5, "status_5xx": 1,
                    "connect_errors": 2, "timeouts": 3, "p50_ms": 4.5, "p95_ms": 9, "p99_ms": 9.8,
                    "buckets": [{"le_ms": 1, "count": 1}, {"le_ms": 10, "count": 5},
                                {"le_ms": "+Inf", "count": 0}]}],
      "unrouted": {"release": "", "requests": 2, "status_5xx": 2,
                   "buckets": [{"le_ms": 0.5, "count": 2}, {"le_ms": "+Inf", "count": 0}]}})");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->env, "prod");
  ASSERT_EQ(stats->releases.size(), 1u);
  const ReleaseCounters& c = stats->releases[0];
  EXPECT_EQ(c.release, "7");
  EXPECT_EQ(c.requests, 6u);
  EXPECT_EQ(c.status_2xx, 5u);
  EXPECT_EQ(c.status_5xx, 1u);
  EXPECT_EQ(c.connect_errors, 2u);
  EXPECT_EQ(c.timeouts, 3u);
  EXPECT_DOUBLE_EQ(c.p50_ms, 4.5);
  EXPECT_DOUBLE_EQ(c.p99_ms, 9.8);
  ASSERT_EQ(c.bucket_bounds_ms.size(), 3u);
  EXPECT_DOUBLE_EQ(c.bucket_bounds_ms[0], 1);
  EXPECT_DOUBLE_EQ(c.bucket_bounds_ms[1], 10);
  EXPECT_TRUE(std::isinf(c.bucket_bounds_ms[2]));
  EXPECT_EQ(c.bucket_counts, (std::vector<uint64_t>{1, 5, 0}));
  EXPECT_EQ(stats->unrouted.requests, 2u);
  EXPECT_EQ(stats->unrouted.bucket_bounds_ms.size(), 2u);
  EXPECT_EQ(stats->unrouted.bucket_counts, (std::vector<uint64_t>{2, 0}));
}

TEST(ParseEnvStatsTest, AnAnswerWithoutBucketsHasAnEmptyHistogram) {
  auto stats = parse_env_stats(R"({"env": "dev", "releases": [{"release": "1", "requests": 0}]})");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_EQ(stats->releases.size(), 1u);
  EXPECT_TRUE(stats->releases[0].bucket_bounds_ms.empty());
  EXPECT_TRUE(stats->releases[0].bucket_counts.empty());
}

// Percentiles read from bounds that are missing or out of order would be wrong without a sign.
TEST(ParseEnvStatsTest, RefusesBucketsWithoutBoundsOrOutOfOrder) {
  for (const char* buckets : {R"([{"count": 1}])", R"([{"le_ms": "many", "count": 1}])",
                              R"([{"le_ms": 10, "count": 1}, {"le_ms": 5, "count": 1}])",
                              R"([{"le_ms": "+Inf", "count": 1}, {"le_ms": 5, "count": 1}])"}) {
    auto stats = parse_env_stats(std::string(R"({"env": "dev", "releases": [{"release": "1",
                                                 "buckets": )") +
                                 buckets + "}]}");
    ASSERT_FALSE(stats.ok()) << buckets;
    EXPECT_EQ(stats.error().code, Errc::internal);
    EXPECT_NE(stats.error().message.find("release '1'"), std::string::npos)
        << stats.error().message;
  }
  EXPECT_FALSE(parse_env_stats("not json").ok());
}

}  // namespace
}  // namespace ztp::proxy
