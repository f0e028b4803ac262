#include "source/git_repo.hpp"

#include <gtest/gtest.h>

#include "git_test_repo.hpp"
#include "support/support.hpp"

namespace ztp::source {
namespace {

using test::k_first_commit_time;
using test::open_git_repo;
using test::paths_of;

class GitRepoTest : public test::GitRepoFixture {};

const TreeFile* find(const std::vector<TreeFile>& files, const std::string& path) {
  for (const auto& f : files) {
    if (f.path == path) {
      return &f;
    }
  }
  return nullptr;
}

std::vector<std::string> shas_of(const std::vector<CommitInfo>& commits) {
  std::vector<std::string> out;
  for (const auto& c : commits) {
    out.push_back(c.sha);
  }
  return out;
}

TEST_F(GitRepoTest, OpensAWorkTreeAndABareClone) {
  repo().write("index.html", "<h1>hi</h1>");
  std::string sha = repo().commit("First");
  auto work = open();
  EXPECT_EQ(work.path(), repo().path());
  EXPECT_EQ(work.resolve("main")->sha, sha);

  test::run_git({"clone", "-q", "--bare", repo().path().string(), (dir() / "app.git").string()});
  auto bare = open_git_repo(dir() / "app.git");
  EXPECT_EQ(bare.resolve("main")->sha, sha);
  EXPECT_EQ(bare.source_url(), repo().path().string());
}

TEST_F(GitRepoTest, OpenWithoutARepositorySaysWhatToDo) {
  std::filesystem::create_directories(dir() / "plain");
  auto plain = GitRepo::open(dir() / "plain");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, Errc::not_found);
  EXPECT_NE(plain.error().message.find((dir() / "plain").string()), std::string::npos);
  EXPECT_NE(plain.error().message.find("git init"), std::string::npos);
  EXPECT_NE(plain.error().message.find("source.repo"), std::string::npos);

  auto missing = GitRepo::open(dir() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
}

TEST_F(GitRepoTest, OpenDoesNotClimbToAnEnclosingRepositoryButNamesIt) {
  repo().write("application/index.html", "x");
  repo().commit("First");
  auto inner = GitRepo::open(repo() / "application");
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.error().code, Errc::not_found);
  EXPECT_NE(inner.error().message.find("inside the repository at " + repo().path().string()),
            std::string::npos)
      << inner.error().message;
  EXPECT_NE(inner.error().message.find("build.context to \"application\""), std::string::npos);
}

TEST_F(GitRepoTest, ResolvesBranchesShortShasAncestorsAndTags) {
  repo().write("a.txt", "1");
  std::string first = repo().commit("Add a\n\nA longer body\nover two lines.");
  repo().write("a.txt", "2");
  std::string second = repo().commit("  Change a  \n");
  repo().git({"tag", "-a", "v1", "-m", "release 1", first});
  auto git = open();

  auto head = git.resolve("HEAD");
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->sha, second);
  EXPECT_EQ(head->sha.size(), 40u);
  EXPECT_EQ(head->short_sha, second.substr(0, 7));
  EXPECT_EQ(head->time, k_first_commit_time + 60);
  EXPECT_EQ(head->summary, "Change a");
  EXPECT_EQ(head->author, "Ada Lovelace <ada@example.com>");
  EXPECT_EQ(head->parents, std::vector<std::string>{first});

  EXPECT_EQ(git.resolve("main")->sha, second);
  EXPECT_EQ(git.resolve(second.substr(0, 7))->sha, second);
  EXPECT_EQ(git.resolve(second)->sha, second);
  auto parent = git.resolve("HEAD~1");
  ASSERT_TRUE(parent.ok()) << parent.error().message;
  EXPECT_EQ(parent->sha, first);
  EXPECT_EQ(parent->summary, "Add a");
  EXPECT_EQ(parent->time, k_first_commit_time);
  EXPECT_TRUE(parent->parents.empty());
  // An annotated tag peels to its commit.
  EXPECT_EQ(git.resolve("v1")->sha, first);
  EXPECT_EQ(git.resolve("main~1")->sha, first);
}

TEST_F(GitRepoTest, AnUnknownRevisionIsNotFoundAndNamed) {
  repo().write("a.txt", "1");
  repo().commit("First");
  auto git = open();
  for (std::string rev : {"no-such-branch", "HEAD~5", "deadbeefdeadbeef"}) {
    auto r = git.resolve(rev);
    ASSERT_FALSE(r.ok()) << rev;
    EXPECT_EQ(r.error().code, Errc::not_found) << rev;
    EXPECT_NE(r.error().message.find("\"" + rev + "\""), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(repo().path().string()), std::string::npos);
  }
  auto empty = git.resolve("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::invalid);
  // A revision naming a tree is no commit.
  auto tree = git.resolve("HEAD^{tree}");
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.error().code, Errc::invalid);
  EXPECT_NE(tree.error().message.find("not a commit"), std::string::npos);
}

TEST_F(GitRepoTest, ResolveOfAnEmptyRepositoryIsNotFound) {
  auto git = open();
  auto head = git.resolve("HEAD");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code, Errc::not_found);
  auto tip = git.branch_tip("main");
  ASSERT_FALSE(tip.ok());
  EXPECT_EQ(tip.error().code, Errc::not_found);
  EXPECT_NE(tip.error().message.find("no branch yet"), std::string::npos) << tip.error().message;
}

TEST_F(GitRepoTest, BranchTipReadsTheLocalBranchAndListsTheOthersWhenMissing) {
  repo().write("a.txt", "1");
  std::string on_main = repo().commit("First");
  repo().git({"checkout", "-q", "-b", "feature"});
  repo().write("a.txt", "2");
  std::string on_feature = repo().commit("Second");
  auto git = open();
  EXPECT_EQ(git.branch_tip("main")->sha, on_main);
  EXPECT_EQ(git.branch_tip("feature")->sha, on_feature);

  auto missing = git.branch_tip("master");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("\"master\""), std::string::npos);
  EXPECT_NE(missing.error().message.find("feature, main"), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("source.branch"), std::string::npos);

  auto bad = git.branch_tip("two words");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
}

TEST_F(GitRepoTest, ChangedPathsOfModifyAddDeleteAndRename) {
  repo().write("README.md", "readme");
  repo().write("application/index.html", "v1");
  repo().write("application/css/site.css", "body{}");
  repo().write("application/old.html", "a page with enough text to be recognised as renamed\n");
  std::string root = repo().commit("First");
  auto git = open();

  // A root commit changed every path of its tree.
  EXPECT_EQ(*git.changed_paths(root),
            (std::vector<std::string>{"README.md", "application/css/site.css",
                                      "application/index.html", "application/old.html"}));

  repo().write("application/index.html", "v2");
  std::string modify = repo().commit("Modify");
  EXPECT_EQ(*git.changed_paths(modify), std::vector<std::string>{"application/index.html"});

  repo().write("application/new.html", "new");
  std::string add = repo().commit("Add");
  EXPECT_EQ(*git.changed_paths(add), std::vector<std::string>{"application/new.html"});

  repo().remove("application/css");
  std::string remove = repo().commit("Delete");
  EXPECT_EQ(*git.changed_paths(remove), std::vector<std::string>{"application/css/site.css"});

  repo().git({"mv", "application/old.html", "application/renamed.html"});
  std::string rename = repo().commit("Rename");
  EXPECT_EQ(*git.changed_paths(rename),
            (std::vector<std::string>{"application/old.html", "application/renamed.html"}));

  // Only the mode changes.
  repo().write("README.md", "readme", 0755);
  std::string chmod = repo().commit("Make it executable");
  EXPECT_EQ(*git.changed_paths(chmod), std::vector<std::string>{"README.md"});

  std::string empty = repo().commit("Nothing");
  EXPECT_TRUE(git.changed_paths(empty)->empty());

  auto unknown = git.changed_paths("0123456789012345678901234567890123456789");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TEST_F(GitRepoTest, ChangedPathsOfAMergeAreAgainstTheFirstParent) {
  repo().write("README.md", "readme");
  repo().write("application/index.html", "v1");
  repo().commit("First");
  repo().git({"checkout", "-q", "-b", "feature"});
  repo().write("application/index.html", "v2");
  repo().write("application/about.html", "about");
  repo().commit("Feature work");
  repo().git({"checkout", "-q", "main"});
  repo().write("README.md", "readme 2");
  std::string on_main = repo().commit("Docs on main");
  std::string merge = repo().merge("feature", "Merge feature");
  auto git = open();
  auto info = git.resolve(merge);
  ASSERT_EQ(info->parents.size(), 2u);
  EXPECT_EQ(info->parents[0], on_main);
  // What the merge brought to main, not what main brought relative to the feature.
  EXPECT_EQ(*git.changed_paths(merge),
            (std::vector<std::string>{"application/about.html", "application/index.html"}));
}

TEST_F(GitRepoTest, ReadTreeBelowAFolderWithModesAndLinksInByteOrder) {
  repo().write("README.md", "top");
  repo().write("application/index.html", "<h1>hi</h1>");
  repo().write("application/start.sh", "#!/bin/sh\n", 0755);
  repo().write("application/a-b", "dash");
  repo().write("application/a/x.txt", "x");
  repo().symlink("index.html", "application/home.html");
  std::string sha = repo().commit("First");
  auto git = open();

  for (std::string folder : {"application", "./application/", "application/"}) {
    auto tree = git.read_tree(sha, folder);
    ASSERT_TRUE(tree.ok()) << tree.error().message;
    // Byte order: "a" < "a-b" < "a/x.txt" (git's own order puts "a-b" before the folder "a").
    EXPECT_EQ(paths_of(tree.value()), (std::vector<std::string>{"a", "a-b", "a/x.txt", "home.html",
                                                                "index.html", "start.sh"}))
        << folder;
  }
  auto tree = *git.read_tree(sha, "application");
  EXPECT_EQ(find(tree, "a")->kind, TreeFile::Kind::dir);
  EXPECT_EQ(find(tree, "a")->mode, 040000u);
  EXPECT_EQ(find(tree, "index.html")->kind, TreeFile::Kind::file);
  EXPECT_EQ(find(tree, "index.html")->mode, 0100644u);
  EXPECT_EQ(find(tree, "index.html")->content, "<h1>hi</h1>");
  EXPECT_EQ(find(tree, "start.sh")->mode, 0100755u);
  EXPECT_EQ(find(tree, "home.html")->kind, TreeFile::Kind::symlink);
  EXPECT_EQ(find(tree, "home.html")->mode, 0120000u);
  EXPECT_EQ(find(tree, "home.html")->content, "index.html");

  for (std::string root : {"", ".", "./"}) {
    auto whole = git.read_tree(sha, root);
    ASSERT_TRUE(whole.ok()) << whole.error().message;
    EXPECT_EQ(whole->front().path, "README.md");
    EXPECT_EQ(whole->size(), 8u);
  }
}

TEST_F(GitRepoTest, ReadTreeCanDeferTheBytesOfFilesToReadBlob) {
  repo().write("site/index.html", "<h1>hi</h1>");
  repo().symlink("index.html", "site/home.html");
  std::string sha = repo().commit("First");
  auto git = open();

  auto tree = git.read_tree(sha, "site", nullptr, FileBytes::defer);
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  const TreeFile* file = find(*tree, "index.html");
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(file->content.empty());
  EXPECT_EQ(file->blob_id, repo().git({"rev-parse", sha + ":site/index.html"}));
  EXPECT_EQ(git.read_blob(file->blob_id, "site/index.html").value_or("(error)"), "<h1>hi</h1>");
  // A link's target is read at once, files loaded the usual way keep no blob id.
  EXPECT_EQ(find(*tree, "home.html")->content, "index.html");
  EXPECT_TRUE(find(*git.read_tree(sha, "site"), "index.html")->blob_id.empty());

  auto bad = git.read_blob("not-a-sha", "site/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_NE(bad.error().message.find("site/x"), std::string::npos) << bad.error().message;
  auto missing = git.read_blob(std::string(40, 'a'), "site/gone.html");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("site/gone.html"), std::string::npos)
      << missing.error().message;
}

TEST_F(GitRepoTest, ReadTreeSaysWhenTheFolderIsNotADirectoryOfTheCommit) {
  repo().write("application/index.html", "x");
  std::string sha = repo().commit("First");
  // Uncommitted folders are not in the commit.
  repo().write("later/index.html", "x");
  auto git = open();

  auto missing = git.read_tree(sha, "later");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::invalid);
  EXPECT_NE(
      missing.error().message.find("\"later\" is not a directory in commit " + sha.substr(0, 7)),
      std::string::npos)
      << missing.error().message;

  auto file = git.read_tree(sha, "application/index.html");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, Errc::invalid);
  EXPECT_NE(file.error().message.find("it is a file"), std::string::npos);

  for (std::string outside : {"../app", "/application", "application/../.."}) {
    auto r = git.read_tree(sha, outside);
    ASSERT_FALSE(r.ok()) << outside;
    EXPECT_EQ(r.error().code, Errc::invalid) << outside;
  }
}

TEST_F(GitRepoTest, ReadTreeRefusesASubmoduleUnlessSkipped) {
  repo().write("index.html", "x");
  std::string first = repo().commit("First");
  repo().git({"update-index", "--add", "--cacheinfo", "160000," + first + ",vendor/lib"});
  std::string sha = repo().commit("Add a submodule", false);
  auto git = open();

  auto tree = git.read_tree(sha, "");
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.error().code, Errc::invalid);
  EXPECT_NE(tree.error().message.find("\"vendor/lib\""), std::string::npos);
  EXPECT_NE(tree.error().message.find("submodule"), std::string::npos);

  auto skipped = git.read_tree(sha, "", [](std::string_view p) { return p == "vendor"; });
  ASSERT_TRUE(skipped.ok()) << skipped.error().message;
  EXPECT_EQ(paths_of(skipped.value()), std::vector<std::string>{"index.html"});
}

TEST_F(GitRepoTest, CommitsBetweenListsWhatAPollerHasNotSeenOldestFirst) {
  repo().write("a.txt", "1");
  std::string a = repo().commit("A");
  repo().write("a.txt", "2");
  std::string b = repo().commit("B");
  repo().write("a.txt", "3");
  std::string c = repo().commit("C");
  auto git = open();

  EXPECT_EQ(shas_of(*git.commits_between(a, c)), (std::vector<std::string>{b, c}));
  EXPECT_EQ(shas_of(*git.commits_between("", c)), std::vector<std::string>{c});
  EXPECT_TRUE(git.commits_between(c, c)->empty());
  EXPECT_EQ(shas_of(*git.commits_between(a, "main")), (std::vector<std::string>{b, c}));

  // A merge: both sides' new commits, parents before children, the merge last.
  repo().git({"checkout", "-q", "-b", "side", b});
  repo().write("side.txt", "s");
  std::string s = repo().commit("S");
  repo().git({"checkout", "-q", "main"});
  std::string m = repo().merge("side", "Merge side");
  auto since_c = shas_of(*git.commits_between(c, m));
  EXPECT_EQ(since_c, (std::vector<std::string>{s, m}));
  auto since_a = shas_of(*git.commits_between(a, m));
  ASSERT_EQ(since_a.size(), 4u);
  EXPECT_EQ(since_a.front(), b);
  EXPECT_EQ(since_a.back(), m);

  auto unknown = git.commits_between("0123456789012345678901234567890123456789", c);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TEST_F(GitRepoTest, SourceUrlIsOriginWithoutCredentialsElseThePath) {
  repo().write("a.txt", "1");
  repo().commit("A");
  EXPECT_EQ(open().source_url(), repo().path().string());
  repo().git({"remote", "add", "origin", "https://ci:s3cret@example.com/org/app.git"});
  EXPECT_EQ(open().source_url(), "https://example.com/org/app.git");
}

TEST(StripCredentialsTest, KeepsEverythingButTheUserInformation) {
  EXPECT_EQ(strip_credentials("https://ci:tok@example.com/a.git"), "https://example.com/a.git");
  EXPECT_EQ(strip_credentials("https://tok@example.com"), "https://example.com");
  EXPECT_EQ(strip_credentials("ssh://git@example.com:22/a.git"), "ssh://example.com:22/a.git");
  EXPECT_EQ(strip_credentials("https://example.com/a@b.git"), "https://example.com/a@b.git");
  EXPECT_EQ(strip_credentials("git@github.com:org/app.git"), "git@github.com:org/app.git");
  EXPECT_EQ(strip_credentials("/srv/git/app"), "/srv/git/app");
}

TEST(NormalizeTreeFolderTest, RootFolderAndPathsLeavingTheTree) {
  EXPECT_EQ(*normalize_tree_folder(""), "");
  EXPECT_EQ(*normalize_tree_folder("."), "");
  EXPECT_EQ(*normalize_tree_folder("./"), "");
  EXPECT_EQ(*normalize_tree_folder("./app/"), "app");
  EXPECT_EQ(*normalize_tree_folder("a/b"), "a/b");
  EXPECT_EQ(*normalize_tree_folder("a..b"), "a..b");
  for (std::string bad : {"/", "/app", "..", "../x", "a/../b", "a/.."}) {
    auto r = normalize_tree_folder(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid);
  }
}

}  // namespace
}  // namespace ztp::source
