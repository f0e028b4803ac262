#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_service.hpp"

namespace ztp::testing {

// Where the ECR fake's repositories live.
struct EcrFakeOptions {
  // The registry's URL, the proxyEndpoint of GetAuthorizationToken ("http://127.0.0.1:5000"
  // for a local registry); its host:port prefixes each repositoryUri. Empty: AWS's
  // https://ACCOUNT.dkr.ecr.REGION.amazonaws.com.
  std::string registry_url{};
  // The password inside the authorization token ("AWS:<password>", base64).
  std::string password = "ecr-fake-password";
};

// Amazon ECR (awsJson1_1): CreateRepository, DescribeRepositories and GetAuthorizationToken
// (a token valid for 12 hours).
class EcrFake final : public AwsFakeService {
 public:
  EcrFake(AwsFakeEnv& env, EcrFakeOptions options);

  const std::map<std::string, std::vector<std::string>>& operations() const override;
  AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                   const AwsCaller& caller) override;

 private:
  AwsAnswer create_repository(const nlohmann::json& in);
  AwsAnswer describe_repositories(const nlohmann::json& in);
  AwsAnswer get_authorization_token(const nlohmann::json& in);
  std::string registry_url() const;

  AwsFakeEnv& m_env;
  EcrFakeOptions m_options;
  std::map<std::string, nlohmann::json> m_repositories;  // by name
};

}  // namespace ztp::testing
