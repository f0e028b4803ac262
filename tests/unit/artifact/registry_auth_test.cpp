#include "artifact/registry_auth.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "registry_fake_server.hpp"

namespace ztp::artifact {
namespace {

TEST(WwwAuthenticateTest, ParsesABearerChallengeWithAScopeHoldingCommas) {
  auto parsed = parse_www_authenticate(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
      R"(scope="repository:team/app:pull,push")");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  const auto& c = parsed->front();
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.params.at("realm"), "https://auth.example.com/token");
  EXPECT_EQ(c.params.at("service"), "registry.example.com");
  EXPECT_EQ(c.params.at("scope"), "repository:team/app:pull,push");
  EXPECT_EQ(c.params.size(), 3u);
}

TEST(WwwAuthenticateTest, ParsesBasicWithCaseAndSpacesAsRfc7235Allows) {
  auto parsed = parse_www_authenticate(R"(BASIC   Realm = "Registry Realm" , charset="UTF-8")");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ(parsed->front().scheme, "basic");
  EXPECT_EQ(parsed->front().params.at("realm"), "Registry Realm");
  EXPECT_EQ(parsed->front().params.at("charset"), "UTF-8");
}

TEST(WwwAuthenticateTest, SplitsSeveralChallengesInOneHeader) {
  auto parsed = parse_www_authenticate(
      R"(Negotiate, Basic realm="basic", Bearer realm="https://a/token",service=reg)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].scheme, "negotiate");
  EXPECT_TRUE((*parsed)[0].params.empty());
  EXPECT_EQ((*parsed)[1].scheme, "basic");
  EXPECT_EQ((*parsed)[1].params.at("realm"), "basic");
  EXPECT_EQ((*parsed)[2].scheme, "bearer");
  EXPECT_EQ((*parsed)[2].params.at("realm"), "https://a/token");
  EXPECT_EQ((*parsed)[2].params.at("service"), "reg");
}

TEST(WwwAuthenticateTest, UndoesQuotedPairEscapes) {
  auto parsed = parse_www_authenticate(R"(Bearer realm="say \"hi\" \\ bye",error="x,y")");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->front().params.at("realm"), R"(say "hi" \ bye)");
  EXPECT_EQ(parsed->front().params.at("error"), "x,y");
}

TEST(WwwAuthenticateTest, ReadsAToken68WithPadding) {
  auto parsed = parse_www_authenticate("Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag==, Basic realm=r");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].token68, "YIIBhgYGKwYBBQUCoIIBejCCAXag==");
  EXPECT_EQ((*parsed)[1].params.at("realm"), "r");
}

TEST(WwwAuthenticateTest, ReadsAnUnquotedRealmUrl) {
  auto parsed = parse_www_authenticate("Bearer realm=https://auth.example/token,service=reg");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->front().params.at("realm"), "https://auth.example/token");
  EXPECT_EQ(parsed->front().params.at("service"), "reg");
}

TEST(WwwAuthenticateTest, RejectsMalformedHeaders) {
  for (const char* bad :
       {"", "  ,  ", R"(Bearer realm="never closed)", "=value", R"(Bearer realm="a", ="b")"}) {
    auto parsed = parse_www_authenticate(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted: " << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, Errc::invalid);
      EXPECT_NE(parsed.error().message.find("WWW-Authenticate"), std::string::npos);
    }
  }
}

TEST(TokenResponseTest, TakesTokenThenAccessToken) {
  EXPECT_EQ(parse_token_response(R"({"token":"abc","access_token":"def"})").value(), "abc");
  EXPECT_EQ(parse_token_response(R"({"access_token":"def","expires_in":60})").value(), "def");
  EXPECT_EQ(parse_token_response(R"({"token":"","access_token":"def"})").value(), "def");
}

TEST(TokenResponseTest, RejectsAnswersWithoutAToken) {
  for (const char* bad : {"", "not json", "[]", R"({"expires_in":60})", R"({"token":42})"}) {
    auto token = parse_token_response(bad);
    EXPECT_FALSE(token.ok()) << bad;
    if (!token.ok()) {
      EXPECT_EQ(token.error().code, Errc::invalid);
    }
  }
}

TEST(RegistryAuthTest, EncodesBasicCredentialsAsRfc7617Says) {
  // The example of RFC 7617 section 2.
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(RegistryAuthTest, ScopesNameTheRepositoryAndTheActions) {
  EXPECT_EQ(repository_scope("team/app", false), "repository:team/app:pull");
  EXPECT_EQ(repository_scope("team/app", true), "repository:team/app:pull,push");
  EXPECT_EQ(repository_scope("", true), "");
}

TEST(RegistryAuthTest, ReadsCredentialsFromTheEnvironment) {
  ::setenv(k_env_registry_username, "deployer", 1);
  ::setenv(k_env_registry_password, "pa ss", 1);
  ::setenv(k_env_registry_token, "tkn", 1);
  auto auth = RegistryAuth::from_environment();
  EXPECT_EQ(auth.username, "deployer");
  EXPECT_EQ(auth.password, "pa ss");
  EXPECT_EQ(auth.token, "tkn");
  ::unsetenv(k_env_registry_username);
  ::unsetenv(k_env_registry_password);
  ::unsetenv(k_env_registry_token);
  auth = RegistryAuth::from_environment();
  EXPECT_TRUE(auth.username.empty() && auth.password.empty() && auth.token.empty());
}

TEST(RegistryAuthenticatorTest, SendsNothingUntilAsked) {
  RegistryAuthenticator auth(RegistryAuth{"u", "p", ""});
  EXPECT_EQ(auth.authorization("repository:a:pull"), "");
}

TEST(RegistryAuthenticatorTest, UsesAGivenTokenAsIsAndNeverRetries) {
  RegistryAuthenticator auth(RegistryAuth{"", "", "static-token"});
  EXPECT_EQ(auth.authorization("repository:a:pull"), "Bearer static-token");
  sys::HttpClient session;
  auto retry =
      auth.answer(R"(Bearer realm="http://127.0.0.1:1/token")", "repository:a:pull", session);
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry.value());
}

TEST(RegistryAuthenticatorTest, AnswersBasicOnceWithCredentialsAndNeverWithout) {
  sys::HttpClient session;
  RegistryAuthenticator anonymous(RegistryAuth{});
  EXPECT_FALSE(anonymous.answer(R"(Basic realm="r")", "", session).value());

  RegistryAuthenticator auth(RegistryAuth{"Aladdin", "open sesame", ""});
  EXPECT_TRUE(auth.answer(R"(Basic realm="r")", "", session).value());
  EXPECT_EQ(auth.authorization("anything"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  // The same challenge again means the credentials were refused: retrying cannot help.
  EXPECT_FALSE(auth.answer(R"(Basic realm="r")", "", session).value());
}

TEST(RegistryAuthenticatorTest, GetsABearerTokenForTheScopeAndCachesItPerScope) {
  test::FakeRegistry::Options o;
  o.bearer_basic = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";
  test::FakeRegistry registry(o);
  sys::HttpClient session;
  RegistryAuthenticator auth(RegistryAuth{"Aladdin", "open sesame", ""});
  std::string challenge = "Bearer realm=\"http://" + registry.host() +
                          "/token\",service=\"fake\",scope=\"repository:other:pull\"";
  auto retry = auth.answer(challenge, "repository:team/app:pull", session);
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_TRUE(retry.value());
  EXPECT_EQ(auth.authorization("repository:team/app:pull"), "Bearer tok-1");
  EXPECT_EQ(auth.authorization("repository:team/app:pull,push"), "");
  auto requests = registry.server().requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/token");
  EXPECT_EQ(requests[0].query.at("service"), "fake");
  // Our scope, and the one the registry named besides it.
  EXPECT_EQ(requests[0].query.at("scope"), "repository:team/app:pull repository:other:pull");
  EXPECT_EQ(requests[0].header("authorization"), o.bearer_basic);
}

TEST(RegistryAuthenticatorTest, ReportsATokenServerThatRefusesTheCredentials) {
  test::FakeRegistry::Options o;
  o.bearer_basic = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";
  test::FakeRegistry registry(o);
  sys::HttpClient session;
  RegistryAuthenticator auth(RegistryAuth{"Aladdin", "wrong", ""});
  auto retry = auth.answer("Bearer realm=\"http://" + registry.host() + "/token\"",
                           "repository:a:pull", session);
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code, Errc::refused);
  EXPECT_NE(retry.error().message.find("refused the credentials of user \"Aladdin\""),
            std::string::npos)
      << retry.error().message;
  EXPECT_EQ(retry.error().message.find("wrong"), std::string::npos) << "leaks the password";
}

TEST(RegistryAuthenticatorTest, RefusesARealmThatIsNotAnHttpUrl) {
  sys::HttpClient session;
  RegistryAuthenticator auth(RegistryAuth{"u", "p", ""});
  auto retry = auth.answer(R"(Bearer service="x")", "repository:a:pull", session);
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code, Errc::invalid);
  EXPECT_NE(retry.error().message.find("realm"), std::string::npos);
}

}  // namespace
}  // namespace ztp::artifact
