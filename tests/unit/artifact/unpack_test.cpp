#include "artifact/unpack.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "artifact_helpers.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

using test::raw_dir;
using test::raw_file;
using test::raw_hardlink;
using test::raw_layer;
using test::raw_symlink;
using test::store_image;

// Everything in `dir` (names only), to check that a failed unpack leaves nothing behind.
std::vector<std::string> listing(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct UnpackFixture : ::testing::Test {
  ztp::testing::TempDir dir;
  OciLayoutStore store = OciLayoutStore::open(dir / "oci").value();
  std::filesystem::path releases = dir / "releases";

  void SetUp() override { ASSERT_TRUE(fs::ensure_dir(releases).ok()); }

  // Unpacking `layers` must be refused, name `entry`, and leave `releases` empty.
  void expect_refused(const std::vector<std::string>& layers, const std::string& entry) {
    auto manifest = store_image(store, layers);
    auto dest = releases / "r";
    auto r = unpack_image(store, manifest, dest);
    ASSERT_FALSE(r.ok()) << entry;
    EXPECT_EQ(r.error().code, Errc::refused) << r.error().message;
    EXPECT_NE(r.error().message.find(entry), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_TRUE(listing(releases).empty()) << "a temporary directory was left behind";
  }
};

TEST_F(UnpackFixture, UnpacksFilesModesAndLinks) {
  auto layer = build_layer({{"site/index.html", EntryKind::file, 0644, "<h1>hi</h1>", ""},
                            {"bin/start", EntryKind::file, 0755, "#!/bin/sh\n", ""},
                            {"home.html", EntryKind::symlink, 0777, "", "site/index.html"}},
                           1'700'000'000)
                   .value();
  auto manifest = store_image(store, {layer.blob});
  auto dest = releases / "sha256-abc";
  auto r = unpack_image(store, manifest, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*fs::read_file(dest / "site/index.html"), "<h1>hi</h1>");
  EXPECT_EQ(*fs::read_file(dest / "home.html"), "<h1>hi</h1>");
  EXPECT_TRUE(std::filesystem::is_symlink(dest / "home.html"));
  struct stat st {};
  ASSERT_EQ(::stat((dest / "bin/start").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_EQ(st.st_mtime, 1'700'000'000);
  EXPECT_EQ(listing(releases), (std::vector<std::string>{"sha256-abc"}));
}

TEST_F(UnpackFixture, AnExistingReleaseIsLeftAsItIs) {
  auto layer = build_layer({{"f", EntryKind::file, 0644, "new", ""}}, 0).value();
  auto manifest = store_image(store, {layer.blob});
  auto dest = releases / "rel";
  ASSERT_TRUE(unpack_image(store, manifest, dest).ok());
  test::write_file(dest / "marker", "kept");
  ASSERT_TRUE(unpack_image(store, manifest, dest).ok());
  EXPECT_EQ(*fs::read_file(dest / "marker"), "kept");
}

TEST_F(UnpackFixture, LaterLayersOverrideAndWhiteoutEarlierOnes) {
  std::string lower =
      raw_layer({raw_dir("app/"), raw_file("app/old.txt", "old"), raw_file("app/keep.txt", "v1"),
                 raw_dir("cache/"), raw_file("cache/a", "a")});
  std::string upper = raw_layer({raw_file("app/.wh.old.txt", ""), raw_file("app/keep.txt", "v2"),
                                 raw_file("cache/.wh..wh..opq", "")});
  auto manifest = store_image(store, {lower, upper});
  auto dest = releases / "rel";
  auto r = unpack_image(store, manifest, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(dest / "app/old.txt"));
  EXPECT_FALSE(std::filesystem::exists(dest / "app/.wh.old.txt"));
  EXPECT_EQ(*fs::read_file(dest / "app/keep.txt"), "v2");
  EXPECT_TRUE(std::filesystem::is_directory(dest / "cache"));
  EXPECT_TRUE(std::filesystem::is_empty(dest / "cache"));
}

TEST_F(UnpackFixture, RefusesAParentDirectoryEscape) {
  expect_refused({raw_layer({raw_file("ok.txt", "fine"), raw_file("../x", "evil")})}, "../x");
  EXPECT_FALSE(std::filesystem::exists(dir / "x"));
}

TEST_F(UnpackFixture, RefusesAnAbsolutePath) {
  expect_refused({raw_layer({raw_file("/etc/x", "evil")})}, "/etc/x");
}

TEST_F(UnpackFixture, RefusesASymlinkLeavingTheRelease) {
  expect_refused({raw_layer({raw_symlink("etc", "../../../etc")})}, "etc");
  expect_refused({raw_layer({raw_symlink("passwd", "/etc/passwd")})}, "passwd");
}

TEST_F(UnpackFixture, RefusesSymlinksThatEscapeTogether) {
  // Each target stays inside on its own; followed on disk, b is the parent of the release.
  expect_refused({raw_layer({raw_symlink("a", "."), raw_symlink("b", "a/..")})}, "b");
}

TEST_F(UnpackFixture, RefusesAHardLinkLeavingTheRelease) {
  expect_refused({raw_layer({raw_hardlink("h", "../../etc/passwd")})}, "h");
}

TEST_F(UnpackFixture, RefusesAnEscapeInALaterLayerAndKeepsNothing) {
  auto good = build_layer({{"f", EntryKind::file, 0644, "x", ""}}, 0).value();
  expect_refused({good.blob, raw_layer({raw_file("../y", "evil")})}, "../y");
}

TEST_F(UnpackFixture, ACorruptLayerFailsAndKeepsNothing) {
  auto layer = build_layer({{"f", EntryKind::file, 0644, "x", ""}}, 0).value();
  auto manifest = store_image(store, {layer.blob});
  auto path = store.blob_path(layer.digest);
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  test::write_file(path, "garbage");
  auto r = unpack_image(store, manifest, releases / "rel");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("corrupt"), std::string::npos);
  EXPECT_TRUE(listing(releases).empty());
}

}  // namespace
}  // namespace ztp::artifact
