// The sample application built from a commit of a real git repository, checked by an outside
// judge: skopeo reads the image through its `oci:` transport by the short and the full SHA and
// must see our digest and the commit's labels.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "artifact/commit_build.hpp"
#include "artifact/digest.hpp"
#include "artifact/unpack.hpp"
#include "spec/parse.hpp"
#include "support/support.hpp"
#include "sys/time.hpp"
#include "unit/source/git_test_repo.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;
using source::test::GitTestRepo;
using ztp::testing::run_process;
using ztp::testing::TempDir;

// The files below `root`, relative and sorted, symlinks included.
std::vector<std::string> list_files(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(root);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) {
      out.push_back(std::filesystem::relative(it->path(), root).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct SampleBuild {
  std::filesystem::path layout;
  CommitBuild built;
};

// application/ copied into a fresh repository and committed on main, then a working tree
// change that must not ship; built into `dir/oci`.
SampleBuild build_sample(const TempDir& dir, GitTestRepo& repo) {
  std::filesystem::copy(ztp::testing::source_dir() / "application", repo.path(),
                        std::filesystem::copy_options::recursive);
  repo.commit("Add the sample site");
  repo.write("src/index.html", "<h1>not committed</h1>");
  repo.write("src/draft.html", "untracked");

  auto spec = spec::load_spec(repo / "ztp.yaml");
  EXPECT_TRUE(spec.ok()) << spec.error().message;
  auto git = open_spec_repo(spec.value());
  EXPECT_TRUE(git.ok()) << git.error().message;
  auto store = OciLayoutStore::open(dir / "oci");
  EXPECT_TRUE(store.ok()) << store.error().message;
  auto built = build_commit(spec.value(), git.value(), spec->source.branch, store.value());
  EXPECT_TRUE(built.ok()) << built.error().message;
  return SampleBuild{dir / "oci", std::move(built.value())};
}

TEST(GitBuildTest, SkopeoSeesTheDigestAndLabelsOfTheCommit) {
  REQUIRE_TOOL("git", "git");
  REQUIRE_TOOL("skopeo", "skopeo");
  TempDir dir;
  GitTestRepo repo(dir / "site");
  auto sample = build_sample(dir, repo);
  const auto& commit = sample.built.commit;
  const auto& image = sample.built.image;
  ASSERT_EQ(commit.sha, repo.git({"rev-parse", "main"}));
  ASSERT_EQ(image.tags, (std::vector<std::string>{commit.sha, commit.short_sha}));

  for (const auto& tag : image.tags) {
    std::string ref = "oci:" + sample.layout.string() + ":" + tag;
    auto raw = run_process({"skopeo", "inspect", "--raw", ref});
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_EQ(sha256_digest(raw.out), image.manifest.digest) << tag;

    auto info = run_process({"skopeo", "inspect", ref});
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_EQ(json::parse(info.out)["Digest"], image.manifest.digest) << tag;
  }

  std::string ref = "oci:" + sample.layout.string() + ":" + commit.short_sha;
  auto config_raw = run_process({"skopeo", "inspect", "--config", "--raw", ref});
  ASSERT_EQ(config_raw.exit_code, 0) << config_raw.err;
  EXPECT_EQ(sha256_digest(config_raw.out), image.config.digest);
  auto config = run_process({"skopeo", "inspect", "--config", ref});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  json c = json::parse(config.out);
  std::string created = sys::format_rfc3339(sys::WallTime(std::chrono::seconds(commit.time)),
                                            sys::TimePrecision::seconds);
  EXPECT_EQ(created, "2024-05-01T12:00:00Z");
  EXPECT_EQ(c["created"], created);
  const auto& labels = c["config"]["Labels"];
  EXPECT_EQ(labels["org.opencontainers.image.revision"], commit.sha);
  EXPECT_EQ(labels["org.opencontainers.image.source"], repo.path().string());
  EXPECT_EQ(labels["org.opencontainers.image.created"], created);
  EXPECT_EQ(labels["org.opencontainers.image.title"], "sample-site");
}

TEST(GitBuildTest, TheImageHoldsTheCommittedApplicationMinusExcludes) {
  REQUIRE_TOOL("git", "git");
  TempDir dir;
  GitTestRepo repo(dir / "site");
  auto sample = build_sample(dir, repo);
  auto store = OciLayoutStore::open(sample.layout).value();
  ASSERT_TRUE(unpack_image(store, sample.built.image.manifest, dir / "release").ok());

  // Every committed file but *.md (build.exclude), as committed.
  std::vector<std::string> expected;
  std::string tracked = repo.git({"ls-files"});
  for (size_t start = 0; start < tracked.size();) {
    size_t end = tracked.find('\n', start);
    std::string path = tracked.substr(start, end == std::string::npos ? end : end - start);
    if (path.size() < 3 || path.substr(path.size() - 3) != ".md") {
      expected.push_back(path);
    }
    start = end == std::string::npos ? tracked.size() : end + 1;
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(list_files(dir / "release"), expected);
  EXPECT_EQ(*fs::read_file(dir / "release/src/index.html"),
            *fs::read_file(ztp::testing::source_dir() / "application/src/index.html"));

  // Built again from the same commit: nothing new.
  auto spec = spec::load_spec(repo / "ztp.yaml").value();
  auto again =
      build_commit(spec, open_spec_repo(spec).value(), sample.built.commit.short_sha, store);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->reused);
  EXPECT_EQ(again->image.manifest.digest, sample.built.image.manifest.digest);
}

}  // namespace
}  // namespace ztp::artifact
