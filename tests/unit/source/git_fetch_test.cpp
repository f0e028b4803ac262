#include "source/git_fetch.hpp"

#include <gtest/gtest.h>

#include "git_test_repo.hpp"

namespace ztp::source {
namespace {

using test::GitRepoFixture;

TEST(GitFetch, TellsRemotesFromPaths) {
  for (const char* remote :
       {"https://github.com/octo/app.git", "ssh://git@host/app.git", "git://host/app",
        "file:///srv/git/app.git", "git@github.com:octo/app.git", "host:app.git"}) {
    EXPECT_TRUE(is_remote_repo(remote)) << remote;
  }
  for (const char* path : {".", "app", "../app", "/srv/app", "./a:b", "sub/dir:x"}) {
    EXPECT_FALSE(is_remote_repo(path)) << path;
  }
}

TEST(GitFetch, TheMirrorIsNamedAfterTheUrlWithoutCredentials) {
  std::filesystem::path home = "/home/z";
  EXPECT_EQ(mirror_path(home, "https://user:token@github.com/octo/app.git"),
            home / "source" / "github.com-octo-app.git");
  EXPECT_EQ(mirror_path(home, "git@github.com:octo/app.git"),
            home / "source" / "git-github.com-octo-app.git");
  EXPECT_EQ(mirror_path(home, "file:///srv/git/app/"), home / "source" / "srv-git-app.git");
}

class GitFetchTest : public GitRepoFixture {};

TEST_F(GitFetchTest, FetchesEveryBranchAndFollowsTheRemote) {
  repo().write("app/index.html", "v1\n");
  std::string first = repo().commit("first");
  repo().git({"branch", "dev"});
  std::string url = "file://" + repo().path().string();
  auto home = dir() / "home";

  auto fetched = fetch_mirror(home, url);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(*fetched, mirror_path(home, url));
  auto mirror = GitRepo::open(*fetched);
  ASSERT_TRUE(mirror.ok()) << mirror.error().message;
  EXPECT_EQ(mirror->branch_tip("main")->sha, first);
  EXPECT_EQ(mirror->branch_tip("dev")->sha, first);
  EXPECT_EQ(mirror->source_url(), url);

  repo().write("app/index.html", "v2\n");
  std::string second = repo().commit("second");
  repo().git({"branch", "-D", "dev"});
  ASSERT_TRUE(fetch_mirror(home, url).ok());
  auto again = GitRepo::open(*fetched);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->branch_tip("main")->sha, second);
  EXPECT_EQ(again->branch_tip("dev").error().code, Errc::not_found);  // pruned
  auto paths = again->changed_paths(second);
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(*paths, std::vector<std::string>{"app/index.html"});
}

TEST_F(GitFetchTest, OpensTheSpecsSourceLocalOrRemote) {
  std::string sha = repo().commit("first");
  spec::Spec spec;
  spec.file = repo().path() / "ztp.yaml";
  spec.source.repo = ".";
  auto home = dir() / "home";
  auto local = open_source_repo(spec, home, true);
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(local->branch_tip("main")->sha, sha);
  EXPECT_FALSE(std::filesystem::exists(home / "source"));

  spec.source.repo = "file://" + repo().path().string();
  EXPECT_FALSE(open_source_repo(spec, home, false).ok());  // never fetched
  auto remote = open_source_repo(spec, home, true);
  ASSERT_TRUE(remote.ok()) << remote.error().message;
  EXPECT_EQ(remote->path(), source_repo_path(spec, home));
  EXPECT_EQ(remote->branch_tip("main")->sha, sha);
}

TEST_F(GitFetchTest, AnUnreachableRemoteIsUnavailableAndNamed) {
  auto r = fetch_mirror(dir() / "home", "file://" + (dir() / "nothing-here").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("nothing-here"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ztp::source
