#include "artifact/release_root.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "artifact_helpers.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::artifact {
namespace {

// A root at dir/root, with `escape -> ..` (the parent, by a chain) and `inside -> sub`.
struct ReleaseRootFixture : ::testing::Test {
  ztp::testing::TempDir dir;
  std::filesystem::path path = dir / "root";

  ReleaseRoot open_root() {
    test::write_file(dir / "outside", "keep");
    std::filesystem::create_directories(path / "sub");
    test::write_file(path / "file", "inside");
    std::filesystem::create_directory_symlink(".", path / "self");
    std::filesystem::create_directory_symlink("self/..", path / "escape");
    std::filesystem::create_directory_symlink("sub", path / "inside");
    return ReleaseRoot::open(path).value();
  }
};

TEST_F(ReleaseRootFixture, RefusesEveryChangeThroughAnEscapingLink) {
  auto root = open_root();
  auto expect_refused = [](const Result<void>& r, std::string_view what) {
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, Errc::refused) << what << ": " << r.error().message;
    EXPECT_NE(r.error().message.find("outside the release directory"), std::string::npos)
        << r.error().message;
  };
  expect_refused(root.remove("escape/outside"), "remove");
  expect_refused(root.clear_dir("escape"), "clear_dir");
  expect_refused(root.make_dir("escape/new", 0755, 0), "make_dir");
  expect_refused(root.make_symlink("escape/outside", "sub", 0), "make_symlink");
  expect_refused(root.make_hardlink("sub/h", "escape/outside"), "make_hardlink from outside");
  expect_refused(root.make_hardlink("escape/h", "self/file"), "make_hardlink to outside");
  auto file = root.create_file("escape/outside");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, Errc::refused);
  EXPECT_EQ(*fs::read_file(dir / "outside"), "keep");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            2);  // root and outside: nothing added beside them
}

TEST_F(ReleaseRootFixture, WritesThroughLinksThatStayInside) {
  auto root = open_root();
  auto fd = root.create_file("inside/deeper/f");
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  ASSERT_EQ(::write(fd->get(), "x", 1), 1);
  EXPECT_EQ(*fs::read_file(path / "sub/deeper/f"), "x");
  ASSERT_TRUE(root.remove("inside/deeper").ok());
  EXPECT_FALSE(std::filesystem::exists(path / "sub/deeper"));
}

TEST_F(ReleaseRootFixture, TheLastComponentIsNeverFollowed) {
  auto root = open_root();
  // Replacing `escape` replaces the link itself, and removing it removes only the link.
  ASSERT_TRUE(root.remove("escape").ok());
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path / "escape")));
  EXPECT_TRUE(std::filesystem::exists(path / "sub"));
  auto fd = root.create_file("self");
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(path / "self")));
}

TEST_F(ReleaseRootFixture, CheckLinksNamesALinkThatEscapesThroughAnother) {
  auto root = open_root();
  auto r = root.check_links();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find("\"escape\""), std::string::npos) << r.error().message;
  ASSERT_TRUE(root.remove("escape").ok());
  EXPECT_TRUE(root.check_links().ok());
}

}  // namespace
}  // namespace ztp::artifact
