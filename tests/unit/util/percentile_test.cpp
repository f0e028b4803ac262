#include "util/percentile.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace ztp {
namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();
using Counts = std::vector<uint64_t>;

double p(const std::vector<double>& bounds, const Counts& counts, double q) {
  return bucket_percentile(bounds, counts, q);
}

TEST(BucketPercentileTest, InterpolatesInsideTheBucketThatHoldsTheRank) {
  const std::vector<double> bounds{10, 100, k_inf};
  EXPECT_EQ(p(bounds, {0, 0, 0}, 0.95), 0);
  EXPECT_DOUBLE_EQ(p(bounds, {10, 10, 0}, 0.5), 10);
  EXPECT_DOUBLE_EQ(p(bounds, {10, 10, 0}, 0.25), 5);
  EXPECT_DOUBLE_EQ(p(bounds, {0, 10, 0}, 0.5), 55);
  EXPECT_DOUBLE_EQ(p(bounds, {0, 10, 0}, 1.0), 100);
}

TEST(BucketPercentileTest, TheUnboundedBucketAnswersItsLowerBound) {
  // An infinite last bound (the server's counters) or a count past the last bound (the
  // proxy's histogram) are the same tail.
  EXPECT_DOUBLE_EQ(p({10, 100, k_inf}, {0, 0, 4}, 0.95), 100);
  EXPECT_DOUBLE_EQ(p({10, 100}, {0, 0, 4}, 0.95), 100);
}

TEST(BucketPercentileTest, ClampsTheFractionAndNeedsBounds) {
  EXPECT_DOUBLE_EQ(p({10, 100}, {0, 10}, 7), 100);
  EXPECT_DOUBLE_EQ(p({10, 100}, {10, 0}, -1), 0);
  EXPECT_EQ(p({}, {5}, 0.5), 0);
}

}  // namespace
}  // namespace ztp
