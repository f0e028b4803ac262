#include "proxy/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "proxy/stats.hpp"

namespace ztp::proxy {
namespace {

TEST(HistogramTest, BucketsAreOrderedAndEndUnbounded) {
  for (size_t i = 1; i + 1 < k_latency_buckets; ++i) {
    EXPECT_LT(bucket_upper_ms(i - 1), bucket_upper_ms(i));
  }
  EXPECT_DOUBLE_EQ(bucket_upper_ms(0), 0.1);
  EXPECT_DOUBLE_EQ(bucket_upper_ms(k_latency_buckets - 2), 60000);
  EXPECT_TRUE(std::isinf(bucket_upper_ms(k_latency_buckets - 1)));
}

TEST(HistogramTest, SampleLandsInTheBucketItBounds) {
  EXPECT_EQ(bucket_for(0.05), 0u);
  EXPECT_EQ(bucket_for(0.1), 0u);
  EXPECT_EQ(bucket_upper_ms(bucket_for(0.11)), 0.15);
  EXPECT_EQ(bucket_upper_ms(bucket_for(7)), 8);
  EXPECT_EQ(bucket_for(1e9), k_latency_buckets - 1);
}

TEST(HistogramTest, EmptyHasZeroPercentiles) {
  Histogram h;
  EXPECT_EQ(h.percentile(0.5), 0);
  EXPECT_EQ(h.total(), 0u);
}

TEST(HistogramTest, PercentilesInterpolateInsideBuckets) {
  Histogram h;
  // 100 samples in (1, 1.5] ms, then 100 in (40, 50] ms.
  for (int i = 0; i < 100; ++i) {
    h.record(1.2);
    h.record(45);
  }
  EXPECT_EQ(h.total(), 200u);
  EXPECT_NEAR(h.percentile(0.5), 1.5, 1e-9);
  EXPECT_NEAR(h.percentile(0.25), 1.25, 1e-9);
  EXPECT_NEAR(h.percentile(0.95), 49, 1e-9);
  EXPECT_NEAR(h.percentile(0.99), 49.8, 1e-9);
  EXPECT_NEAR(h.percentile(1.0), 50, 1e-9);
}

TEST(HistogramTest, P99SeesTheSlowTail) {
  Histogram h;
  for (int i = 0; i < 980; ++i) {
    h.record(2);
  }
  for (int i = 0; i < 20; ++i) {
    h.record(900);
  }
  EXPECT_LE(h.percentile(0.95), 2);
  EXPECT_GT(h.percentile(0.99), 800);
  EXPECT_LE(h.percentile(0.99), 1000);
}

TEST(HistogramTest, MergeAddsCounts) {
  Histogram a;
  Histogram b;
  a.record(1);
  b.record(1);
  b.record(100);
  a.merge(b);
  EXPECT_EQ(a.total(), 3u);
  EXPECT_EQ(a.counts[bucket_for(1)], 2u);
}

TEST(ReleaseStatsTest, SumsTheSlotsOfEveryWorker) {
  ReleaseStats s("7", 3);
  s.record(0, 200, 1);
  s.record(1, 204, 2);
  s.record(2, 302, 3);
  s.record(0, 404, 4);
  s.record(1, 502, 5);
  s.connect_error(2);
  s.timeout(1);
  auto snap = s.snapshot();
  EXPECT_EQ(snap.release, "7");
  EXPECT_EQ(snap.requests, 5u);
  EXPECT_EQ(snap.status_2xx, 2u);
  EXPECT_EQ(snap.status_3xx, 1u);
  EXPECT_EQ(snap.status_4xx, 1u);
  EXPECT_EQ(snap.status_5xx, 1u);
  EXPECT_EQ(snap.connect_errors, 1u);
  EXPECT_EQ(snap.timeouts, 1u);
  ASSERT_EQ(snap.bucket_bounds_ms.size(), k_latency_buckets);
  ASSERT_EQ(snap.bucket_counts.size(), k_latency_buckets);
  uint64_t counted = 0;
  for (size_t i = 0; i < k_latency_buckets; ++i) {
    EXPECT_EQ(snap.bucket_bounds_ms[i], bucket_upper_ms(i)) << i;
    counted += snap.bucket_counts[i];
  }
  EXPECT_EQ(counted, 5u);
  EXPECT_EQ(snap.bucket_counts[bucket_for(3)], 1u);
  EXPECT_GT(snap.p50_ms, 2);
  EXPECT_LE(snap.p50_ms, 3);
}

}  // namespace
}  // namespace ztp::proxy
