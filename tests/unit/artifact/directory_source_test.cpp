#include "artifact/directory_source.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "artifact_helpers.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

using test::write_file;

std::vector<std::string> paths_of(const std::vector<FileEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    out.push_back(e.path);
  }
  return out;
}

TEST(DirectorySourceTest, ListsEntriesSortedWithKindsAndContent) {
  testing::TempDir dir;
  write_file(dir / "site/index.html", "<h1>hi</h1>");
  write_file(dir / "run.sh", "#!/bin/sh\n", 0750);
  write_file(dir / "a.txt", "a");
  std::filesystem::create_symlink("site/index.html", dir / "home.html");
  auto entries = DirectorySource(dir.path(), {}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(paths_of(entries.value()),
            (std::vector<std::string>{"a.txt", "home.html", "run.sh", "site", "site/index.html"}));
  const auto& e = entries.value();
  EXPECT_EQ(e[1].kind, EntryKind::symlink);
  EXPECT_EQ(e[1].link_target, "site/index.html");
  EXPECT_EQ(e[2].mode & 0111, 0110u);
  EXPECT_EQ(e[3].kind, EntryKind::dir);
  EXPECT_EQ(e[4].source_file, dir / "site/index.html");
  EXPECT_EQ(e[4].size, 11);
  EXPECT_EQ(test::bytes_of(e[4]), "<h1>hi</h1>");
}

TEST(DirectorySourceTest, ExcludeGlobsPruneFilesAndWholeDirectories) {
  testing::TempDir dir;
  write_file(dir / "index.html", "x");
  write_file(dir / "README.md", "x");
  write_file(dir / "docs/guide.md", "x");
  write_file(dir / "docs/logo.png", "x");
  write_file(dir / "node_modules/pkg/index.js", "x");
  write_file(dir / ".git/HEAD", "ref");
  write_file(dir / ".ztp/state.db", "db");
  auto entries = DirectorySource(dir.path(), {"**/*.md", "node_modules"}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(paths_of(entries.value()),
            (std::vector<std::string>{"docs", "docs/logo.png", "index.html"}));
}

TEST(DirectorySourceTest, RejectsALinkLeavingTheContext) {
  testing::TempDir dir;
  std::filesystem::create_symlink("../../etc/passwd", dir / "leak");
  auto entries = DirectorySource(dir.path(), {}).entries();
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().code, Errc::invalid);
  EXPECT_NE(entries.error().message.find("leak"), std::string::npos);
}

TEST(DirectorySourceTest, RejectsSpecialFilesNamingThem) {
  testing::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0644), 0);
  auto entries = DirectorySource(dir.path(), {}).entries();
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.error().message.find("pipe"), std::string::npos);
  // Excluding it is the way out.
  EXPECT_TRUE(DirectorySource(dir.path(), {"pipe"}).entries().ok());
}

TEST(DirectorySourceTest, ReportsBadGlobsAndMissingDirectories) {
  testing::TempDir dir;
  auto bad = DirectorySource(dir.path(), {"[abc"}).entries();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_NE(bad.error().message.find("build.exclude"), std::string::npos);
  auto missing = DirectorySource(dir / "nope", {}).entries();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

}  // namespace
}  // namespace ztp::artifact
