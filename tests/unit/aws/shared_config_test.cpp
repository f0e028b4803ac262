#include "aws/shared_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/support.hpp"

namespace ztp::aws {
namespace {

SharedConfig parse(const std::string& config, const std::string& credentials = "") {
  SharedConfig c;
  auto a = parse_shared_file(config, SharedFileKind::config, "config", c);
  EXPECT_TRUE(a.ok()) << a.error().message;
  auto b = parse_shared_file(credentials, SharedFileKind::credentials, "credentials", c);
  EXPECT_TRUE(b.ok()) << b.error().message;
  return c;
}

Error parse_error(const std::string& text, SharedFileKind kind = SharedFileKind::config) {
  SharedConfig c;
  auto r = parse_shared_file(text, kind, "/home/u/.aws/config", c);
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  return r.ok() ? Error{} : r.error();
}

TEST(SharedConfigTest, ReadsProfilesServicesAndSsoSessions) {
  auto c = parse(
      "[default]\n"
      "region = us-east-1\n"
      "[profile prod]\n"
      "region = eu-west-1\n"
      "services = local-fakes\n"
      "[sso-session corp]\n"
      "sso_region = us-east-1\n"
      "[services local-fakes]\n"
      "ecs =\n"
      "  endpoint_url = http://127.0.0.1:4566\n"
      "elastic_load_balancing_v2 =\n"
      "\tendpoint_url = http://127.0.0.1:4567\n"
      "\tother = x\n");
  ASSERT_EQ(c.profiles.size(), 2u);
  EXPECT_EQ(c.profiles.at("default").get("region"), "us-east-1");
  EXPECT_EQ(c.profiles.at("prod").get("region"), "eu-west-1");
  EXPECT_EQ(c.profiles.at("prod").where, "config:3");
  EXPECT_EQ(c.sso_sessions.at("corp").get("sso_region"), "us-east-1");
  const ConfigSection& s = c.services.at("local-fakes");
  EXPECT_EQ(s.get("ecs", "endpoint_url"), "http://127.0.0.1:4566");
  EXPECT_EQ(s.get("elastic_load_balancing_v2", "endpoint_url"), "http://127.0.0.1:4567");
  EXPECT_EQ(s.get("elastic_load_balancing_v2", "other"), "x");
  EXPECT_EQ(s.get("ecs"), "\nendpoint_url = http://127.0.0.1:4566");
  EXPECT_EQ(s.get("kms", "endpoint_url"), "");
}

TEST(SharedConfigTest, StripsCommentsAndWhitespaceAsTheSdksDo) {
  auto c = parse(
      "# a comment\n"
      "; another\n"
      "\n"
      "   \t\n"
      "[profile a]   ; comment after a header\n"
      "  \n"
      "k1   =   v1   # comment after whitespace\n"
      "k2=v2#not-a-comment\n"
      "k3 = v3;still-value\n"
      "k4 =\tv4\t;tab comment\n"
      "k5 = \"quoted\"\r\n"
      "[profile\tb]#comment\n"
      "k = v\n");
  const ConfigSection& a = c.profiles.at("a");
  EXPECT_EQ(a.get("k1"), "v1");
  EXPECT_EQ(a.get("k2"), "v2#not-a-comment");
  EXPECT_EQ(a.get("k3"), "v3;still-value");
  EXPECT_EQ(a.get("k4"), "v4");
  EXPECT_EQ(a.get("k5"), "\"quoted\"");
  EXPECT_EQ(c.profiles.at("b").get("k"), "v");
}

TEST(SharedConfigTest, ContinuationLinesExtendAValueKeepingComments) {
  auto c = parse(
      "[profile a]\n"
      "k = first\n"
      "  second # kept\n"
      "\tthird\n"
      "j = 1\n");
  EXPECT_EQ(c.profiles.at("a").get("k"), "first\nsecond # kept\nthird");
  EXPECT_TRUE(c.profiles.at("a").sub_properties.empty());
  EXPECT_EQ(c.profiles.at("a").get("j"), "1");
}

TEST(SharedConfigTest, IgnoresSectionsAndPropertiesOfOtherShapes) {
  auto c = parse(
      "[not-a-profile]\n"
      "k = ignored\n"
      "  continued = ignored\n"
      "[profile bad name]\n"
      "k = ignored\n"
      "[profile ok]\n"
      "bad key = ignored\n"
      "  continued\n"
      "good = kept\n",
      "[profile in-credentials]\n"
      "k = ignored: the credentials file has no prefix\n"
      "[creds]\n"
      "k = kept\n");
  EXPECT_EQ(c.profiles.size(), 2u);
  EXPECT_FALSE(c.profiles.contains("not-a-profile"));
  EXPECT_FALSE(c.profiles.at("ok").has("bad key"));
  EXPECT_EQ(c.profiles.at("ok").get("good"), "kept");
  EXPECT_EQ(c.profiles.at("creds").get("k"), "kept");
}

TEST(SharedConfigTest, MergesRepeatedSectionsWithTheCredentialsFileWinning) {
  auto c = parse(
      "[profile a]\n"
      "k = 1\n"
      "region = us-east-1\n"
      "[profile a]\n"
      "k = 2\n",
      "[a]\n"
      "k = 3\n"
      "aws_access_key_id = AKID\n");
  const ConfigSection& a = c.profiles.at("a");
  EXPECT_EQ(a.get("k"), "3");
  EXPECT_EQ(a.get("region"), "us-east-1");
  EXPECT_EQ(a.get("aws_access_key_id"), "AKID");
  EXPECT_EQ(a.where, "config:1");
}

TEST(SharedConfigTest, ProfileDefaultWinsOverDefaultInTheConfigFile) {
  auto before = parse("[default]\nk = plain\nonly = plain\n[profile default]\nk = prefixed\n");
  EXPECT_EQ(before.profiles.at("default").get("k"), "prefixed");
  EXPECT_FALSE(before.profiles.at("default").has("only"));
  auto after = parse("[profile default]\nk = prefixed\n[default]\nk = plain\n");
  EXPECT_EQ(after.profiles.at("default").get("k"), "prefixed");
}

TEST(SharedConfigTest, MalformedLinesAreErrorsNamingFileAndLine) {
  EXPECT_EQ(parse_error("# top\nregion = us-east-1\n").message,
            "/home/u/.aws/config:2: a property must follow a section header like [default] or "
            "[profile NAME]");
  EXPECT_EQ(parse_error("[default]\n\nregion us-east-1\n").message,
            "/home/u/.aws/config:3: expected an '=' sign defining a property");
  EXPECT_EQ(parse_error("[default]\n= value\n").message,
            "/home/u/.aws/config:2: a property has no name before '='");
  EXPECT_EQ(parse_error("[profile a\nk = v\n").message,
            "/home/u/.aws/config:1: a section header must end with ']'");
  EXPECT_EQ(parse_error("[default]\n  continued\n").message,
            "/home/u/.aws/config:2: a line starting with whitespace continues a property, but "
            "none precedes it");
  EXPECT_EQ(parse_error("[services s]\necs =\n  endpoint_url\n").message,
            "/home/u/.aws/config:3: expected an '=' sign defining a sub-property");
  EXPECT_EQ(parse_error("k = v\n", SharedFileKind::credentials).code, Errc::invalid);
}

TEST(SharedConfigTest, LocatesTheFilesFromTheEnvironment) {
  Env env{{"HOME", "/home/u"}};
  EXPECT_EQ(config_file_path(env), "/home/u/.aws/config");
  EXPECT_EQ(credentials_file_path(env), "/home/u/.aws/credentials");
  env["AWS_CONFIG_FILE"] = "~/cfg/aws";
  env["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/aws/creds";
  EXPECT_EQ(config_file_path(env), "/home/u/cfg/aws");
  EXPECT_EQ(credentials_file_path(env), "/etc/aws/creds");
  EXPECT_EQ(config_file_path(Env{}), "");
}

TEST(SharedConfigTest, SelectsTheProfileAndReportsAMissingNamedOne) {
  testing::TempDir dir;
  testing::write_text(dir / "config", "[profile prod]\nregion = eu-west-1\n");
  testing::write_text(dir / "credentials", "[default]\naws_access_key_id = AKID\n");
  Env env{{"AWS_CONFIG_FILE", (dir / "config").string()},
          {"AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").string()}};

  auto by_default = load_shared_config(env);
  ASSERT_TRUE(by_default.ok()) << by_default.error().message;
  EXPECT_EQ(by_default->profile_name, "default");
  EXPECT_FALSE(by_default->profile_named);
  ASSERT_NE(by_default->profile(), nullptr);
  EXPECT_EQ(by_default->profile()->get("aws_access_key_id"), "AKID");

  env["AWS_PROFILE"] = "prod";
  auto by_env = load_shared_config(env);
  ASSERT_TRUE(by_env.ok()) << by_env.error().message;
  EXPECT_EQ(by_env->profile()->get("region"), "eu-west-1");
  EXPECT_TRUE(by_env->profile_named);

  auto explicit_wins = load_shared_config(env, "default");
  ASSERT_TRUE(explicit_wins.ok());
  EXPECT_EQ(explicit_wins->profile_name, "default");

  env["AWS_PROFILE"] = "staging";
  auto missing = load_shared_config(env);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message,
            "profile \"staging\" (from AWS_PROFILE) is in neither " + (dir / "config").string() +
                " nor " + (dir / "credentials").string() + "; profiles there: default, prod");
}

TEST(SharedConfigTest, MissingFilesAreEmptyAndBadOnesAreErrors) {
  testing::TempDir dir;
  Env env{{"HOME", dir.path().string()}};
  auto none = load_shared_config(env);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(none->profile(), nullptr);
  EXPECT_TRUE(none->profiles.empty());

  auto named = load_shared_config(env, "prod");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().code, Errc::not_found);
  EXPECT_NE(named.error().message.find("neither file defines any profile"), std::string::npos);

  testing::write_text(dir / ".aws/credentials", "[default]\nnot a property\n");
  auto bad = load_shared_config(env);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_EQ(bad.error().message,
            (dir / ".aws/credentials").string() + ":2: expected an '=' sign defining a property");
}

TEST(SharedConfigTest, ReadsTheEnvironment) {
  Env env = process_env();
  EXPECT_FALSE(env_value(env, "PATH").empty());
  Env fake{{"A", "TRUE"}, {"B", "1"}, {"C", ""}};
  EXPECT_TRUE(env_true(fake, "A"));
  EXPECT_FALSE(env_true(fake, "B"));
  EXPECT_FALSE(env_true(fake, "missing"));
  EXPECT_EQ(env_value(fake, "C"), "");
}

}  // namespace
}  // namespace ztp::aws
