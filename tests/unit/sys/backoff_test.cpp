#include "sys/backoff.hpp"

#include <gtest/gtest.h>

namespace ztp::sys {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, MultipliesFromTheFirstWaitUpToTheCap) {
  Backoff b{milliseconds(100), 2.0, milliseconds(350), false};
  EXPECT_EQ(b.delay(1), milliseconds(100));
  EXPECT_EQ(b.delay(2), milliseconds(200));
  EXPECT_EQ(b.delay(3), milliseconds(350));
  EXPECT_EQ(b.delay(60), milliseconds(350)) << "no overflow far past the cap";
}

TEST(BackoffTest, EqualJitterSpreadsBetweenHalfAndAll) {
  Backoff b{milliseconds(1000), 2.0, milliseconds(3000), true};
  EXPECT_EQ(b.delay(2, 0.0), milliseconds(1000));
  EXPECT_EQ(b.delay(2, 0.5), milliseconds(1500));
  EXPECT_EQ(b.delay(2, 1.0), milliseconds(2000));
  EXPECT_EQ(b.delay(5, 0.0), milliseconds(1500)) << "the cap applies before the jitter";
  EXPECT_EQ(b.delay(2, 7.0), milliseconds(2000)) << "a random outside [0, 1] is clamped";
}

TEST(BackoffTest, AMultiplierBelowOneAndACapBelowTheStartAreRaised) {
  Backoff b{milliseconds(500), 0.5, milliseconds(10), false};
  EXPECT_EQ(b.delay(1), milliseconds(500));
  EXPECT_EQ(b.delay(4), milliseconds(500));
}

TEST(BackoffTest, TheDefaultRandomStaysInItsRange) {
  auto random = default_random();
  for (int i = 0; i < 1000; ++i) {
    double r = random();
    ASSERT_GE(r, 0.0);
    ASSERT_LT(r, 1.0);
  }
}

}  // namespace
}  // namespace ztp::sys
