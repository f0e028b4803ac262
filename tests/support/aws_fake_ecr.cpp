#include "support/aws_fake_ecr.hpp"

#include <fmt/format.h>

#include <regex>

namespace ztp::testing {

namespace {

AwsError invalid(std::string message) {
  return AwsError{"InvalidParameterException", std::move(message)};
}

}  // namespace

EcrFake::EcrFake(AwsFakeEnv& env, EcrFakeOptions options)
    : m_env(env), m_options(std::move(options)) {}

const std::map<std::string, std::vector<std::string>>& EcrFake::operations() const {
  static const std::map<std::string, std::vector<std::string>> k_operations = {
      {"CreateRepository", {"repositoryName"}},
      {"DescribeRepositories", {}},
      {"GetAuthorizationToken", {}},
  };
  return k_operations;
}

AwsAnswer EcrFake::handle(const std::string& operation, const nlohmann::json& in,
                          const AwsCaller&) {
  if (operation == "CreateRepository") {
    return create_repository(in);
  }
  if (operation == "DescribeRepositories") {
    return describe_repositories(in);
  }
  return get_authorization_token(in);
}

std::string EcrFake::registry_url() const {
  return m_options.registry_url.empty()
             ? fmt::format("https://{}.dkr.ecr.{}.amazonaws.com", m_env.account, m_env.region)
             : m_options.registry_url;
}

AwsAnswer EcrFake::create_repository(const nlohmann::json& in) {
  std::string name = str(in, "repositoryName");
  static const std::regex k_name(
      "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  if (name.size() < 2 || name.size() > 256 || !std::regex_match(name, k_name)) {
    return invalid(
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
        "regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''");
  }
  if (has(in, "registryId") && str(in, "registryId") != m_env.account) {
    return invalid(fmt::format("Invalid parameter at 'registryId': the registry {} is not yours.",
                               str(in, "registryId")));
  }
  std::string mutability = str(in, "imageTagMutability", "MUTABLE");
  if (mutability != "MUTABLE" && mutability != "IMMUTABLE" &&
      mutability != "IMMUTABLE_WITH_EXCLUSION" && mutability != "MUTABLE_WITH_EXCLUSION") {
    return invalid(fmt::format(
        "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must "
        "satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, "
        "MUTABLE_WITH_EXCLUSION]'",
        mutability));
  }
  if (m_repositories.count(name) != 0) {
    return AwsError{"RepositoryAlreadyExistsException",
                    fmt::format("The repository with name '{}' already exists in the registry "
                                "with id '{}'",
                                name, m_env.account)};
  }
  std::string host = registry_url();
  host = host.substr(host.find("://") == std::string::npos ? 0 : host.find("://") + 3);
  nlohmann::json encryption = {{"encryptionType", "AES256"}};
  if (has(in, "encryptionConfiguration")) {
    encryption = in.at("encryptionConfiguration");
  }
  nlohmann::json repo = {
      {"repositoryArn",
       fmt::format("arn:aws:ecr:{}:{}:repository/{}", m_env.region, m_env.account, name)},
      {"registryId", m_env.account},
      {"repositoryName", name},
      {"repositoryUri", host + "/" + name},
      {"createdAt", epoch_seconds(m_env.now)},
      {"imageTagMutability", mutability},
      {"imageScanningConfiguration",
       {{"scanOnPush", has(in, "imageScanningConfiguration") &&
                           boolean(in.at("imageScanningConfiguration"), "scanOnPush")}}},
      {"encryptionConfiguration", encryption}};
  m_repositories[name] = repo;
  return nlohmann::json{{"repository", repo}};
}

AwsAnswer EcrFake::describe_repositories(const nlohmann::json& in) {
  auto names = strings(in, "repositoryNames");
  nlohmann::json out = nlohmann::json::array();
  if (!names.empty()) {
    for (const auto& name : names) {
      auto it = m_repositories.find(name);
      if (it == m_repositories.end()) {
        return AwsError{"RepositoryNotFoundException",
                        fmt::format("The repository with name '{}' does not exist in the registry "
                                    "with id '{}'",
                                    name, m_env.account)};
      }
      out.push_back(it->second);
    }
    return nlohmann::json{{"repositories", out}};
  }
  std::size_t from = 0;
  if (has(in, "nextToken")) {
    auto offset = page_offset(str(in, "nextToken"));
    if (!offset) {
      return invalid("Invalid parameter at 'nextToken': the token is not valid.");
    }
    from = *offset;
  }
  auto max = static_cast<std::size_t>(integer(in, "maxResults", 100));
  if (max < 1 || max > 1000) {
    return invalid(
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must "
        "have value between 1 and 1000'");
  }
  std::size_t index = 0;
  for (const auto& [name, repo] : m_repositories) {
    if (index >= from && index < from + max) {
      out.push_back(repo);
    }
    ++index;
  }
  nlohmann::json answer = {{"repositories", out}};
  if (from + max < m_repositories.size()) {
    answer["nextToken"] = page_token(from + max);
  }
  return answer;
}

AwsAnswer EcrFake::get_authorization_token(const nlohmann::json&) {
  nlohmann::json data = {{"authorizationToken", base64_encode("AWS:" + m_options.password)},
                         {"expiresAt", epoch_seconds(m_env.now + std::chrono::hours(12))},
                         {"proxyEndpoint", registry_url()}};
  return nlohmann::json{{"authorizationData", {data}}};
}

}  // namespace ztp::testing
