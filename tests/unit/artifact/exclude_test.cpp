#include "artifact/exclude.hpp"

#include <gtest/gtest.h>

namespace ztp::artifact {
namespace {

TEST(ExcludeTest, APatternLeavesOutAPathAndEverythingBelowIt) {
  std::vector<std::string> patterns{"**/*.md", "node_modules", "build/*.tmp"};
  EXPECT_TRUE(is_excluded(patterns, "README.md"));
  EXPECT_TRUE(is_excluded(patterns, "docs/guide.md"));
  EXPECT_TRUE(is_excluded(patterns, "node_modules"));
  EXPECT_TRUE(is_excluded(patterns, "node_modules/pkg/index.js"));
  EXPECT_TRUE(is_excluded(patterns, "build/a.tmp"));
  // A folder matching a file pattern takes its content with it.
  EXPECT_TRUE(is_excluded(patterns, "notes.md/inside.txt"));
  EXPECT_FALSE(is_excluded(patterns, "index.html"));
  EXPECT_FALSE(is_excluded(patterns, "src/node_modules"));
  EXPECT_FALSE(is_excluded(patterns, "build/sub/a.tmp"));
  EXPECT_FALSE(is_excluded(patterns, "docs"));
}

TEST(ExcludeTest, RepositoryAndStateAtTheTopAreAlwaysLeftOut) {
  EXPECT_TRUE(is_excluded({}, ".git"));
  EXPECT_TRUE(is_excluded({}, ".git/HEAD"));
  EXPECT_TRUE(is_excluded({}, ".ztp"));
  EXPECT_TRUE(is_excluded({}, ".ztp/state.db"));
  EXPECT_FALSE(is_excluded({}, "sub/.ztp"));
  EXPECT_FALSE(is_excluded({}, ".gitignore"));
  EXPECT_FALSE(is_excluded({}, ".ztpignore"));
}

TEST(ExcludeTest, ValidateNamesTheFieldAndTheProblem) {
  EXPECT_TRUE(validate_excludes({"**/*.md", "a/b"}).ok());
  auto bad = validate_excludes({"ok", "[abc"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_EQ(bad.error().message.rfind("build.exclude: ", 0), 0u) << bad.error().message;
}

}  // namespace
}  // namespace ztp::artifact
