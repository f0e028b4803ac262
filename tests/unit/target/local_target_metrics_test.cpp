// How LocalTarget turns the proxy's stats answer into a release's traffic metrics.
#include <gtest/gtest.h>

#include <limits>

#include "target/local/local_target_impl.hpp"
#include "util/percentile.hpp"

namespace ztp::target::local {
namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

TEST(ReleaseMetricsTest, TakesTheBucketsWithTheBoundsTheProxySent) {
  proxy::ReleaseCounters c;
  c.release = "4";
  c.requests = 10;
  c.status_2xx = 7;
  c.status_5xx = 1;
  c.connect_errors = 2;
  c.timeouts = 3;
  c.bucket_bounds_ms = {5, 50, 500, k_inf};
  c.bucket_counts = {2, 6, 2, 0};
  ReleaseMetrics m = detail::release_metrics(c);
  EXPECT_EQ(m.release, "4");
  EXPECT_EQ(m.requests, 10u);
  EXPECT_EQ(m.errors, 6u);  // 5xx, connect errors and timeouts
  EXPECT_EQ(m.bucket_bounds_ms, c.bucket_bounds_ms);
  EXPECT_EQ(m.bucket_counts, c.bucket_counts);
  // Half the samples are at most 5 + (50 - 5) * (3 / 6) ms.
  EXPECT_DOUBLE_EQ(bucket_percentile(m.bucket_bounds_ms, m.bucket_counts, 0.5), 27.5);
}

}  // namespace
}  // namespace ztp::target::local
