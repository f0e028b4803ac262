#include "spec/mask.hpp"

#include <gtest/gtest.h>

#include "spec/json.hpp"
#include "spec_test_util.hpp"

namespace ztp::spec {
namespace {

// A spec with every kind of credential written in it, and those credentials.
const char* k_spec = R"(app: demo
source:
  repo: "https://x-access-token:ghp_gitTOKEN123@github.com/octo/site.git"
  webhook_secret: "hook-SECRET-1"
environments:
  - {name: dev, listen: "127.0.0.1:8081"}
checks:
  smoke:
    - path: /
      headers: {Authorization: "Bearer check-TOKEN-9"}
    - path: "https://probe:probePASSWORD@status.example.com/health"
notify:
  - {type: slack, url: "https://hooks.slack.com/services/T000/B000/slackSECRETpath"}
  - {type: pagerduty, routing_key: "pdROUTINGkey0123456789abcdef0123"}
  - type: webhook
    url: "https://ops:webhookPASSWORD@hooks.example.com/ztp?token=queryTOKEN"
    secret: "generic-SECRET-2"
)";

const std::vector<std::string> k_secrets{
    "ghp_gitTOKEN123", "hook-SECRET-1",    "check-TOKEN-9",   "probePASSWORD", "slackSECRETpath",
    "T000/B000",       "pdROUTINGkey0123", "webhookPASSWORD", "queryTOKEN",    "generic-SECRET-2"};

Spec parsed() {
  auto out = testing::parse_text(k_spec);
  EXPECT_TRUE(out.spec) << (out.diagnostics.empty() ? "" : to_string(out.diagnostics[0]));
  return out.spec ? *out.spec : Spec{};
}

TEST(MaskCredentialsTest, TheSpecTextKeepsNoneOfItsCredentials) {
  Spec spec = parsed();
  std::string masked = mask_credentials(spec, k_spec);
  for (const auto& secret : k_secrets) {
    EXPECT_EQ(masked.find(secret), std::string::npos) << secret << " in:\n" << masked;
  }
  // What is not a credential stays readable.
  EXPECT_NE(masked.find("https://hooks.slack.com/(masked)"), std::string::npos) << masked;
  EXPECT_NE(masked.find("https://x-access-token:(masked)@github.com/octo/site.git"),
            std::string::npos)
      << masked;
  EXPECT_NE(masked.find("https://ops:(masked)@hooks.example.com/ztp?(masked)"), std::string::npos)
      << masked;
  EXPECT_NE(masked.find("listen: \"127.0.0.1:8081\""), std::string::npos);
}

TEST(MaskCredentialsTest, TheResolvedModelShowsNone) {
  Spec spec = parsed();
  auto j = to_json(spec);
  std::string dumped = j.dump();
  for (const auto& secret : k_secrets) {
    EXPECT_EQ(dumped.find(secret), std::string::npos) << secret << " in:\n" << j.dump(2);
  }
  EXPECT_EQ(j["source"]["webhook_secret"], "(set)");
  EXPECT_EQ(j["notify"][1]["routing_key"], "(set)");
  EXPECT_EQ(j["notify"][0]["url"], "https://hooks.slack.com/(masked)");
  EXPECT_EQ(j["checks"]["smoke"][0]["headers"]["Authorization"], "(masked)");
}

TEST(MaskCredentialsTest, AnSshUserIsNotACredentialButAnHttpsTokenIs) {
  Spec spec;
  spec.source.repo = "ssh://git@github.com/octo/site.git";
  EXPECT_TRUE(credentials(spec).empty());
  spec.source.repo = "https://ghp_onlyTOKEN@github.com/octo/site.git";
  EXPECT_EQ(credentials(spec), std::vector<std::string>{"ghp_onlyTOKEN"});
}

}  // namespace
}  // namespace ztp::spec
