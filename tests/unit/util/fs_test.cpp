#include "util/fs.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/support.hpp"

namespace ztp::fs {
namespace {

TEST(FsTest, AtomicWriteReplacesContentAndMode) {
  testing::TempDir dir;
  auto path = dir / "routes.json";
  ASSERT_TRUE(atomic_write(path, "one").ok());
  ASSERT_TRUE(atomic_write(path, "two", 0600).ok());
  EXPECT_EQ(*read_file(path), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary file is left beside it.
  int count = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++count;
  }
  EXPECT_EQ(count, 1);
}

TEST(FsTest, APrivateDirectoryIsTheOwnersOnlyWhateverTheUmask) {
  testing::TempDir dir;
  testing::ScopedUmask open_umask(0);
  auto parent_mode = testing::file_mode(dir.path());
  ASSERT_TRUE(ensure_private_dir(dir / "a" / "home").ok());
  EXPECT_EQ(testing::file_mode(dir / "a" / "home"), 0700u);
  // An existing directory is tightened; nothing above it changes.
  ASSERT_TRUE(ensure_dir(dir / "old").ok());
  ASSERT_EQ(testing::file_mode(dir / "old"), 0777u);
  ASSERT_TRUE(ensure_private_dir(dir / "old").ok());
  EXPECT_EQ(testing::file_mode(dir / "old"), 0700u);
  EXPECT_EQ(testing::file_mode(dir.path()), parent_mode);
}

TEST(FsTest, MakePrivateTightensAFileAndIgnoresAMissingOne) {
  testing::TempDir dir;
  ASSERT_TRUE(atomic_write(dir / "f", "x", 0644).ok());
  ASSERT_TRUE(make_private(dir / "f").ok());
  EXPECT_EQ(testing::file_mode(dir / "f"), 0600u);
  EXPECT_TRUE(make_private(dir / "missing").ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
}

TEST(FsTest, ReadMissingFileIsNotFound) {
  testing::TempDir dir;
  auto r = read_file(dir / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(FsTest, AtomicWriteIntoMissingDirectoryFails) {
  testing::TempDir dir;
  auto r = atomic_write(dir / "missing" / "x", "data");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace ztp::fs
