#include "spec/capacity.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace ztp::spec {
namespace {

Environment with(Strategy::Kind kind, int replicas) {
  Environment env;
  env.name = "prod";
  env.replicas = replicas;
  env.strategy.kind = kind;
  return env;
}

TEST(PeakReplicasTest, RollingAndCanaryRunTwiceTheirReplicas) {
  EXPECT_EQ(peak_replicas(with(Strategy::Kind::rolling, 3)).count, 6);
  EXPECT_EQ(peak_replicas(with(Strategy::Kind::canary, 3)).count, 6);
}

TEST(PeakReplicasTest, BlueGreenAddsTheWarmPreviousSetWhileItIsKept) {
  auto env = with(Strategy::Kind::blue_green, 3);
  EXPECT_EQ(peak_replicas(env).count, 9);
  env.strategy.blue_green.keep_previous = Duration(0);
  EXPECT_EQ(peak_replicas(env).count, 6);
}

TEST(PeakReplicasTest, TheLargestCountDoesNotOverflow) {
  EXPECT_EQ(peak_replicas(with(Strategy::Kind::blue_green, INT32_MAX)).count,
            3 * static_cast<int64_t>(INT32_MAX));
}

}  // namespace
}  // namespace ztp::spec
