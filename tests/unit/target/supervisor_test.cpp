#include "target/local/supervisor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/fake_clock.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ztp::testing::FakeClock;
using ztp::testing::TempDir;

RestartLimits limits(int max_restarts, milliseconds window) {
  return RestartLimits{max_restarts, window, milliseconds(100), seconds(10)};
}

TEST(RestartPolicyTest, BackoffDoublesFromTheInitialDelay) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(10, seconds(60)));
  std::vector<milliseconds> delays;
  for (int i = 0; i < 4; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value());
    delays.push_back(*d);
    clock.advance(*d);
  }
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                               milliseconds(400), milliseconds(800)}));
}

TEST(RestartPolicyTest, BackoffIsCappedAtTheMaximum) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(20, std::chrono::hours(1)));
  milliseconds last{0};
  for (int i = 0; i < 15; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value());
    last = *d;
    clock.advance(*d);
  }
  EXPECT_EQ(last, seconds(10));
}

TEST(RestartPolicyTest, MoreCrashesThanAllowedWithinTheWindowIsACrashLoop) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(3, seconds(60)));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(policy.record_crash().has_value()) << "crash " << i + 1;
    clock.advance(seconds(1));
  }
  EXPECT_FALSE(policy.record_crash().has_value());
}

TEST(RestartPolicyTest, CrashesSpreadBeyondTheWindowNeverLoop) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(2, seconds(10)));
  for (int i = 0; i < 20; ++i) {
    auto d = policy.record_crash();
    ASSERT_TRUE(d.has_value()) << "crash " << i + 1;
    clock.advance(seconds(6));
  }
  EXPECT_EQ(policy.crashes_in_window(), 1);
}

TEST(RestartPolicyTest, BackoffShrinksOnceOldCrashesAgeOut) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(10, seconds(30)));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(policy.record_crash().has_value());
    clock.advance(seconds(1));
  }
  clock.advance(seconds(31));
  EXPECT_EQ(policy.crashes_in_window(), 0);
  EXPECT_EQ(policy.record_crash(), milliseconds(100));
}

TEST(RestartPolicyTest, ZeroRestartsLoopsOnTheFirstCrash) {
  FakeClock clock;
  RestartPolicy policy(clock, limits(0, seconds(60)));
  EXPECT_FALSE(policy.record_crash().has_value());
}

std::string slurp(const std::filesystem::path& p) {
  auto text = fs::read_file(p);
  return text ? *text : std::string("<missing>");
}

TEST(RotatingLogTest, RotatesAtTheSizeLimitKeepingWholeLines) {
  TempDir dir;
  RotatingLog log(dir / "out.log", 10, 2);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.write("aaaa\n"));
  ASSERT_TRUE(log.write("bbbb\n"));  // exactly 10 bytes: no rotation yet
  EXPECT_FALSE(std::filesystem::exists(dir / "out.log.1"));
  ASSERT_TRUE(log.write("cccc\n"));
  EXPECT_EQ(slurp(dir / "out.log.1"), "aaaa\nbbbb\n");
  EXPECT_EQ(slurp(dir / "out.log"), "cccc\n");
}

TEST(RotatingLogTest, KeepsOnlyTheConfiguredNumberOfFiles) {
  TempDir dir;
  RotatingLog log(dir / "out.log", 5, 2);
  ASSERT_TRUE(log.open());
  for (const char* line : {"111\n", "222\n", "333\n", "444\n"}) {
    ASSERT_TRUE(log.write(line));
  }
  EXPECT_EQ(slurp(dir / "out.log"), "444\n");
  EXPECT_EQ(slurp(dir / "out.log.1"), "333\n");
  EXPECT_EQ(slurp(dir / "out.log.2"), "222\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.log.3"));
}

TEST(RotatingLogTest, SplitsOneChunkAcrossFilesAtLineBoundaries) {
  TempDir dir;
  RotatingLog log(dir / "out.log", 8, 3);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.write("ab\ncd\nef\ngh\n"));
  EXPECT_EQ(slurp(dir / "out.log.1"), "ab\ncd\n");
  EXPECT_EQ(slurp(dir / "out.log"), "ef\ngh\n");
}

TEST(RotatingLogTest, CutsALineLongerThanAFile) {
  TempDir dir;
  RotatingLog log(dir / "out.log", 4, 3);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.write("0123456789"));
  EXPECT_EQ(slurp(dir / "out.log.2"), "0123");
  EXPECT_EQ(slurp(dir / "out.log.1"), "4567");
  EXPECT_EQ(slurp(dir / "out.log"), "89");
}

TEST(RotatingLogTest, AppendsToAnExistingFileAndCountsItsSize) {
  TempDir dir;
  {
    std::ofstream f(dir / "out.log");
    f << "12345678";
  }
  RotatingLog log(dir / "out.log", 10, 1);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.write("abc\n"));
  EXPECT_EQ(slurp(dir / "out.log.1"), "12345678");
  EXPECT_EQ(slurp(dir / "out.log"), "abc\n");
}

SuperviseOptions valid_options(const std::filesystem::path& dir) {
  SuperviseOptions o;
  o.state_dir = dir / "replica";
  o.workdir = dir;
  o.env = "dev";
  o.release = "r1";
  o.port = 8080;
  o.command = {"/bin/true"};
  return o;
}

TEST(SuperviseValidateTest, AcceptsSaneOptions) {
  TempDir dir;
  EXPECT_TRUE(validate(valid_options(dir.path())));
}

TEST(SuperviseValidateTest, RejectsAMissingWorkdirNamingIt) {
  TempDir dir;
  auto o = valid_options(dir.path());
  o.workdir = dir / "nope";
  auto r = validate(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find((dir / "nope").string()), std::string::npos);
}

TEST(SuperviseValidateTest, RejectsAnEmptyCommandAndABadPort) {
  TempDir dir;
  auto o = valid_options(dir.path());
  o.command.clear();
  EXPECT_FALSE(validate(o));
  o = valid_options(dir.path());
  o.port = 70000;
  EXPECT_FALSE(validate(o));
}

}  // namespace
}  // namespace ztp::target::local
