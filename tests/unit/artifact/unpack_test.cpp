#include "artifact/unpack.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <locale.h>
#include <sys/stat.h>

#include <map>

#include "artifact/image_index.hpp"
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
using test::RawEntry;
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

// Every path under `dir` (links not followed, `skip` left out) with its type, mode and content
// or link target: two equal snapshots mean nothing there was created, changed or removed.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir,
                                            const std::filesystem::path& skip) {
  std::map<std::string, std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    EXPECT_EQ(::lstat(it->path().c_str(), &st), 0) << it->path();
    std::string what = fmt::format("mode {:o} ", st.st_mode);
    if (S_ISLNK(st.st_mode)) {
      what += "-> " + std::filesystem::read_symlink(it->path()).string();
    } else if (S_ISREG(st.st_mode)) {
      what += fs::read_file(it->path()).value_or("?");
    }
    out[std::filesystem::relative(it->path(), dir).string()] = what;
  }
  return out;
}

// A ZTP_HOME with its releases two levels below the test's directory, and files beside it and
// above it that an escaping image would reach: `dir/victim`, `dir/home/victim`,
// `dir/home/state/keep`.
struct UnpackFixture : ::testing::Test {
  ztp::testing::TempDir dir;
  OciLayoutStore store = OciLayoutStore::open(dir / "oci").value();
  std::filesystem::path home = dir / "home";
  std::filesystem::path releases = home / "releases";

  void SetUp() override {
    ASSERT_TRUE(fs::ensure_dir(releases).ok());
    test::write_file(dir / "victim", "outside the home");
    test::write_file(home / "victim", "inside the home, outside the release");
    test::write_file(home / "state" / "keep", "state");
  }

  // Unpacking `layers` must be refused, name `entry`, leave `releases` empty and change
  // nothing anywhere under the test's directory.
  void expect_refused(const std::vector<std::string>& layers, const std::string& entry) {
    auto manifest = store_image(store, layers);
    auto before = snapshot(dir.path(), dir / "oci");
    auto dest = releases / "r";
    auto r = unpack_image(store, manifest, dest);
    ASSERT_FALSE(r.ok()) << entry;
    EXPECT_EQ(r.error().code, Errc::refused) << r.error().message;
    EXPECT_NE(r.error().message.find(entry), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_TRUE(listing(releases).empty()) << "a temporary directory was left behind";
    EXPECT_EQ(snapshot(dir.path(), dir / "oci"), before) << "something outside the release changed";
    EXPECT_EQ(*fs::read_file(dir / "victim"), "outside the home");
    EXPECT_EQ(*fs::read_file(home / "victim"), "inside the home, outside the release");
  }
};

// Links that climb one directory each from the release being unpacked
// (home/releases/.r.unpack-*): a is the release, b is releases/, c is home/, d is the test's
// directory. Each target stays inside on its own.
std::vector<RawEntry> climbing_links() {
  return {raw_symlink("a", "."), raw_symlink("b", "a/.."), raw_symlink("c", "b/.."),
          raw_symlink("d", "c/..")};
}

std::vector<RawEntry> with(std::vector<RawEntry> entries, std::vector<RawEntry> more) {
  entries.insert(entries.end(), more.begin(), more.end());
  return entries;
}

TEST_F(UnpackFixture, AnImageIndexUnpacksThisMachinesImage) {
  auto ours = build_layer({{"which", EntryKind::file, 0644, "this machine's", ""}}, 0).value();
  auto other = build_layer({{"which", EntryKind::file, 0644, "another's", ""}}, 0).value();
  auto mine = store_image(store, {ours.blob});
  auto theirs = store_image(store, {other.blob});
  std::string index =
      make_index_json({{theirs, Platform{"linux", "s390x", ""}}, {mine, host_platform()}});
  auto stored = store.put_index(index, {"multi"});
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  auto dest = releases / "sha256-index";
  auto r = unpack_image(store, *stored, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*fs::read_file(dest / "which"), "this machine's");

  // An index without this machine's platform is refused, naming the platforms it has.
  std::string foreign = make_index_json({{theirs, Platform{"linux", "s390x", ""}}});
  auto only = store.put_index(foreign, {});
  ASSERT_TRUE(only.ok());
  auto refused = unpack_image(store, *only, releases / "sha256-foreign");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("it has: linux/s390x"), std::string::npos)
      << refused.error().message;
  EXPECT_FALSE(std::filesystem::exists(releases / "sha256-foreign"));
}

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

// Names outside ASCII survive a build and an unpack in the process's "C" locale: libarchive
// once wrote a NULL name for them (a crash) and read none back.
TEST_F(UnpackFixture, NamesOutsideAsciiRoundTripInTheCLocale) {
  ASSERT_STREQ(::setlocale(LC_CTYPE, nullptr), "C");
  const std::string cafe = "caf\xc3\xa9";             // café
  const std::string parcel = "\xf0\x9f\x93\xa6.txt";  // a four-byte code point
  auto layer = build_layer({{cafe + "/menu.html", EntryKind::file, 0644, "menu", ""},
                            {parcel, EntryKind::file, 0644, "box", ""},
                            {"to-" + cafe, EntryKind::symlink, 0777, "", cafe + "/menu.html"}},
                           0);
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  auto dest = releases / "utf8";
  auto r = unpack_image(store, store_image(store, {layer->blob}), dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*fs::read_file(dest / cafe / "menu.html"), "menu");
  EXPECT_EQ(*fs::read_file(dest / parcel), "box");
  EXPECT_EQ(std::filesystem::read_symlink(dest / ("to-" + cafe)), cafe + "/menu.html");
  EXPECT_EQ(listing(dest).size(), 3u);
  // The guard is this thread's only, and gone afterwards.
  EXPECT_STREQ(::setlocale(LC_CTYPE, nullptr), "C");
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

TEST_F(UnpackFixture, RefusesAWhiteoutThroughAChainOfSymlinks) {
  // d is the directory holding home/: the whiteout would delete dir/victim.
  expect_refused({raw_layer(with(climbing_links(), {raw_file("d/.wh.victim", "")}))},
                 "d/.wh.victim");
  // The same whiteout in a later layer, below the links of an earlier one.
  expect_refused({raw_layer(climbing_links()), raw_layer({raw_file("c/.wh.victim", "")})},
                 "c/.wh.victim");
}

TEST_F(UnpackFixture, RefusesAnOpaqueWhiteoutThroughSymlinks) {
  // c is home/: an opaque whiteout there would empty the whole ZTP_HOME.
  expect_refused({raw_layer(with(climbing_links(), {raw_file("c/.wh..wh..opq", "")}))},
                 "c/.wh..wh..opq");
}

TEST_F(UnpackFixture, RefusesAFileWrittenThroughAnEscapingParent) {
  expect_refused({raw_layer(with(climbing_links(), {raw_file("c/victim", "overwritten")}))},
                 "c/victim");
  expect_refused({raw_layer(with(climbing_links(), {raw_file("c/planted", "new")}))}, "c/planted");
  expect_refused({raw_layer(with(climbing_links(), {raw_file("c/state/new/deep", "new")}))},
                 "c/state/new/deep");
  expect_refused({raw_layer(with(climbing_links(), {raw_dir("c/newdir/")}))}, "c/newdir");
  expect_refused({raw_layer(with(climbing_links(), {raw_symlink("c/ln", "victim")}))}, "c/ln");
}

TEST_F(UnpackFixture, RefusesAHardLinkThroughAnEscapingPath) {
  // To a file outside, and from inside to a name outside.
  expect_refused({raw_layer(with(climbing_links(), {raw_hardlink("h", "c/victim")}))}, "h");
  expect_refused(
      {raw_layer(with(climbing_links(), {raw_file("inside", "x"), raw_hardlink("c/h", "inside")}))},
      "c/h");
}

TEST_F(UnpackFixture, RefusesAnAbsoluteSymlinkAndWhatWouldGoThroughIt) {
  std::string outside = (dir / "state-outside").string();
  ASSERT_TRUE(fs::ensure_dir(outside).ok());
  expect_refused({raw_layer({raw_symlink("abs", outside), raw_file("abs/planted", "evil")})},
                 "abs");
  EXPECT_TRUE(std::filesystem::is_empty(outside));
}

TEST_F(UnpackFixture, FollowsSymlinksThatStayInside) {
  // A usr-merged base: lib and bin are links into usr/, and later layers write through them.
  std::string base = raw_layer({raw_dir("usr/"), raw_dir("usr/lib/"), raw_dir("usr/bin/"),
                                raw_file("usr/lib/old.so", "old"), raw_file("usr/bin/tool", "t"),
                                raw_symlink("lib", "usr/lib"), raw_symlink("bin", "usr/bin"),
                                raw_dir("usr/share/"), raw_symlink("usr/share/up", "../lib")});
  std::string app =
      raw_layer({raw_file("lib/libapp.so", "app"), raw_dir("lib/app/"),
                 raw_file("lib/app/conf", "c"), raw_file("lib/.wh.old.so", ""),
                 raw_hardlink("lib/libapp.so.1", "lib/libapp.so"), raw_file("bin/.wh..wh..opq", ""),
                 raw_file("bin/new", "n"), raw_file("usr/share/up/via-dotdot", "v")});
  auto manifest = store_image(store, {base, app});
  auto before = snapshot(dir.path(), dir / "oci");
  auto dest = releases / "rel";
  auto r = unpack_image(store, manifest, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(std::filesystem::is_symlink(dest / "lib"));
  EXPECT_TRUE(std::filesystem::is_symlink(dest / "bin"));
  EXPECT_EQ(*fs::read_file(dest / "usr/lib/libapp.so"), "app");
  EXPECT_EQ(*fs::read_file(dest / "usr/lib/app/conf"), "c");
  EXPECT_EQ(*fs::read_file(dest / "usr/lib/libapp.so.1"), "app");
  EXPECT_EQ(*fs::read_file(dest / "usr/lib/via-dotdot"), "v");
  EXPECT_FALSE(std::filesystem::exists(dest / "usr/lib/old.so"));
  EXPECT_FALSE(std::filesystem::exists(dest / "usr/bin/tool"));
  EXPECT_EQ(*fs::read_file(dest / "usr/bin/new"), "n");
  auto after = snapshot(dir.path(), dir / "oci");
  for (auto it = after.begin(); it != after.end();) {
    it = it->first.rfind("home/releases/rel", 0) == 0 ? after.erase(it) : std::next(it);
  }
  EXPECT_EQ(after, before) << "something outside the release changed";
}

TEST_F(UnpackFixture, FillsReadOnlyDirectoriesAndKeepsTheirModes) {
  RawEntry ro = raw_dir("ro/");
  ro.mode = 0555;
  std::string lower = raw_layer({ro, raw_file("ro/a", "a"), raw_file("ro/gone", "g")});
  std::string upper = raw_layer({raw_file("ro/b", "b"), raw_file("ro/.wh.gone", "")});
  auto manifest = store_image(store, {lower, upper});
  auto dest = releases / "rel";
  auto r = unpack_image(store, manifest, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*fs::read_file(dest / "ro/a"), "a");
  EXPECT_EQ(*fs::read_file(dest / "ro/b"), "b");
  EXPECT_FALSE(std::filesystem::exists(dest / "ro/gone"));
  struct stat st {};
  ASSERT_EQ(::stat((dest / "ro").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0555u);
}

TEST_F(UnpackFixture, ALaterLayerReplacesAFileWithADirectoryAndBack) {
  std::string lower = raw_layer({raw_file("x", "file"), raw_dir("y/"), raw_file("y/in", "i")});
  std::string upper = raw_layer({raw_dir("x/"), raw_file("x/in", "now a dir"), raw_file("y", "f")});
  auto manifest = store_image(store, {lower, upper});
  auto dest = releases / "rel";
  auto r = unpack_image(store, manifest, dest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*fs::read_file(dest / "x/in"), "now a dir");
  EXPECT_EQ(*fs::read_file(dest / "y"), "f");
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

// libarchive may stop reading a layer without saying why (this one, found by fuzz_unpack, holds
// a damaged pax header): the image fails as damaged instead of throwing from the message.
TEST_F(UnpackFixture, ALayerLibarchiveGivesNoReasonForFailsAndKeepsNothing) {
  auto tar = fs::read_file(ztp::testing::source_dir() /
                           "tests/fuzz/unpack/crash-d8bd54f2da5355ad019ea9e627ed89ac55b6efe7");
  ASSERT_TRUE(tar.ok()) << tar.error().message;
  auto manifest = store_image(store, {compress(Compression::gzip, *tar, 1).value()});
  auto r = unpack_image(store, manifest, releases / "rel");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find("is damaged: libarchive gave no reason"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(listing(releases).empty());
}

}  // namespace
}  // namespace ztp::artifact
