#include "proxy/access_log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

namespace ztp::proxy {
namespace {

AccessEntry entry() {
  AccessEntry e;
  e.env = "dev";
  e.release = "7";
  e.backend = "dev-7-0";
  e.method = "GET";
  e.path = "/a?b=1";
  e.status = 200;
  e.bytes = 612;
  e.duration_ms = 1.23456;
  e.request_id = "abc";
  e.client = "127.0.0.1";
  return e;
}

TEST(AccessLogTest, FormatsOneJsonObjectPerLine) {
  std::string out = "previous\n";
  format_access_line(out, entry());
  format_access_line(out, entry());
  ASSERT_EQ(out.back(), '\n');
  std::string line = out.substr(9, out.find('\n', 9) - 9);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["env"], "dev");
  EXPECT_EQ(j["release"], "7");
  EXPECT_EQ(j["backend"], "dev-7-0");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/a?b=1");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"], 612);
  EXPECT_EQ(j["request_id"], "abc");
  EXPECT_EQ(j["client"], "127.0.0.1");
  EXPECT_NE(line.find("\"duration_ms\":1.235,"), std::string::npos) << line;
  std::string ts = j["ts"];
  EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << ts;
  EXPECT_EQ(out.size(), 9 + 2 * (line.size() + 1));
}

TEST(AccessLogTest, EscapesWhatJsonCannotHoldAsIs) {
  AccessEntry e = entry();
  std::string path = "/q\"\\\x01\x7f\xc3\xa9/end";
  e.path = path;
  std::string out;
  format_access_line(out, e);
  EXPECT_NE(out.find(R"("path":"/q\"\\\u0001\u007f\u00c3\u00a9/end")"), std::string::npos) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["method"], "GET");
}

}  // namespace
}  // namespace ztp::proxy
