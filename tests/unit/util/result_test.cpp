#include "util/result.hpp"

#include <gtest/gtest.h>

namespace ztp {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) {
    return make_error(Errc::invalid, "not positive");
  }
  return v;
}

Result<int> doubled(int v) {
  ZTP_TRY(parse_positive(v));
  return v * 2;
}

TEST(ResultTest, CarriesValueOrError) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_EQ(bad.error().message, "not positive");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(ResultTest, TryPropagatesTheError) {
  EXPECT_EQ(*doubled(4), 8);
  auto r = doubled(0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
}

TEST(ResultTest, ExitCodesFollowTheDesign) {
  EXPECT_EQ(exit_code(Errc::invalid), 1);
  EXPECT_EQ(exit_code(Errc::internal), 1);
  EXPECT_EQ(exit_code(Errc::unavailable), 10);
  EXPECT_EQ(exit_code(Errc::unhealthy), 11);
  EXPECT_EQ(exit_code(Errc::rolled_back), 12);
  EXPECT_EQ(exit_code(Errc::timeout), 13);
  EXPECT_EQ(exit_code(Errc::refused), 14);
  EXPECT_EQ(errc_name(Errc::rolled_back), "rolled_back");
}

TEST(ResultTest, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> bad = make_error(Errc::timeout, "late");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::timeout);
}

}  // namespace
}  // namespace ztp
