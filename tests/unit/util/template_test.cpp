#include "util/template.hpp"

#include <gtest/gtest.h>

namespace ztp {
namespace {

const std::map<std::string, std::string> k_vars{
    {"env", "dev"}, {"port", "20001"}, {"replica_dir", "/srv/envs/dev/r1"}};

TEST(TemplateTest, ReplacesVariablesWithAndWithoutSpaces) {
  auto r =
      render_template("listen 127.0.0.1:{{port}};\npid {{ replica_dir }}/nginx.pid;\n", k_vars);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "listen 127.0.0.1:20001;\npid /srv/envs/dev/r1/nginx.pid;\n");
}

TEST(TemplateTest, ReplacesEveryOccurrenceAndKeepsTheRest) {
  auto r = render_template("{{env}}-{{env}} {single} } { }}", k_vars);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "dev-dev {single} } { }}");
}

TEST(TemplateTest, TextWithoutVariablesIsUnchanged) {
  std::string text = "server {\n  listen 80;\n}\n";
  auto r = render_template(text, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, text);
  EXPECT_EQ(*render_template("", k_vars), "");
}

TEST(TemplateTest, ValuesAreNotRenderedAgain) {
  auto r = render_template("{{a}}", {{"a", "{{b}}"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "{{b}}");
}

TEST(TemplateTest, UnknownVariableNamesItsLineAndTheKnownOnes) {
  auto r = render_template("one\ntwo\nlisten {{prot}};\n", k_vars);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_EQ(r.error().message,
            "line 3: unknown template variable {{prot}}; known: env, port, replica_dir");
}

TEST(TemplateTest, LineCountsNewlinesBeforeTheVariableOnly) {
  // The replaced value's newlines and earlier variables do not shift the reported line.
  auto r = render_template("{{env}}\n{{ port }} {{nope}}\n", {{"env", "a\nb\nc"}, {"port", "1"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("line 2: unknown template variable {{nope}}", 0), 0u)
      << r.error().message;
}

TEST(TemplateTest, UnclosedBracesAreAnErrorWithTheirLine) {
  auto r = render_template("a\nroot {{release_dir/src;\n", k_vars);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find("line 2: unclosed {{"), std::string::npos) << r.error().message;

  // A variable does not span lines, even when `}}` comes later.
  auto spanning = render_template("{{port\n}}", k_vars);
  ASSERT_FALSE(spanning.ok());
  EXPECT_NE(spanning.error().message.find("line 1: unclosed {{"), std::string::npos);
}

TEST(TemplateTest, MalformedNamesAreInvalid) {
  for (const char* text : {"{{}}", "{{  }}", "{{a b}}", "{{port-1}}"}) {
    auto r = render_template(text, k_vars);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, Errc::invalid);
    EXPECT_NE(r.error().message.find("invalid template variable"), std::string::npos)
        << r.error().message;
  }
}

TEST(TemplateTest, NoVariablesKnownSaysNone) {
  auto r = render_template("{{port}}", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("known: none"), std::string::npos);
}

}  // namespace
}  // namespace ztp
