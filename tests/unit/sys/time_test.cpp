#include "sys/time.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ztp::sys {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TimeTest, FormatsRfc3339UtcAndParsesBack) {
  auto t = WallTime(milliseconds(1'700'000'000'042));
  EXPECT_EQ(format_rfc3339(t), "2023-11-14T22:13:20.042Z");
  EXPECT_EQ(format_rfc3339(t, TimePrecision::seconds), "2023-11-14T22:13:20Z");
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)).value(), t);
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z").value(), WallTime(seconds(1'700'000'000)));
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20.123456Z").value(),
            WallTime(milliseconds(1'700'000'000'123)));
  EXPECT_EQ(from_unix_ms(1'700'000'000'042), t);
  EXPECT_EQ(format_rfc3339(WallTime{}, TimePrecision::seconds), "1970-01-01T00:00:00Z");
}

TEST(TimeTest, RefusesWhatIsNotRfc3339Utc) {
  for (const char* bad : {"2023-11-14 22:13:20", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z",
                          "2023-11-14T22:13:20.1xZ", "2023-13-14T22:13:20Z", "", "Z"}) {
    auto r = parse_rfc3339(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid);
  }
}

TEST(TimeTest, FormatsUtcByAPattern) {
  auto t = WallTime(seconds(1'700'000'000)) + milliseconds(999);
  EXPECT_EQ(format_utc(t, "%Y-%m-%d %H:%M UTC"), "2023-11-14 22:13 UTC");
  EXPECT_EQ(format_utc(t, "%Y-%m-%d %H:%M:%SZ"), "2023-11-14 22:13:20Z") << "whole seconds";
}

TEST(TimeTest, ParsesHttpDatesAndCertificateDates) {
  // RFC 9110 §5.6.7's example.
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").value(),
            WallTime(seconds(784'111'777)));
  EXPECT_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").ok());
  // How libcurl prints a certificate's expiry: a space-padded day.
  EXPECT_EQ(parse_utc("Jan  1 00:00:00 2030 GMT", "%b %d %H:%M:%S %Y GMT").value(),
            WallTime(seconds(1'893'456'000)));
  EXPECT_FALSE(parse_utc("Jan  1 00:00:00 2030 GMT trailing", "%b %d %H:%M:%S %Y GMT").ok());
}

TEST(TimeTest, ThreadsFormatAndParseAtOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 2000; ++k) {
        auto t = WallTime(seconds(1'700'000'000 + i * 86'400 + k));
        if (parse_rfc3339(format_rfc3339(t)).value() != t) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace ztp::sys
