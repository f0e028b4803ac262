#include "proxy/access_log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "support/support.hpp"

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

// The numbered lines ("n\n") of `path` and its rotated files, oldest first.
std::vector<int> numbers_in(const std::filesystem::path& path, unsigned files) {
  std::vector<int> out;
  for (unsigned n = files; n-- > 0;) {
    auto file = AccessLog::rotated(path, n);
    if (!std::filesystem::exists(file)) {
      continue;
    }
    std::istringstream lines(testing::read_text(file));
    std::string line;
    while (std::getline(lines, line)) {
      out.push_back(std::stoi(line));
    }
  }
  return out;
}

TEST(AccessLogTest, RotatesBySizeAndKeepsTheLastFiles) {
  testing::TempDir dir;
  auto path = dir.path() / "access-dev.log";
  AccessLog log(path, {100, 3});
  int next = 0;
  for (int round = 0; round < 10; ++round) {
    std::string lines;
    while (lines.size() < 60) {
      lines += std::to_string(next++) + "\n";
    }
    ASSERT_TRUE(log.append(lines));
    log.maintain();
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(AccessLog::rotated(path, 1)));
  EXPECT_TRUE(std::filesystem::exists(AccessLog::rotated(path, 2)));
  EXPECT_FALSE(std::filesystem::exists(AccessLog::rotated(path, 3)));
  for (unsigned n = 0; n < 3; ++n) {
    EXPECT_LT(std::filesystem::file_size(AccessLog::rotated(path, n)), 100u + 60u) << n;
  }
  // What is kept is the newest lines, in order, with none missing in between.
  auto kept = numbers_in(path, 3);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back(), next - 1);
  for (size_t i = 1; i < kept.size(); ++i) {
    ASSERT_EQ(kept[i], kept[i - 1] + 1) << i;
  }
}

TEST(AccessLogTest, LosesNoLineWhileWritersAppendDuringRotation) {
  testing::TempDir dir;
  auto path = dir.path() / "access-dev.log";
  // Files enough that nothing is deleted: every line must be found again.
  AccessLog log(path, {4096, 1000});
  constexpr int k_writers = 4;
  constexpr int k_most = 100000;  // lines per writer at most
  std::atomic<bool> stop{false};
  std::vector<int> written(k_writers, 0);
  std::vector<std::thread> writers;
  for (int w = 0; w < k_writers; ++w) {
    writers.emplace_back([&, w] {
      std::string pending;
      int i = 0;
      for (; i < k_most && !stop.load(); ++i) {
        pending += std::to_string(w * k_most + i) + "\n";
        if (i % 10 == 9 && log.append(pending)) {
          pending.clear();  // kept for the next try when the file was being swapped
        }
      }
      log.append(pending, true);
      written[static_cast<size_t>(w)] = i;
    });
  }
  std::thread rotator([&] {
    while (!stop.load()) {
      log.maintain();
    }
  });
  // Rotated several times while the writers append.
  EXPECT_TRUE(
      testing::wait_until([&] { return std::filesystem::exists(AccessLog::rotated(path, 3)); }));
  stop = true;
  for (auto& t : writers) {
    t.join();
  }
  rotator.join();
  std::vector<int> expected;
  for (int w = 0; w < k_writers; ++w) {
    for (int i = 0; i < written[static_cast<size_t>(w)]; ++i) {
      expected.push_back(w * k_most + i);
    }
  }
  auto seen = numbers_in(path, 1000);
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), expected.size());
  EXPECT_TRUE(seen == expected);
}

TEST(AccessLogTest, ReopensAFileMovedAwayOrRemoved) {
  testing::TempDir dir;
  auto path = dir.path() / "access-dev.log";
  AccessLog log(path, {0, 5});
  ASSERT_TRUE(log.append("1\n"));
  auto moved = dir.path() / "access-dev.log.old";
  std::filesystem::rename(path, moved);  // logrotate's default
  ASSERT_TRUE(log.append("2\n"));        // still the open file: lands in the moved one
  log.maintain();
  ASSERT_TRUE(log.append("3\n"));
  EXPECT_EQ(testing::read_text(moved), "1\n2\n");
  EXPECT_EQ(testing::read_text(path), "3\n");

  std::filesystem::remove(path);
  log.maintain();
  ASSERT_TRUE(log.append("4\n"));
  EXPECT_EQ(testing::read_text(path), "4\n");
  // Size 0 never rotates.
  EXPECT_FALSE(std::filesystem::exists(AccessLog::rotated(path, 1)));
}

}  // namespace
}  // namespace ztp::proxy
