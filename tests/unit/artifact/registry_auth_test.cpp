#include "artifact/registry_auth.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "registry_fake_server.hpp"
#include "support/support.hpp"

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

// The environment for_registry sees, without touching this process's.
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    return it != vars.end() ? std::optional<std::string>(it->second) : std::nullopt;
  };
}

// An `auths` file with one entry per key, each holding base64("user:password") as `auth`.
std::string auths_file(std::initializer_list<std::pair<std::string, std::string>> entries) {
  nlohmann::json j;
  j["auths"] = nlohmann::json::object();
  for (const auto& [key, user_password] : entries) {
    j["auths"][key]["auth"] = sys::base64(user_password);
  }
  return j.dump();
}

// Writes an executable `docker-credential-<name>` shell script into `dir`.
void write_helper(const std::filesystem::path& dir, const std::string& name,
                  const std::string& body) {
  auto path = dir / ("docker-credential-" + name);
  testing::write_text(path, "#!/bin/sh\n" + body);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

bool anonymous(const RegistryAuth& a) {
  return a.username.empty() && a.password.empty() && a.token.empty();
}

TEST(RegistryAuthLookupTest, IsAnonymousWhenNoVariableNorFileIsThere) {
  testing::TempDir home;
  auto auth = RegistryAuth::for_registry("registry.example.com", env_of({{"HOME", home.path()}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
  auth = RegistryAuth::for_registry("registry.example.com", env_of({}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
}

TEST(RegistryAuthLookupTest, ReadsTheFileOfRegistryAuthFileAndSplitsAtTheFirstColon) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", auths_file({{"registry.example.com:5000", "robot:pa:ss"},
                                                     {"other.example.com", "no:body"}}));
  auto auth = RegistryAuth::for_registry("registry.example.com:5000",
                                         env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "robot");
  EXPECT_EQ(auth->password, "pa:ss");
  EXPECT_EQ(auth->token, "");
  // A host the file does not name is anonymous.
  auth = RegistryAuth::for_registry("registry.example.com",
                                    env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
}

TEST(RegistryAuthLookupTest, ZtpVariablesWinOverEveryFile) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", auths_file({{"reg.example", "from:file"}}));
  auto auth =
      RegistryAuth::for_registry("reg.example", env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"},
                                                        {k_env_registry_username, "deployer"},
                                                        {k_env_registry_password, "from-env"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "deployer");
  EXPECT_EQ(auth->password, "from-env");
  auth = RegistryAuth::for_registry(
      "reg.example",
      env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}, {k_env_registry_token, "ci-token"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->token, "ci-token");
  EXPECT_EQ(auth->username, "");
  // A password alone cannot log in: the file is read.
  auth = RegistryAuth::for_registry(
      "reg.example",
      env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}, {k_env_registry_password, "lonely"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "from");
  EXPECT_EQ(auth->password, "file");
}

TEST(RegistryAuthLookupTest, ReadsTheFilesInPodmanThenDockerOrder) {
  testing::TempDir dir;
  auto auth_file = dir / "explicit.json";
  auto runtime = dir / "run";
  auto home = dir / "home";
  auto docker_config = dir / "docker-config";
  testing::write_text(auth_file, auths_file({{"a.example", "explicit:1"}}));
  testing::write_text(runtime / "containers/auth.json",
                      auths_file({{"a.example", "runtime:2"}, {"b.example", "runtime:2"}}));
  testing::write_text(home / ".config/containers/auth.json",
                      auths_file({{"b.example", "config:3"}, {"c.example", "config:3"}}));
  testing::write_text(home / ".docker/config.json",
                      auths_file({{"c.example", "docker:4"}, {"d.example", "docker:4"}}));
  testing::write_text(docker_config / "config.json", auths_file({{"d.example", "dockercfg:5"}}));
  std::map<std::string, std::string> vars = {
      {"REGISTRY_AUTH_FILE", auth_file}, {"XDG_RUNTIME_DIR", runtime}, {"HOME", home}};
  auto user_of = [&](const char* host, const std::map<std::string, std::string>& v) {
    auto auth = RegistryAuth::for_registry(host, env_of(v));
    EXPECT_TRUE(auth.ok()) << auth.error().message;
    return auth.ok() ? auth->username : std::string("error");
  };
  EXPECT_EQ(user_of("a.example", vars), "explicit");
  EXPECT_EQ(user_of("b.example", vars), "runtime");
  EXPECT_EQ(user_of("c.example", vars), "config");
  EXPECT_EQ(user_of("d.example", vars), "docker");
  // DOCKER_CONFIG replaces ~/.docker.
  auto with_docker_config = vars;
  with_docker_config["DOCKER_CONFIG"] = docker_config;
  EXPECT_EQ(user_of("d.example", with_docker_config), "dockercfg");
  EXPECT_EQ(user_of("c.example", with_docker_config), "config");
  // A REGISTRY_AUTH_FILE that does not exist is skipped.
  auto missing = vars;
  missing["REGISTRY_AUTH_FILE"] = dir / "nowhere.json";
  EXPECT_EQ(user_of("a.example", missing), "runtime");
}

TEST(RegistryAuthLookupTest, MatchesDockersLegacyKeys) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", auths_file({{"https://one.example", "u1:p"},
                                                       {"http://two.example:5000", "u2:p"},
                                                       {"three.example/v2/", "u3:p"},
                                                       {"https://four.example/v1/", "u4:p"},
                                                       {"five.example/team/app", "scoped:p"}}));
  auto env = env_of({{"DOCKER_CONFIG", dir.path()}});
  for (auto [host, user] : {std::pair{"one.example", "u1"}, std::pair{"two.example:5000", "u2"},
                            std::pair{"three.example", "u3"}, std::pair{"FOUR.example", "u4"}}) {
    auto auth = RegistryAuth::for_registry(host, env);
    ASSERT_TRUE(auth.ok()) << auth.error().message;
    EXPECT_EQ(auth->username, user) << host;
  }
  // A key scoped to a repository says nothing about the registry's other repositories.
  auto auth = RegistryAuth::for_registry("five.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
}

TEST(RegistryAuthLookupTest, PrefersTheExactKeyOverALegacyOne) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", auths_file({{"https://reg.example/v1/", "legacy:p"},
                                                     {"reg.example", "exact:p"}}));
  auto auth = RegistryAuth::for_registry("reg.example",
                                         env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "exact");
}

TEST(RegistryAuthLookupTest, FindsDockerHubUnderItsLegacyKey) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", auths_file({{"https://index.docker.io/v1/", "hub:pw"}}));
  auto env = env_of({{"DOCKER_CONFIG", dir.path()}});
  for (const char* host : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    auto auth = RegistryAuth::for_registry(host, env);
    ASSERT_TRUE(auth.ok()) << auth.error().message;
    EXPECT_EQ(auth->username, "hub") << host;
    EXPECT_EQ(auth->password, "pw") << host;
  }
}

TEST(RegistryAuthLookupTest, ReadsIdentityTokensAndPlainUsernameFields) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", R"({"auths": {
    "id.example": {"auth": ")" + sys::base64("someone:") +
                                             R"(", "identitytoken": "refresh-me"},
    "plain.example": {"username": "robot", "password": "pw"},
    "placeholder.example": {}
  }})");
  auto env = env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}});
  auto auth = RegistryAuth::for_registry("id.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "<token>");
  EXPECT_EQ(auth->password, "refresh-me");
  auth = RegistryAuth::for_registry("plain.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "robot");
  EXPECT_EQ(auth->password, "pw");
  auth = RegistryAuth::for_registry("placeholder.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
}

TEST(RegistryAuthLookupTest, AFileThatIsNotJsonIsAnErrorNamingItButNotItsSecrets) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", R"({"auths": {"reg.example": {"auth": "c2VjcmV0LXB3")");
  auto auth = RegistryAuth::for_registry("reg.example",
                                         env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}}));
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.error().code, Errc::invalid);
  EXPECT_NE(auth.error().message.find((dir / "auth.json").string()), std::string::npos)
      << auth.error().message;
  EXPECT_EQ(auth.error().message.find("c2VjcmV0"), std::string::npos) << "leaks the auth string";
}

TEST(RegistryAuthLookupTest, AnAuthThatIsNotBase64UserPasswordIsAnErrorWithoutIt) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json",
                      R"({"auths": {"reg.example": {"auth": ")" + sys::base64("nocolon") + "\"}}}");
  auto auth = RegistryAuth::for_registry("reg.example",
                                         env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}}));
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.error().code, Errc::invalid);
  EXPECT_NE(auth.error().message.find("reg.example"), std::string::npos) << auth.error().message;
  EXPECT_EQ(auth.error().message.find(sys::base64("nocolon")), std::string::npos);
  EXPECT_EQ(auth.error().message.find("nocolon"), std::string::npos);
}

TEST(RegistryAuthLookupTest, AsksTheCredentialHelperWithTheHostOnItsInput) {
  testing::TempDir dir;
  // Answers with what it read, so the test sees the host it was given.
  write_helper(dir / "bin", "testhelper",
               "[ \"$1\" = get ] || exit 9\n"
               "host=$(cat)\n"
               "printf '{\"ServerURL\":\"%s\",\"Username\":\"robot@%s\",\"Secret\":\"s3cret\"}' "
               "\"$host\" \"$host\"\n");
  write_helper(dir / "bin", "tokenhelper",
               "cat >/dev/null\n"
               "echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"id-token\"}'\n");
  testing::write_text(dir / "config.json", R"({
    "auths": {"reg.example": {}, "mine.example": {"auth": ")" +
                                               sys::base64("file:pw") + R"("}},
    "credHelpers": {"helped.example": "testhelper", "token.example": "tokenhelper"},
    "credsStore": "testhelper"
  })");
  auto env =
      env_of({{"DOCKER_CONFIG", dir.path()}, {"PATH", "/nonexistent:" + (dir / "bin").string()}});

  auto auth = RegistryAuth::for_registry("helped.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "robot@helped.example");
  EXPECT_EQ(auth->password, "s3cret");
  // credsStore serves the hosts no credHelpers entry names, an empty auths entry included.
  auth = RegistryAuth::for_registry("reg.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "robot@reg.example");
  // Docker keeps Docker Hub's credentials under its legacy key: that is what the helper is asked.
  auth = RegistryAuth::for_registry("registry-1.docker.io", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "robot@https://index.docker.io/v1/");
  // An auths entry with credentials comes before the default helper.
  auth = RegistryAuth::for_registry("mine.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "file");
  // "<token>" marks an identity token.
  auth = RegistryAuth::for_registry("token.example", env);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_EQ(auth->username, "<token>");
  EXPECT_EQ(auth->password, "id-token");
}

TEST(RegistryAuthLookupTest, AFailingHelperIsAnErrorNamingItAndTheHostButNotItsOutput) {
  testing::TempDir dir;
  write_helper(dir / "bin", "testhelper",
               "cat >/dev/null\n"
               "echo 'leaked-secret-on-stdout'\n"
               "echo 'error: keychain is locked' >&2\n"
               "echo 'second line' >&2\n"
               "exit 3\n");
  testing::write_text(dir / "auth.json", R"({"credHelpers": {"reg.example": "testhelper"}})");
  auto auth = RegistryAuth::for_registry(
      "reg.example",
      env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}, {"PATH", (dir / "bin").string()}}));
  ASSERT_FALSE(auth.ok());
  const std::string& m = auth.error().message;
  EXPECT_EQ(auth.error().code, Errc::invalid);
  EXPECT_NE(m.find("docker-credential-testhelper"), std::string::npos) << m;
  EXPECT_NE(m.find("reg.example"), std::string::npos) << m;
  EXPECT_NE(m.find("exit status 3"), std::string::npos) << m;
  EXPECT_NE(m.find("keychain is locked"), std::string::npos) << m;
  EXPECT_EQ(m.find("second line"), std::string::npos) << m;
  EXPECT_EQ(m.find("leaked-secret"), std::string::npos) << m;
}

TEST(RegistryAuthLookupTest, AHelperWithoutCredentialsForTheHostMeansAnonymous) {
  testing::TempDir dir;
  write_helper(dir / "bin", "testhelper",
               "cat >/dev/null\n"
               "echo 'credentials not found in native keychain'\n"
               "exit 1\n");
  testing::write_text(dir / "auth.json", R"({"credsStore": "testhelper"})");
  auto auth = RegistryAuth::for_registry(
      "reg.example",
      env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}, {"PATH", (dir / "bin").string()}}));
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE(anonymous(*auth));
}

TEST(RegistryAuthLookupTest, AHelperThatIsNotInstalledIsAnErrorNamingItAndTheHost) {
  testing::TempDir dir;
  testing::write_text(dir / "auth.json", R"({"credHelpers": {"reg.example": "absent"}})");
  auto auth = RegistryAuth::for_registry(
      "reg.example",
      env_of({{"REGISTRY_AUTH_FILE", dir / "auth.json"}, {"PATH", dir.path().string()}}));
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.error().code, Errc::not_found);
  EXPECT_NE(auth.error().message.find("docker-credential-absent"), std::string::npos)
      << auth.error().message;
  EXPECT_NE(auth.error().message.find("reg.example"), std::string::npos) << auth.error().message;
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
