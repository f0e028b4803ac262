#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_service.hpp"

namespace ztp::testing {

// What the STS fake accepts and says.
struct StsFakeOptions {
  // The only web identity token AssumeRoleWithWebIdentity accepts (what the token file of the
  // test holds); empty accepts any.
  std::string web_identity_token{};
  // The ARN GetCallerIdentity answers for long-term keys ("" : arn:aws:iam::ACCOUNT:user/ztp).
  std::string caller_arn{};
};

// Session credentials the fake issued.
struct IssuedCredentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};
  WallTime expiration{};
  std::string role_arn{};
  std::string session_name{};
};

// AWS STS (awsQuery, API 2011-06-15): GetCallerIdentity, and AssumeRoleWithWebIdentity
// (unsigned), which checks the token and issues session credentials ("ASIA..." keys) that
// AwsFake then requires, with their session token, until they expire.
class StsFake final : public AwsFakeService {
 public:
  StsFake(AwsFakeEnv& env, StsFakeOptions options);

  const std::map<std::string, std::vector<std::string>>& operations() const override;
  AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                   const AwsCaller& caller) override;

  // The session credentials issued with `access_key_id`, or nullptr.
  const IssuedCredentials* issued(const std::string& access_key_id) const;

 private:
  AwsAnswer assume_role_with_web_identity(const nlohmann::json& in);
  AwsAnswer get_caller_identity(const AwsCaller& caller) const;

  AwsFakeEnv& m_env;
  StsFakeOptions m_options;
  std::map<std::string, IssuedCredentials> m_issued;  // by access key id
};

}  // namespace ztp::testing
