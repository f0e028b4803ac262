#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/aws_fake_protocol.hpp"

namespace ztp::testing {

// Who signed a request: what an operation may need of the caller (STS's GetCallerIdentity).
struct AwsCaller {
  std::string access_key_id{};  // empty for an unsigned request
};

// One AWS service of the fake. AwsFake decodes the request, checks the signature's scope, the
// faults and the members of operations() before calling handle(), all under its lock.
class AwsFakeService {
 public:
  virtual ~AwsFakeService() = default;
  // Every operation answered, each with the input members it requires (the model's `required`).
  virtual const std::map<std::string, std::vector<std::string>>& operations() const = 0;
  // Answers `operation` (one of operations()) for `input`: the JSON body for the JSON
  // protocols, the form decoded by decode_query_form for awsQuery.
  virtual AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                           const AwsCaller& caller) = 0;
};

}  // namespace ztp::testing
