#include "support/aws_fake_sts.hpp"

#include <fmt/format.h>

#include <regex>

#include "util/text.hpp"

namespace ztp::testing {

namespace {

AwsError validation(std::string message) { return AwsError{"ValidationError", std::move(message)}; }

}  // namespace

StsFake::StsFake(AwsFakeEnv& env, StsFakeOptions options)
    : m_env(env), m_options(std::move(options)) {}

const std::map<std::string, std::vector<std::string>>& StsFake::operations() const {
  static const std::map<std::string, std::vector<std::string>> k_operations = {
      {"AssumeRoleWithWebIdentity", {"RoleArn", "RoleSessionName", "WebIdentityToken"}},
      {"GetCallerIdentity", {}},
  };
  return k_operations;
}

AwsAnswer StsFake::handle(const std::string& operation, const nlohmann::json& in,
                          const AwsCaller& caller) {
  return operation == "GetCallerIdentity" ? get_caller_identity(caller)
                                          : assume_role_with_web_identity(in);
}

const IssuedCredentials* StsFake::issued(const std::string& access_key_id) const {
  auto it = m_issued.find(access_key_id);
  return it == m_issued.end() ? nullptr : &it->second;
}

AwsAnswer StsFake::get_caller_identity(const AwsCaller& caller) const {
  if (const auto* creds = issued(caller.access_key_id)) {
    std::string role = creds->role_arn.substr(creds->role_arn.rfind('/') + 1);
    return nlohmann::json{{"UserId", "AROAFAKEROLE0000000:" + creds->session_name},
                          {"Account", m_env.account},
                          {"Arn", fmt::format("arn:aws:sts::{}:assumed-role/{}/{}", m_env.account,
                                              role, creds->session_name)}};
  }
  std::string arn = m_options.caller_arn.empty()
                        ? fmt::format("arn:aws:iam::{}:user/ztp", m_env.account)
                        : m_options.caller_arn;
  return nlohmann::json{
      {"UserId", "AIDAFAKEUSER00000000"}, {"Account", m_env.account}, {"Arn", arn}};
}

AwsAnswer StsFake::assume_role_with_web_identity(const nlohmann::json& in) {
  std::string role_arn = str(in, "RoleArn");
  std::string session = str(in, "RoleSessionName");
  std::string token = str(in, "WebIdentityToken");
  if (!std::regex_match(role_arn, std::regex("arn:aws:iam::[0-9]{12}:role/[\\w+=,.@/-]+"))) {
    return validation(fmt::format(
        "1 validation error detected: Value '{}' at 'roleArn' failed to satisfy constraint: "
        "Member must be a role ARN",
        role_arn));
  }
  if (!std::regex_match(session, std::regex("[\\w+=,.@-]{2,64}"))) {
    return validation(fmt::format(
        "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        session));
  }
  auto duration = integer(in, "DurationSeconds", 3600);
  if (duration < 900 || duration > 43200) {
    return validation(fmt::format(
        "1 validation error detected: Value '{}' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value between 900 and 43200",
        duration));
  }
  if (!m_options.web_identity_token.empty() && token != m_options.web_identity_token) {
    return AwsError{"InvalidIdentityToken", "The web identity token that was passed is not valid."};
  }
  IssuedCredentials creds;
  creds.access_key_id = "ASIA" + text::to_upper(m_env.hex_id(16));
  creds.secret_access_key = m_env.hex_id(40);
  creds.session_token = "FwoGZXIvYXdzE" + m_env.hex_id(64);
  creds.expiration = m_env.now + std::chrono::seconds(duration);
  creds.role_arn = role_arn;
  creds.session_name = session;
  m_issued[creds.access_key_id] = creds;
  std::string role = role_arn.substr(role_arn.rfind('/') + 1);
  return nlohmann::json{
      {"Credentials",
       {{"AccessKeyId", creds.access_key_id},
        {"SecretAccessKey", creds.secret_access_key},
        {"SessionToken", creds.session_token},
        {"Expiration", iso8601(creds.expiration)}}},
      {"SubjectFromWebIdentityToken", "system:serviceaccount:ztp:deployer"},
      {"AssumedRoleUser",
       {{"AssumedRoleId", "AROAFAKEROLE0000000:" + session},
        {"Arn", fmt::format("arn:aws:sts::{}:assumed-role/{}/{}", m_env.account, role, session)}}},
      {"Provider", "oidc.ztp.test"},
      {"Audience", "sts.amazonaws.com"}};
}

}  // namespace ztp::testing
