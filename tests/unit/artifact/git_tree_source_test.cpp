#include "artifact/git_tree_source.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "artifact/directory_source.hpp"
#include "artifact_helpers.hpp"
#include "support/support.hpp"
#include "unit/source/git_test_repo.hpp"

namespace ztp::artifact {
namespace {

using source::test::paths_of;

class GitTreeSourceTest : public source::test::GitRepoFixture {};

TEST_F(GitTreeSourceTest, IsTheCommittedTreeNeverTheWorkingDirectory) {
  repo().write("index.html", "<h1>committed</h1>");
  std::string sha = repo().commit("First");
  repo().write("index.html", "<h1>edited, not committed</h1>");
  repo().write("untracked.html", "never added");
  repo().write("staged.html", "added, not committed");
  repo().git({"add", "staged.html"});
  auto git = open();

  auto entries = GitTreeSource(git, sha, ".", {}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(paths_of(entries.value()), std::vector<std::string>{"index.html"});
  // The bytes are the blob's, read when wanted, not held in the listing.
  EXPECT_TRUE(entries->front().content.empty());
  EXPECT_EQ(entry_bytes(entries->front()).value_or("(error)"), "<h1>committed</h1>");
}

TEST_F(GitTreeSourceTest, KindsModesAndLinksComeFromTheTree) {
  repo().write("site/index.html", "<h1>hi</h1>");
  repo().write("site/start.sh", "#!/bin/sh\n", 0755);
  repo().symlink("index.html", "site/home.html");
  std::string sha = repo().commit("First");
  // The working tree's mode does not matter, only what was committed.
  ASSERT_EQ(::chmod((repo() / "site/index.html").c_str(), 0700), 0);
  auto git = open();

  auto entries = GitTreeSource(git, sha, "site", {}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(paths_of(entries.value()),
            (std::vector<std::string>{"home.html", "index.html", "start.sh"}));
  const auto& e = entries.value();
  EXPECT_EQ(e[0].kind, EntryKind::symlink);
  EXPECT_EQ(e[0].link_target, "index.html");
  EXPECT_EQ(e[1].kind, EntryKind::file);
  EXPECT_EQ(e[1].mode, 0644u);
  EXPECT_EQ(entry_bytes(e[1]).value_or("(error)"), "<h1>hi</h1>");
  EXPECT_EQ(e[2].mode, 0755u);
}

TEST_F(GitTreeSourceTest, ExcludesPruneAsForADirectory) {
  repo().write("index.html", "x");
  repo().write("README.md", "x");
  repo().write("docs/guide.md", "x");
  repo().write("docs/logo.png", "x");
  repo().write("node_modules/pkg/index.js", "x");
  repo().write(".ztp/state.db", "committed by mistake");
  std::string sha = repo().commit("First");
  auto git = open();
  std::vector<std::string> exclude{"**/*.md", "node_modules"};

  auto entries = GitTreeSource(git, sha, "", exclude).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(paths_of(entries.value()),
            (std::vector<std::string>{"docs", "docs/logo.png", "index.html"}));

  // A clean checkout of the commit, read as a directory, gives the very same entries.
  auto from_disk = DirectorySource(repo().path(), exclude).entries();
  ASSERT_TRUE(from_disk.ok()) << from_disk.error().message;
  ASSERT_EQ(paths_of(from_disk.value()), paths_of(entries.value()));
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].kind, (*from_disk)[i].kind);
    EXPECT_EQ(artifact::test::bytes_of((*entries)[i]), artifact::test::bytes_of((*from_disk)[i]));
  }
}

TEST_F(GitTreeSourceTest, AnExcludedSubmoduleIsNoError) {
  repo().write("index.html", "x");
  std::string first = repo().commit("First");
  repo().git({"update-index", "--add", "--cacheinfo", "160000," + first + ",vendor/lib"});
  std::string sha = repo().commit("Add a submodule", false);
  auto git = open();

  auto refused = GitTreeSource(git, sha, "", {}).entries();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("vendor/lib"), std::string::npos);
  EXPECT_NE(refused.error().message.find("build.exclude"), std::string::npos);
  auto entries = GitTreeSource(git, sha, "", {"vendor/**"}).entries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(paths_of(entries.value()), std::vector<std::string>{"index.html"});
}

TEST_F(GitTreeSourceTest, ReportsBadGlobsAndAContextMissingFromTheCommit) {
  repo().write("index.html", "x");
  std::string sha = repo().commit("First");
  auto git = open();

  auto bad = GitTreeSource(git, sha, "", {"[abc"}).entries();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_NE(bad.error().message.find("build.exclude"), std::string::npos);

  auto missing = GitTreeSource(git, sha, "application", {}).entries();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::invalid);
  EXPECT_NE(missing.error().message.find("\"application\" is not a directory"), std::string::npos)
      << missing.error().message;
}

TEST_F(GitTreeSourceTest, DescribesTheCommitAndTheContext) {
  repo().write("index.html", "x");
  std::string sha = repo().commit("First");
  auto git = open();
  EXPECT_EQ(GitTreeSource(git, sha, "application", {}).describe(),
            "commit " + sha.substr(0, 7) + " (application/)");
  EXPECT_EQ(GitTreeSource(git, sha, "./application/", {}).describe(),
            "commit " + sha.substr(0, 7) + " (application/)");
  EXPECT_EQ(GitTreeSource(git, sha, ".", {}).describe(), "commit " + sha.substr(0, 7));
}

}  // namespace
}  // namespace ztp::artifact
