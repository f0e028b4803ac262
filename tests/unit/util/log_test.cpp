#include "util/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ztp::log {
namespace {

TEST(LogTest, JsonLinesCarryMessageLevelAndFields) {
  auto line = format_line(Format::json, Level::warn, "replica unhealthy",
                          {{"env", "dev"}, {"replica", "2"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "replica unhealthy");
  EXPECT_EQ(j["env"], "dev");
  EXPECT_EQ(j["replica"], "2");
  EXPECT_TRUE(j.contains("ts"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, TextLinesQuoteValuesWithSpaces) {
  auto line = format_line(Format::text, Level::info, "deployed", {{"env", "prod"}, {"why", "a b"}});
  EXPECT_NE(line.find("INFO  deployed env=prod why=\"a b\""), std::string::npos) << line;
}

TEST(LogTest, ParsesFormats) {
  Format f = Format::text;
  EXPECT_TRUE(parse_format("json", f));
  EXPECT_EQ(f, Format::json);
  EXPECT_FALSE(parse_format("xml", f));
}

}  // namespace
}  // namespace ztp::log
