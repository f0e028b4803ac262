#include "aws/credentials.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "aws/sts_web_identity.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_http_server.hpp"
#include "support/support.hpp"
#include "sys/time.hpp"

namespace ztp::aws {
namespace {

using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;

constexpr const char* k_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* k_session = "IQoJb3JpZ2luX2VjEXAMPLESESSION";
constexpr const char* k_web_token = "eyJhbGciOiJSUzI1NiJ9.WEB-IDENTITY-TOKEN.sig";

// A chain that sees only what a test gives it: HOME is an empty directory, the instance
// metadata service is off, time is a fake's, retries do not wait long.
class ChainTest : public ::testing::Test {
 protected:
  ChainTest() {
    options.env = {{"HOME", home.path().string()},
                   {"AWS_EC2_METADATA_DISABLED", "true"},
                   {"PATH", "/usr/bin:/bin"}};
    options.clock = &clock;
    options.region = "us-east-1";
    options.retry.backoff =
        sys::Backoff{std::chrono::milliseconds(1), 1.0, std::chrono::milliseconds(1), false};
  }

  std::string expires_in(std::chrono::seconds s) const {
    return sys::format_rfc3339(clock.wall_now() + s, sys::TimePrecision::seconds);
  }
  void write_config(const std::string& config, const std::string& credentials = "") {
    testing::write_text(home / ".aws/config", config);
    testing::write_text(home / ".aws/credentials", credentials);
  }
  // Asserts the chain fails with `code` and returns its message, which must hold no secret.
  std::string chain_error(Errc code) {
    auto r = resolve_credentials(options);
    EXPECT_FALSE(r.ok());
    if (r.ok()) {
      return "";
    }
    EXPECT_EQ(r.error().code, code) << r.error().message;
    for (const char* secret : {k_secret, k_session, k_web_token}) {
      EXPECT_EQ(r.error().message.find(secret), std::string::npos) << r.error().message;
    }
    return r.error().message;
  }

  testing::TempDir home;
  testing::FakeClock clock;
  CredentialOptions options;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ChainTest, TakesKeysFromTheEnvironmentFirst) {
  write_config("", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n");
  options.env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  options.env["AWS_SECRET_ACCESS_KEY"] = k_secret;
  options.env["AWS_SESSION_TOKEN"] = k_session;
  options.env["AWS_CREDENTIAL_EXPIRATION"] = "2027-01-15T10:00:00+01:00";
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, k_secret);
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(c->expiration, clock.wall_now() + std::chrono::hours(1));

  options.env.erase("AWS_ACCESS_KEY_ID");
  EXPECT_EQ(chain_error(Errc::invalid),
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither");
}

TEST_F(ChainTest, ReadsStaticKeysOfTheSelectedProfile) {
  write_config("[profile prod]\nregion = eu-west-1\n",
               "[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = " +
                   std::string(k_secret) + "\naws_session_token = " + k_session + "\n");
  options.env["AWS_PROFILE"] = "prod";
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIDPROD");
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->source, "profile prod");
  EXPECT_FALSE(c->expiration);

  write_config("", "[prod]\naws_secret_access_key = " + std::string(k_secret) + "\n");
  EXPECT_TRUE(contains(chain_error(Errc::invalid),
                       "has aws_secret_access_key but no "
                       "aws_access_key_id"));
  options.env["AWS_PROFILE"] = "missing";
  EXPECT_TRUE(contains(chain_error(Errc::not_found), "profile \"missing\" (from AWS_PROFILE)"));
}

TEST_F(ChainTest, SaysWhichProfileKindsAreNotSupportedYet) {
  write_config(
      "[profile assume]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\n"
      "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n");
  options.profile = "assume";
  std::string assume = chain_error(Errc::invalid);
  EXPECT_TRUE(contains(assume, "profile assume (" + (home / ".aws/config").string() + ":1)"));
  EXPECT_TRUE(contains(assume, "with source_profile, which ztp does not support yet"));
  EXPECT_TRUE(contains(assume, "aws configure export-credentials --profile assume"));
  options.profile = "sso";
  EXPECT_TRUE(contains(chain_error(Errc::invalid), "IAM Identity Center"));
}

TEST_F(ChainTest, RunsTheCredentialProcessWithTheInjectedEnvironment) {
  options.env["FAKE_KEY_ID"] = "AKIDPROCESS";
  write_config(
      "[default]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": "
      "\"%s\", \"SecretAccessKey\": \"" +
      std::string(k_secret) + "\", \"SessionToken\": \"" + k_session + "\", \"Expiration\": \"" +
      expires_in(std::chrono::hours(1)) + "\"}' \"$FAKE_KEY_ID\"\n");
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIDPROCESS");
  EXPECT_EQ(c->secret_access_key, k_secret);
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->expiration, clock.wall_now() + std::chrono::hours(1));
  EXPECT_TRUE(contains(c->source, "credential_process of profile default"));
}

TEST_F(ChainTest, ReportsAFailingCredentialProcessWithItsStderr) {
  auto process_error = [&](const std::string& command, Errc code) {
    write_config("[default]\ncredential_process = " + command + "\n");
    return chain_error(code);
  };
  EXPECT_TRUE(contains(
      process_error("sh -c 'echo token expired, run sso login >&2; exit 3'", Errc::invalid),
      "exited with status 3: token expired, run sso login"));
  std::string not_json = process_error(std::string("echo ") + k_secret, Errc::invalid);
  EXPECT_TRUE(contains(not_json, "did not print a JSON object"));
  EXPECT_TRUE(contains(process_error("echo '{\"Version\": 2}'", Errc::invalid),
                       "printed no \"Version\": 1"));
  EXPECT_TRUE(
      contains(process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", Errc::invalid),
               "has no \"SecretAccessKey\" string"));
  EXPECT_TRUE(contains(process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                                     "\"SecretAccessKey\": \"S\", \"Expiration\": \"" +
                                         expires_in(std::chrono::seconds(-1)) + "\"}'",
                                     Errc::invalid),
                       "printed credentials that expired at"));
  options.process_timeout = std::chrono::milliseconds(200);
  EXPECT_TRUE(contains(process_error("exec sleep 30", Errc::timeout), "did not finish within"));
}

// A fake STS answering AssumeRoleWithWebIdentity as the query protocol does.
struct FakeSts {
  std::atomic<int> failures_left{0};  // answer 503 this many times first
  std::string error_xml;              // when set, answer 400 with it
  std::string expiration;
  FakeHttpServer server{[this](const FakeRequest& r) { return answer(r); }};

  FakeResponse answer(const FakeRequest& r) {
    if (failures_left.fetch_sub(1) > 0) {
      return {503,
              {},
              "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error>"
              "</ErrorResponse>"};
    }
    if (!error_xml.empty()) {
      return {400, {{"Content-Type", "text/xml"}}, error_xml};
    }
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/");
    EXPECT_EQ(r.header("authorization"), "");  // the call is unsigned
    EXPECT_EQ(r.header("content-type"), "application/x-www-form-urlencoded");
    return {
        200,
        {{"Content-Type", "text/xml"}},
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult><Audience>sts.amazonaws.com</Audience>"
        "<Credentials><SessionToken>" +
            std::string(k_session) +
            "</SessionToken>"
            "<SecretAccessKey>" +
            std::string(k_secret) +
            "</SecretAccessKey>"
            "<Expiration>" +
            expiration +
            "</Expiration>"
            "<AccessKeyId>ASIAWEBIDENTITY</AccessKeyId></Credentials>"
            "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>"
            "c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>"
            "</AssumeRoleWithWebIdentityResponse>"};
  }
  // The form fields of the last request.
  std::map<std::string, std::string> form() const {
    std::map<std::string, std::string> fields;
    std::string all = server.requests().back().body;
    std::string_view body = all;
    while (!body.empty()) {
      std::string_view pair = body.substr(0, body.find('&'));
      size_t eq = pair.find('=');
      fields[testing::percent_decode(pair.substr(0, eq))] =
          testing::percent_decode(pair.substr(eq + 1));
      body.remove_prefix(std::min(body.size(), pair.size() + 1));
    }
    return fields;
  }
};

TEST_F(ChainTest, ExchangesTheProfilesWebIdentityTokenAtSts) {
  FakeSts sts;
  sts.expiration = expires_in(std::chrono::hours(1));
  testing::write_text(home / "token", std::string(k_web_token) + "\n");
  write_config(
      "[default]\nregion = eu-west-1\nweb_identity_token_file = " + (home / "token").string() +
      "\nrole_arn = arn:aws:iam::123456789012:role/deploy\nrole_session_name = ci 42\n");
  options.env["AWS_ENDPOINT_URL_STS"] = "http://" + sts.server.host();
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAWEBIDENTITY");
  EXPECT_EQ(c->secret_access_key, k_secret);
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->expiration, clock.wall_now() + std::chrono::hours(1));
  EXPECT_EQ(c->source, "web identity (arn:aws:iam::123456789012:role/deploy)");
  auto form = sts.form();
  EXPECT_EQ(form["Action"], "AssumeRoleWithWebIdentity");
  EXPECT_EQ(form["Version"], "2011-06-15");
  EXPECT_EQ(form["RoleArn"], "arn:aws:iam::123456789012:role/deploy");
  EXPECT_EQ(form["RoleSessionName"], "ci 42");
  EXPECT_EQ(form["WebIdentityToken"], k_web_token);
  EXPECT_EQ(form.size(), 5u);
}

TEST_F(ChainTest, ExchangesTheEnvironmentsWebIdentityAndRetriesSts) {
  FakeSts sts;
  sts.expiration = expires_in(std::chrono::minutes(30));
  sts.failures_left = 2;
  testing::write_text(home / "token", k_web_token);
  options.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = (home / "token").string();
  options.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/ci";
  options.env["AWS_ENDPOINT_URL_STS"] = "http://" + sts.server.host();
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAWEBIDENTITY");
  EXPECT_EQ(sts.server.requests().size(), 3u);
  EXPECT_EQ(sts.form()["RoleSessionName"], "ztp-session-1800000000000");

  options.env.erase("AWS_ROLE_ARN");
  EXPECT_EQ(chain_error(Errc::invalid),
            "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: web identity needs both");
}

TEST_F(ChainTest, QuotesStsErrorsWithoutTheToken) {
  FakeSts sts;
  sts.error_xml =
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender"
      "</Type><Code>InvalidIdentityToken</Code><Message>Incorrect token audience</Message>"
      "</Error><RequestId>0f9b0e0a-1111-2222-3333-444455556666</RequestId></ErrorResponse>";
  testing::write_text(home / "token", k_web_token);
  options.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = (home / "token").string();
  options.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/ci";
  options.env["AWS_ENDPOINT_URL_STS"] = "http://" + sts.server.host();
  std::string message = chain_error(Errc::invalid);
  EXPECT_TRUE(contains(message,
                       "STS AssumeRoleWithWebIdentity for role "
                       "arn:aws:iam::123456789012:role/ci failed: HTTP 400 "
                       "InvalidIdentityToken: Incorrect token audience (request id "
                       "0f9b0e0a-1111-2222-3333-444455556666)"))
      << message;
  options.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = (home / "missing").string();
  EXPECT_TRUE(contains(chain_error(Errc::invalid), "cannot read the web identity token file"));
}

TEST(StsWebIdentityTest, ParsesAnswersAndErrors) {
  EXPECT_FALSE(parse_web_identity_answer("not xml").ok());
  EXPECT_FALSE(parse_web_identity_answer("<AssumeRoleWithWebIdentityResponse/>").ok());
  Error e = web_identity_error(503, "", "arn:r");
  EXPECT_EQ(e.code, Errc::unavailable);
  EXPECT_EQ(e.message, "STS AssumeRoleWithWebIdentity for role arn:r failed: HTTP 503");
  EXPECT_EQ(web_identity_form({"", "arn:aws:iam::1:role/a", "s n", "t+/="}),
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1"
            "%3Arole%2Fa&RoleSessionName=s%20n&WebIdentityToken=t%2B%2F%3D");
}

// A fake of the ECS container credentials endpoint.
struct FakeContainerEndpoint {
  int status = 200;
  std::string body;
  FakeHttpServer server{[this](const FakeRequest&) {
    return FakeResponse{status, {{"Content-Type", "application/json"}}, body};
  }};
};

TEST_F(ChainTest, AsksTheContainerEndpointWithItsToken) {
  FakeContainerEndpoint ecs;
  ecs.body = "{\"AccessKeyId\": \"ASIACONTAINER\", \"SecretAccessKey\": \"" +
             std::string(k_secret) + "\", \"Token\": \"" + k_session + "\", \"Expiration\": \"" +
             expires_in(std::chrono::hours(6)) + "\", \"RoleArn\": \"arn:aws:iam::1:role/task\"}";
  options.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] =
      "http://" + ecs.server.host() + "/v2/credentials/abc?x=1";
  options.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "env-token";
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->expiration, clock.wall_now() + std::chrono::hours(6));
  EXPECT_EQ(c->source, "ECS container endpoint");
  ASSERT_EQ(ecs.server.requests().size(), 1u);
  EXPECT_EQ(ecs.server.requests()[0].target, "/v2/credentials/abc?x=1");
  EXPECT_EQ(ecs.server.requests()[0].header("authorization"), "env-token");

  // The token file wins over the token, and is read on every call (EKS rotates it).
  testing::write_text(home / "eks-token", "file-token\n");
  options.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = (home / "eks-token").string();
  ASSERT_TRUE(resolve_credentials(options).ok());
  EXPECT_EQ(ecs.server.requests().back().header("authorization"), "file-token");
}

TEST_F(ChainTest, ReportsContainerEndpointFailures) {
  FakeContainerEndpoint ecs;
  std::string url = "http://" + ecs.server.host() + "/creds";
  options.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url;
  ecs.status = 403;
  ecs.body = R"({"Code": "AccessDenied", "Message": "Unable to validate token"})";
  EXPECT_EQ(chain_error(Errc::invalid), "the container credentials endpoint " + url +
                                            " answered 403: AccessDenied: Unable to validate "
                                            "token");
  ecs.status = 500;
  ecs.body = "";
  EXPECT_TRUE(contains(chain_error(Errc::unavailable), "answered 500"));
  EXPECT_EQ(ecs.server.requests().size(), 1u + options.retry.attempts);
  ecs.status = 200;
  ecs.body = R"({"AccessKeyId": "A"})";
  EXPECT_TRUE(contains(chain_error(Errc::invalid), "has no \"SecretAccessKey\" string"));

  options.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "a\r\nInjected: header";
  EXPECT_EQ(chain_error(Errc::invalid), "the container authorization token holds a line break");
  options.env.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  ecs.server.stop();
  EXPECT_TRUE(contains(chain_error(Errc::unavailable),
                       "cannot reach the container credentials "
                       "endpoint"));
}

TEST_F(ChainTest, AllowsPlainHttpOnlyToTheContainerHosts) {
  options.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://10.0.0.1/creds";
  EXPECT_EQ(chain_error(Errc::invalid),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI http://10.0.0.1/creds is plain http to 10.0.0.1: "
            "only https, loopback, 169.254.170.2, 169.254.170.23 and [fd00:ec2::23] are allowed");
  for (const char* bad : {"http://127.0.0.256/", "http://127.0.0.1.evil.example/",
                          "http://128.0.0.1/", "http://[fd00:ec2::24]/", "http://localhost.x/"}) {
    options.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = bad;
    EXPECT_TRUE(contains(chain_error(Errc::invalid), "are allowed")) << bad;
  }
}

// A fake IMDSv2: a session token first, then the role and its credentials with that token.
struct FakeImds {
  std::string role = "ec2-deploy";
  std::string credentials_body;
  FakeHttpServer server{[this](const FakeRequest& r) { return answer(r); }};

  FakeResponse answer(const FakeRequest& r) {
    if (r.method == "PUT" && r.path == "/latest/api/token") {
      EXPECT_EQ(r.header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
      return {200, {}, "session-token"};
    }
    if (r.header("x-aws-ec2-metadata-token") != "session-token") {
      return {401, {}, ""};
    }
    if (r.path == "/latest/meta-data/iam/security-credentials/") {
      return role.empty() ? FakeResponse{404, {}, ""} : FakeResponse{200, {}, role + "\n"};
    }
    if (r.path == "/latest/meta-data/iam/security-credentials/" + role) {
      return {200, {}, credentials_body};
    }
    return {404, {}, ""};
  }
};

TEST_F(ChainTest, AsksInstanceMetadataWithASessionToken) {
  FakeImds imds;
  imds.credentials_body =
      "{\"Code\": \"Success\", \"Type\": \"AWS-HMAC\", \"AccessKeyId\": "
      "\"ASIAIMDS\", \"SecretAccessKey\": \"" +
      std::string(k_secret) + "\", \"Token\": \"" + k_session + "\", \"Expiration\": \"" +
      expires_in(std::chrono::hours(6)) + "\"}";
  options.env.erase("AWS_EC2_METADATA_DISABLED");
  options.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://" + imds.server.host() + "/";
  auto c = resolve_credentials(options);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token, k_session);
  EXPECT_EQ(c->source, "EC2 instance metadata (role ec2-deploy)");
  EXPECT_EQ(imds.server.count("PUT", "/latest/api/token"), 1);

  imds.role.clear();
  std::string message = chain_error(Errc::invalid);
  EXPECT_TRUE(contains(message, "  - EC2 instance metadata: this EC2 instance has no IAM role"));
  imds.server.stop();
  EXPECT_TRUE(contains(chain_error(Errc::unavailable),
                       "  - EC2 instance metadata: no answer "
                       "from http://127.0.0.1:"));
}

TEST_F(ChainTest, ListsEverySourceAndHowToFixWhenNothingHasCredentials) {
  EXPECT_EQ(chain_error(Errc::invalid),
            "no AWS credentials found; looked in:\n"
            "  - environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set\n"
            "  - shared files: no profile \"default\" (in " +
                (home / ".aws/config").string() + " or " + (home / ".aws/credentials").string() +
                ")\n"
                "  - web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set\n"
                "  - container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set (they are inside an ECS task with "
                "a task role, or an EKS pod with Pod Identity)\n"
                "  - EC2 instance metadata: AWS_EC2_METADATA_DISABLED is true\n"
                "To fix: set AWS_PROFILE to a profile with credentials (or name one in the spec), "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run ztp inside ECS, EKS or "
                "EC2 with a role");
  write_config("[default]\nregion = us-east-1\n");
  EXPECT_TRUE(contains(chain_error(Errc::invalid),
                       "  - shared files: profile default (" + (home / ".aws/config").string() +
                           ":1) has no aws_access_key_id, web_identity_token_file or "
                           "credential_process\n"));
}

TEST_F(ChainTest, ThePreferredSourceWins) {
  FakeContainerEndpoint ecs;
  ecs.body = R"({"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "s", "Token": "t",
                 "Expiration": ")" +
             expires_in(std::chrono::hours(1)) + "\"}";
  options.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://" + ecs.server.host() + "/";
  write_config("", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s\n");
  EXPECT_EQ(resolve_credentials(options)->source, "profile default");
  EXPECT_EQ(ecs.server.requests().size(), 0u);
  write_config("");
  EXPECT_EQ(resolve_credentials(options)->source, "ECS container endpoint");
}

TEST(CachingCredentialsProviderTest, RefreshesFiveMinutesBeforeExpiry) {
  testing::FakeClock clock;
  int fetches = 0;
  bool fail = false;
  CachingCredentialsProvider provider(
      [&]() -> Result<Credentials> {
        ++fetches;
        if (fail) {
          return make_error(Errc::unavailable, "endpoint down");
        }
        Credentials c{"AKID" + std::to_string(fetches), "secret"};
        c.expiration = clock.wall_now() + std::chrono::minutes(15);
        return c;
      },
      clock);
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID1");
  clock.advance(std::chrono::minutes(9));
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID1");
  clock.advance(std::chrono::minutes(1));  // 5 minutes left: refreshed
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID2");
  EXPECT_EQ(fetches, 2);

  fail = true;
  clock.advance(std::chrono::minutes(11));  // 4 minutes left: refresh fails, cached still valid
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID2");
  clock.advance(std::chrono::minutes(4));  // expired
  auto gone = provider.credentials();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().message, "endpoint down");
  fail = false;
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID5");
}

TEST(CachingCredentialsProviderTest, KeepsCredentialsWithoutExpiry) {
  testing::FakeClock clock;
  int fetches = 0;
  CachingCredentialsProvider provider(
      [&]() -> Result<Credentials> {
        return Credentials{"AKID" + std::to_string(++fetches), "s"};
      },
      clock);
  clock.advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID1");
  EXPECT_EQ(provider.credentials()->access_key_id, "AKID1");
  EXPECT_EQ(fetches, 1);
}

TEST(DefaultCredentialsProviderTest, ResolvesThroughTheChainOnce) {
  testing::TempDir home;
  testing::FakeClock clock;
  CredentialOptions options;
  options.env = {{"HOME", home.path().string()},
                 {"AWS_ACCESS_KEY_ID", "AKID"},
                 {"AWS_SECRET_ACCESS_KEY", "s"}};
  options.clock = &clock;
  auto provider = default_credentials_provider(options);
  auto c = provider->credentials();
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->source, "environment");
}

}  // namespace
}  // namespace ztp::aws
