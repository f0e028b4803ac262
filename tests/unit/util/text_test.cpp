#include "util/text.hpp"

#include <gtest/gtest.h>

namespace ztp::text {
namespace {

TEST(TextTest, TrimDropsAsciiSpaceAtBothEndsOnly) {
  EXPECT_EQ(trim(" \t\r\n\v\f a b \r\n"), "a b");
  EXPECT_EQ(trim_left("  a  "), "a  ");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t "), "");
  // A non-breaking space (UTF-8 C2 A0) is not ASCII space.
  EXPECT_EQ(trim("\xc2\xa0x"), "\xc2\xa0x");
}

TEST(TextTest, IequalsComparesAsciiLettersWithoutCase) {
  EXPECT_TRUE(iequals("Content-Type", "content-TYPE"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-type", "content-typ"));
  EXPECT_FALSE(iequals("a", "b"));
  // Only ASCII letters fold: '[' (0x5B) is not '{' (0x7B) lower-cased.
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // É and é stay different bytes
}

TEST(TextTest, CaseMappingTouchesAsciiLettersOnly) {
  EXPECT_EQ(to_lower("AbC-1_\xc3\x89"), "abc-1_\xc3\x89");
  EXPECT_EQ(to_upper("aBc-1_\xc3\xa9"), "ABC-1_\xc3\xa9");
  EXPECT_EQ(lower('Z'), 'z');
  EXPECT_EQ(lower('@'), '@');
}

TEST(TextTest, EscapeMarkupWritesTheFiveSpecialCharactersAsReferences) {
  EXPECT_EQ(escape_markup(R"(<a href="x?a=1&b='2'">)"),
            "&lt;a href=&quot;x?a=1&amp;b=&apos;2&apos;&quot;&gt;");
  EXPECT_EQ(escape_markup("plain \xc3\xa9"), "plain \xc3\xa9");
}

}  // namespace
}  // namespace ztp::text
