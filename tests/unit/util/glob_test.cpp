#include "util/glob.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ztp {
namespace {

std::string invalid(std::string_view pattern) {
  auto r = validate_glob(pattern);
  EXPECT_FALSE(r.ok()) << pattern;
  return r.ok() ? "" : r.error().message;
}

TEST(GlobTest, DoubleStarMatchesAnyDepthIncludingZero) {
  EXPECT_TRUE(glob_match("application/**", "application/x"));
  EXPECT_TRUE(glob_match("application/**", "application/a/b"));
  EXPECT_TRUE(glob_match("application/**", "application"));
  EXPECT_FALSE(glob_match("application/**", "applications/x"));
  EXPECT_TRUE(glob_match("**/*.md", "README.md"));
  EXPECT_TRUE(glob_match("**/*.md", "docs/a.md"));
  EXPECT_TRUE(glob_match("**/*.md", "docs/deep/er/a.md"));
  EXPECT_FALSE(glob_match("**/*.md", "docs/a.mdx"));
  EXPECT_TRUE(glob_match("src/**/test/*.cpp", "src/test/a.cpp"));
  EXPECT_TRUE(glob_match("src/**/test/*.cpp", "src/a/b/test/a.cpp"));
  EXPECT_FALSE(glob_match("src/**/test/*.cpp", "src/a/b/test/x/a.cpp"));
  EXPECT_TRUE(glob_match("**", "anything/at/all"));
  EXPECT_TRUE(glob_match("a/**/b/**/c", "a/x/b/y/z/c"));
  EXPECT_TRUE(glob_match("a/**/**/c", "a/c"));
}

TEST(GlobTest, SingleStarAndQuestionMarkStayInOneSegment) {
  EXPECT_TRUE(glob_match("nginx*.conf", "nginx.local.conf"));
  EXPECT_TRUE(glob_match("nginx*.conf", "nginx.conf"));
  EXPECT_FALSE(glob_match("nginx*.conf", "conf/nginx.conf"));
  EXPECT_FALSE(glob_match("*.md", "docs/a.md"));
  EXPECT_TRUE(glob_match("*.md", ".hidden.md"));
  EXPECT_FALSE(glob_match("src/*", "src/a/b"));
  EXPECT_TRUE(glob_match("src/*", "src/a"));
  EXPECT_TRUE(glob_match("file?.txt", "file1.txt"));
  EXPECT_FALSE(glob_match("file?.txt", "file.txt"));
  EXPECT_FALSE(glob_match("a?b", "a/b"));
  EXPECT_TRUE(glob_match("*a*b*c", "xxaybzzc"));
  EXPECT_FALSE(glob_match("*a*b*c", "xxaybzz"));
  EXPECT_TRUE(glob_match("ztp.yaml", "ztp.yaml"));
  EXPECT_FALSE(glob_match("ztp.yaml", "ztp.yml"));
}

TEST(GlobTest, CharacterClasses) {
  EXPECT_TRUE(glob_match("file[abc].txt", "fileb.txt"));
  EXPECT_FALSE(glob_match("file[abc].txt", "filed.txt"));
  EXPECT_TRUE(glob_match("v[0-9].conf", "v7.conf"));
  EXPECT_FALSE(glob_match("v[0-9].conf", "vx.conf"));
  EXPECT_TRUE(glob_match("[!x]y", "ay"));
  EXPECT_FALSE(glob_match("[!x]y", "xy"));
  EXPECT_TRUE(glob_match("[]]", "]"));
  EXPECT_TRUE(glob_match("a[-z]", "a-"));
  EXPECT_FALSE(glob_match("[!a]", "/"));
}

TEST(GlobTest, BackslashEscapes) {
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("\\[x]", "[x]"));
}

TEST(GlobTest, ValidatesPatterns) {
  EXPECT_TRUE(validate_glob("src/**").ok());
  EXPECT_TRUE(validate_glob("**/*.md").ok());
  EXPECT_TRUE(validate_glob("file[!a-c].txt").ok());
  EXPECT_EQ(invalid(""), "bad glob: the pattern is empty");
  EXPECT_EQ(invalid("src/[a"),
            "bad glob `src/[a`: `[` is not closed by `]`; write `\\[` for a "
            "literal `[`");
  EXPECT_EQ(invalid("[]"),
            "bad glob `[]`: `[` is not closed by `]`; write `\\[` for a literal `[`");
  EXPECT_EQ(invalid("docs/***"),
            "bad glob `docs/***`: `***` means nothing; use `**` for any "
            "depth or `*` within a name");
  EXPECT_EQ(invalid("a**"),
            "bad glob `a**`: `**` must be a whole path segment, like `src/**/x`; "
            "use `*` within a name");
  EXPECT_EQ(invalid("/src/**"),
            "bad glob `/src/**`: it is absolute; globs are relative to their "
            "root, drop the leading `/`");
  EXPECT_EQ(invalid("src/"),
            "bad glob `src/`: it ends with `/`; write `dir/**` to match what a "
            "directory holds");
  EXPECT_EQ(invalid("a//b"), "bad glob `a//b`: it has an empty path segment (`//`)");
  EXPECT_EQ(invalid("a\\"), "bad glob `a\\`: it ends with a dangling `\\`");
  EXPECT_EQ(invalid("[a/b]"), "bad glob `[a/b]`: a `[...]` class cannot hold `/`");
}

TEST(GlobTest, InvalidPatternsMatchNothing) {
  EXPECT_FALSE(glob_match("src/[a", "src/[a"));
  EXPECT_FALSE(glob_match("", ""));
}

}  // namespace
}  // namespace ztp
