#include "spec/expand.hpp"

#include <gtest/gtest.h>

#include "spec_test_util.hpp"

namespace ztp::spec {
namespace {

Expansion expand(std::string_view text) { return expand_variables(text, testing::fake_env); }

TEST(ExpandTest, SubstitutesSetVariables) {
  EXPECT_EQ(expand("${REPLICAS}").value, "4");
  EXPECT_EQ(expand("n=${REPLICAS}, again ${REPLICAS}.").value, "n=4, again 4.");
  EXPECT_EQ(expand("${EMPTY_VAR}").value, "");
  EXPECT_TRUE(expand("${EMPTY_VAR}").ok());
}

TEST(ExpandTest, DefaultAppliesWhenUnsetOrEmpty) {
  EXPECT_EQ(expand("${NOPE:-x}").value, "x");
  EXPECT_EQ(expand("${NOPE:-}").value, "");
  EXPECT_EQ(expand("${EMPTY_VAR:-d}").value, "d");
  EXPECT_EQ(expand("${REPLICAS:-9}").value, "4");
  EXPECT_EQ(expand("${NOPE:-a b:c}").value, "a b:c");
}

TEST(ExpandTest, DoubleDollarIsALiteralDollarAndLoneDollarsStay) {
  EXPECT_EQ(expand("$$").value, "$");
  EXPECT_EQ(expand("$${REPLICAS}").value, "${REPLICAS}");
  EXPECT_EQ(expand("^a$").value, "^a$");
  EXPECT_EQ(expand("$HOME and $1").value, "$HOME and $1");
  EXPECT_EQ(expand("$$$$").value, "$$");
}

TEST(ExpandTest, UnsetVariableNamesItAndTheFix) {
  auto e = expand("https://x/${TOKEN}");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.error, "environment variable `TOKEN` is not set");
  EXPECT_EQ(e.hint, "export TOKEN=... before running ztp, or write ${TOKEN:-default}");
}

TEST(ExpandTest, MalformedReferencesAreErrors) {
  EXPECT_EQ(expand("${OPEN").error, "`${` is not closed by `}`");
  EXPECT_EQ(expand("${}").error, "`${}` is not a valid variable reference");
  EXPECT_EQ(expand("${1X}").error, "`${1X}` is not a valid variable reference");
  EXPECT_EQ(expand("${A-B}").error, "`${A-B}` is not a valid variable reference");
}

}  // namespace
}  // namespace ztp::spec
