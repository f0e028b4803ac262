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
