#include "util/log.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

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

TEST(LogTest, AWriterTakesEveryLineWholeUntilItIsRemoved) {
  std::mutex mu;
  std::vector<std::string> lines;
  set_writer([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.emplace_back(line);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) {
        warn("line", {{"thread", std::to_string(t)}, {"i", std::to_string(i)}});
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  set_writer({});
  warn("after the writer was removed");
  std::lock_guard lock(mu);
  ASSERT_EQ(lines.size(), 200u);
  for (const auto& l : lines) {
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
    EXPECT_NE(l.find("WARN  line thread="), std::string::npos) << l;
  }
}

}  // namespace
}  // namespace ztp::log
