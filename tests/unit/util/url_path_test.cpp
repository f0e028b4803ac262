#include "util/url_path.hpp"

#include <gtest/gtest.h>

namespace ztp {
namespace {

using Segments = std::vector<std::string>;

TEST(PathSegmentsTest, SplitsOnSlashesAndDropsEmptySegmentsAndTheQuery) {
  EXPECT_EQ(path_segments("/api/v1/runs/7"), (Segments{"api", "v1", "runs", "7"}));
  EXPECT_EQ(path_segments("/api/v1//runs/7/?limit=5&x=/a/b"), (Segments{"api", "v1", "runs", "7"}));
  EXPECT_EQ(path_segments("envs/dev"), (Segments{"envs", "dev"}));
  EXPECT_EQ(path_segments("/"), Segments{});
  EXPECT_EQ(path_segments(""), Segments{});
  EXPECT_EQ(path_segments("?only=query"), Segments{});
  EXPECT_EQ(path_segments("/a%2Fb"), Segments{"a%2Fb"});  // no decoding
}

}  // namespace
}  // namespace ztp
