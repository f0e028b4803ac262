#include "util/duration.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ztp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::chrono::milliseconds parsed(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << (d.ok() ? "" : d.error().message);
  return d.ok() ? *d : std::chrono::milliseconds(-1);
}

std::string failure(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->count() : 0) << "ms";
  return d.ok() ? "" : d.error().message;
}

TEST(DurationTest, ParsesEachUnit) {
  EXPECT_EQ(parsed("500ms"), 500ms);
  EXPECT_EQ(parsed("10s"), 10s);
  EXPECT_EQ(parsed("5m"), 5min);
  EXPECT_EQ(parsed("1h"), 1h);
  EXPECT_EQ(parsed("0s"), 0ms);
}

TEST(DurationTest, ParsesSumsLargestUnitFirst) {
  EXPECT_EQ(parsed("1m30s"), 90s);
  EXPECT_EQ(parsed("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_THAT(failure("30s1m"), HasSubstr("out of order"));
  EXPECT_THAT(failure("1s1s"), HasSubstr("repeats a unit"));
}

TEST(DurationTest, RejectsEmptyNegativeAndUnitless) {
  EXPECT_EQ(failure(""), "the duration is empty");
  EXPECT_EQ(failure("-5s"), "`-5s` is negative; durations are 0 or more");
  EXPECT_EQ(failure("30"), "`30` has no unit; write 30s for seconds, or use ms, m or h");
  EXPECT_EQ(failure("1m30"), "`1m30` has no unit; write 30s for seconds, or use ms, m or h");
}

TEST(DurationTest, RejectsUnknownUnitsFractionsAndJunk) {
  EXPECT_EQ(failure("5d"), "`5d` has the unknown unit `d`; use ms, s, m or h");
  EXPECT_EQ(failure("5S"), "`5S` has the unknown unit `S`; use ms, s, m or h");
  EXPECT_THAT(failure("1.5s"), HasSubstr("has a fraction"));
  EXPECT_THAT(failure("s"), HasSubstr("where a number was expected"));
  EXPECT_THAT(failure("5 s"), HasSubstr("where a unit was expected"));
  EXPECT_THAT(failure(" 5s"), HasSubstr("where a number was expected"));
}

TEST(DurationTest, RejectsOverflow) {
  EXPECT_EQ(failure("9223372036854775808ms"), "`9223372036854775808ms` is too large");
  EXPECT_EQ(failure("9223372036854775h"), "`9223372036854775h` is too large");
  EXPECT_EQ(failure("2562047788015h59m"), "`2562047788015h59m` is too large");
  EXPECT_EQ(parsed("9223372036854775807ms").count(), 9223372036854775807LL);
}

TEST(DurationTest, FormatsTheShortestForm) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(1h + 5min), "1h5m");
  EXPECT_EQ(format_duration(-2s), "-2s");
}

TEST(DurationTest, FormatAndParseRoundTrip) {
  for (long long ms :
       {1LL, 999LL, 1000LL, 61'001LL, 3'600'000LL, 86'400'000LL * 3 + 7, 9223372036854775807LL}) {
    std::chrono::milliseconds d(ms);
    EXPECT_EQ(parsed(format_duration(d)), d) << ms;
  }
}

}  // namespace
}  // namespace ztp
