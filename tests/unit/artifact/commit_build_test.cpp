#include "artifact/commit_build.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "artifact_helpers.hpp"
#include "support/support.hpp"
#include "unit/source/git_test_repo.hpp"

namespace ztp::artifact {
namespace {

using source::GitRepo;
using source::test::GitTestRepo;
using source::test::k_first_commit_time;

class CommitBuildTest : public source::test::GitRepoFixture {};

// A spec whose ztp.yaml sits in `repo_root/<dir>` and builds `context` of the repository.
spec::Spec make_spec(const std::filesystem::path& repo_root, const std::string& dir = ".",
                     const std::string& repo = ".", const std::string& context = ".") {
  spec::Spec s;
  s.file = (repo_root / dir / "ztp.yaml").lexically_normal();
  s.app = "sample-site";
  s.source.repo = repo;
  s.build.context = context;
  s.build.exclude = {"*.md"};
  s.build.command = {"nginx", "-g", "daemon off;"};
  s.service.port = 80;
  return s;
}

OciLayoutStore store_at(const std::filesystem::path& root) {
  auto store = OciLayoutStore::open(root);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return std::move(store.value());
}

CommitBuild build_ok(const spec::Spec& spec, const GitRepo& repo, std::string_view rev,
                     OciLayoutStore& store) {
  auto built = build_commit(spec, repo, rev, store);
  EXPECT_TRUE(built.ok()) << built.error().message;
  return std::move(built.value());
}

// The paths and contents of the image's (single) layer.
std::map<std::string, std::string> layer_files(const OciLayoutStore& store, const BuiltImage& img) {
  std::map<std::string, std::string> out;
  EXPECT_EQ(img.layers.size(), 1u);
  auto blob = store.read_blob(img.layers.at(0).digest);
  EXPECT_TRUE(blob.ok());
  for (const auto& e : test::read_tar(blob.value())) {
    out[e.path] = e.type == AE_IFLNK ? "-> " + e.symlink : e.content;
  }
  return out;
}

void write_sample(GitTestRepo& repo, const std::string& dir = "") {
  std::string at = dir.empty() ? "" : dir + "/";
  repo.write(at + "ztp.yaml", "app: sample-site\n");
  repo.write(at + "README.md", "# readme\n");
  repo.write(at + "src/index.html", "<h1>v1</h1>");
  repo.write(at + "start.sh", "#!/bin/sh\nexec nginx\n", 0755);
}

TEST_F(CommitBuildTest, OnlyTheCommittedTreeShips) {
  write_sample(repo());
  repo().commit("First");
  repo().write("src/index.html", "<h1>edited, not committed</h1>");
  repo().write("src/secret.env", "TOKEN=untracked");
  auto git = open();
  auto store = store_at(dir() / "oci");

  auto built = build_ok(make_spec(repo().path()), git, "main", store);
  auto files = layer_files(store, built.image);
  std::vector<std::string> paths;
  for (const auto& [path, content] : files) {
    paths.push_back(path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"src/", "src/index.html", "start.sh", "ztp.yaml"}));
  EXPECT_EQ(files["src/index.html"], "<h1>v1</h1>");
}

TEST_F(CommitBuildTest, TagsAndLabelsComeFromTheCommit) {
  write_sample(repo());
  repo().commit("First");
  repo().write("src/index.html", "<h1>v2</h1>");
  std::string sha = repo().commit("Second");
  auto git = open();
  auto store = store_at(dir() / "oci");

  auto built = build_ok(make_spec(repo().path()), git, "main", store);
  EXPECT_FALSE(built.reused);
  EXPECT_EQ(built.commit.sha, sha);
  EXPECT_EQ(built.image.tags, (std::vector<std::string>{sha, sha.substr(0, 7)}));
  EXPECT_EQ(*store.tags(), (std::vector<std::string>{sha.substr(0, 7), sha}));  // sorted
  EXPECT_EQ(store.resolve(sha.substr(0, 7))->digest, built.image.manifest.digest);
  EXPECT_EQ(store.resolve(sha)->digest, built.image.manifest.digest);

  auto config = store.read_config(built.image.manifest);
  ASSERT_TRUE(config.ok()) << config.error().message;
  // The second commit is one minute after the first: 2024-05-01T12:01:00Z.
  ASSERT_EQ(built.commit.time, k_first_commit_time + 60);
  EXPECT_EQ(config->created, "2024-05-01T12:01:00Z");
  EXPECT_EQ(config->labels["org.opencontainers.image.revision"], sha);
  EXPECT_EQ(config->labels["org.opencontainers.image.source"], repo().path().string());
  EXPECT_EQ(config->labels["org.opencontainers.image.created"], "2024-05-01T12:01:00Z");
  EXPECT_EQ(config->labels["org.opencontainers.image.title"], "sample-site");
  EXPECT_EQ(config->exposed_ports, std::vector<std::string>{"80/tcp"});

  // A build of the first commit names that commit.
  auto first = build_ok(make_spec(repo().path()), git, "HEAD~1", store);
  EXPECT_NE(first.image.manifest.digest, built.image.manifest.digest);
  EXPECT_EQ(store.read_config(first.image.manifest)->created, "2024-05-01T12:00:00Z");
}

TEST_F(CommitBuildTest, ACommitAlreadyBuiltIsNotBuiltAgain) {
  write_sample(repo());
  std::string sha = repo().commit("First");
  auto git = open();
  auto store = store_at(dir() / "oci");
  auto spec = make_spec(repo().path());

  auto first = build_ok(spec, git, "main", store);
  EXPECT_FALSE(first.reused);
  EXPECT_EQ(first.image.written.size(), 3u);  // layer, config, manifest

  auto second = build_ok(spec, git, sha.substr(0, 7), store);
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(second.commit.sha, sha);
  EXPECT_TRUE(second.image.written.empty());
  EXPECT_EQ(second.image.manifest, first.image.manifest);
  EXPECT_EQ(second.image.config, first.image.config);
  EXPECT_EQ(second.image.layers, first.image.layers);
  EXPECT_EQ(second.image.size, first.image.size);
  EXPECT_EQ(second.image.tags, first.image.tags);

  // A second store has not built it: it builds the same bytes.
  auto other = store_at(dir() / "oci2");
  auto again = build_ok(spec, git, "main", other);
  EXPECT_FALSE(again.reused);
  EXPECT_EQ(again.image.manifest.digest, first.image.manifest.digest);
  EXPECT_EQ(*other.read_blob(again.image.manifest.digest),
            *store.read_blob(first.image.manifest.digest));
}

TEST_F(CommitBuildTest, TwoClonesInTwoStoresGiveTheSameBytes) {
  GitTestRepo upstream(dir() / "upstream");
  write_sample(upstream, "application");
  upstream.write("application/home.html", "");
  upstream.symlink("src/index.html", "application/index.html");
  std::string sha = upstream.commit("First");
  // Clones made differently: another time, umask and line-ending setting on checkout.
  source::test::run_git({"clone", "-q", upstream.path().string(), (dir() / "one").string()});
  source::test::run_git({"-c", "core.autocrlf=true", "clone", "-q", upstream.path().string(),
                         (dir() / "two").string()},
                        source::test::git_env(k_first_commit_time + 86'400));
  ASSERT_EQ(::chmod((dir() / "two/application/start.sh").c_str(), 0700), 0);

  std::vector<CommitBuild> builds;
  for (std::string clone : {"one", "two"}) {
    auto spec = make_spec(dir() / clone, "application", "..", "application");
    auto git = open_spec_repo(spec);
    ASSERT_TRUE(git.ok()) << git.error().message;
    auto store = store_at(dir() / ("oci-" + clone));
    builds.push_back(build_ok(spec, git.value(), "main", store));
  }
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_EQ(builds[0].commit.sha, sha);
  EXPECT_EQ(builds[0].image.manifest.digest, builds[1].image.manifest.digest);
  EXPECT_EQ(*store_at(dir() / "oci-one").read_blob(builds[0].image.manifest.digest),
            *store_at(dir() / "oci-two").read_blob(builds[1].image.manifest.digest));
  EXPECT_EQ(*store_at(dir() / "oci-one").read_blob(builds[0].image.layers[0].digest),
            *store_at(dir() / "oci-two").read_blob(builds[1].image.layers[0].digest));
  auto config = store_at(dir() / "oci-one").read_config(builds[0].image.manifest);
  EXPECT_EQ(config->labels["org.opencontainers.image.source"], upstream.path().string());

  auto files = layer_files(store_at(dir() / "oci-one"), builds[0].image);
  EXPECT_EQ(files["index.html"], "-> src/index.html");
  EXPECT_EQ(files.count("README.md"), 0u);
}

TEST_F(CommitBuildTest, ErrorsNameTheRevisionAndTheContext) {
  write_sample(repo());
  repo().commit("First");
  auto git = open();
  auto store = store_at(dir() / "oci");

  auto unknown = build_commit(make_spec(repo().path()), git, "no-such-rev", store);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_NE(unknown.error().message.find("\"no-such-rev\""), std::string::npos);

  auto no_context = build_commit(make_spec(repo().path(), ".", ".", "site"), git, "main", store);
  ASSERT_FALSE(no_context.ok());
  EXPECT_EQ(no_context.error().code, Errc::invalid);
  EXPECT_NE(no_context.error().message.find("build.context"), std::string::npos);
  EXPECT_TRUE(store.tags()->empty());

  repo().symlink("../../etc/passwd", "leak");
  std::string leaking = repo().commit("Leak");
  auto escape = build_commit(make_spec(repo().path()), git, leaking, store);
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.error().message.find("commit " + leaking.substr(0, 7)), std::string::npos)
      << escape.error().message;
  EXPECT_NE(escape.error().message.find("leak"), std::string::npos);
}

TEST_F(CommitBuildTest, OpenSpecRepoIsRelativeToTheSpecFile) {
  write_sample(repo(), "application");
  repo().commit("First");

  auto beside = open_spec_repo(make_spec(repo().path(), "application", ".."));
  ASSERT_TRUE(beside.ok()) << beside.error().message;
  EXPECT_EQ(beside->path(), repo().path());

  auto wrong = open_spec_repo(make_spec(repo().path(), "application", "."));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Errc::not_found);
  EXPECT_NE(wrong.error().message.find("source.repo"), std::string::npos);
}

}  // namespace
}  // namespace ztp::artifact
