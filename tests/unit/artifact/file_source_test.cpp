#include "artifact/file_source.hpp"

#include <gtest/gtest.h>

namespace ztp::artifact {
namespace {

TEST(FileSourceTest, NormalisesRelativePaths) {
  EXPECT_EQ(normalize_entry_path("./a/b/").value(), "a/b");
  EXPECT_EQ(normalize_entry_path("index.html").value(), "index.html");
}

TEST(FileSourceTest, RejectsUnsafePaths) {
  for (const char* bad : {"", ".", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b"}) {
    auto r = normalize_entry_path(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::invalid);
    }
  }
}

TEST(FileSourceTest, DetectsLinksLeavingTheTree) {
  EXPECT_FALSE(link_escapes("a/link", "../b"));
  EXPECT_FALSE(link_escapes("a/b/link", "../../c"));
  EXPECT_FALSE(link_escapes("link", "x/../y"));
  EXPECT_TRUE(link_escapes("link", "../x"));
  EXPECT_TRUE(link_escapes("a/link", "../../x"));
  EXPECT_TRUE(link_escapes("a/link", "/etc/passwd"));
  EXPECT_TRUE(link_escapes("link", ""));
  EXPECT_TRUE(link_escapes("link", "x/../../y"));
}

TEST(FileSourceTest, SortsByBytes) {
  std::vector<FileEntry> e{{"b", EntryKind::file, 0644, "", ""},
                           {"a/z", EntryKind::file, 0644, "", ""},
                           {"a.txt", EntryKind::file, 0644, "", ""},
                           {"a", EntryKind::dir, 0755, "", ""}};
  sort_entries(e);
  std::vector<std::string> paths;
  for (const auto& x : e) {
    paths.push_back(x.path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a.txt", "a/z", "b"}));
}

}  // namespace
}  // namespace ztp::artifact
