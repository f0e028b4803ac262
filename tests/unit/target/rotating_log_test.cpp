#include "target/local/rotating_log.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using ztp::testing::TempDir;

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

TEST(RotatingLogTest, LogsAreTheOwnersOnlyWhateverTheUmask) {
  TempDir dir;
  ztp::testing::ScopedUmask open_umask(0);
  ASSERT_TRUE(fs::atomic_write(dir / "old.log", "from an older ztp\n", 0644).ok());
  RotatingLog old_log(dir / "old.log", 1024, 2);
  ASSERT_TRUE(old_log.open());
  EXPECT_EQ(ztp::testing::file_mode(dir / "old.log"), 0600u);

  RotatingLog log(dir / "out.log", 10, 2);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.write("aaaa\nbbbb\n"));
  ASSERT_TRUE(log.write("cccc\n"));
  ASSERT_TRUE(std::filesystem::exists(dir / "out.log.1"));
  EXPECT_EQ(ztp::testing::file_mode(dir / "out.log"), 0600u);
  EXPECT_EQ(ztp::testing::file_mode(dir / "out.log.1"), 0600u);
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

}  // namespace
}  // namespace ztp::target::local
