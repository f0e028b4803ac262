#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "aws/query_protocol.hpp"
#include "util/result.hpp"

// Pagination: an operation that answers part of a list with a token for the rest is called
// again with that token until an answer has none. JSON services name the token nextToken (ECS,
// ECR, CloudWatch Logs) or NextToken (Application Auto Scaling, CloudWatch), the same in the
// input and the output; awsQuery services (ELBv2) send Marker and answer NextMarker.
// A service that answers a token it gave before would make this loop forever: it stops with an
// error instead. So does a listing longer than the page cap, rather than returning part of it.
namespace ztp::aws {

// One call of a JSON operation with a given input (e.g. AwsClient::call_json bound to it).
using JsonPageCall = std::function<Result<nlohmann::json>(const nlohmann::json& input)>;
// One call of an awsQuery action with given params; the answer's <ActionResult>.
using QueryPageCall = std::function<Result<XmlNode>(const nlohmann::json& params)>;

inline constexpr int k_default_max_pages = 100;

// The pages of a JSON operation, in order: `call` with `input`, then with the last answer's
// nextToken (or NextToken) set in the input under the same name, while the answer has a
// non-empty one. `what` names the operation in messages ("ECS ListTasks"). The first failed
// call's error ends it; internal when a token comes back a second time; invalid when
// `max_pages` pages still leave a token.
Result<std::vector<nlohmann::json>> paginate_json(const JsonPageCall& call, nlohmann::json input,
                                                  std::string_view what,
                                                  int max_pages = k_default_max_pages);

// The same for an awsQuery action: the token is the result's NextMarker, sent back as Marker.
Result<std::vector<XmlNode>> paginate_query(const QueryPageCall& call, nlohmann::json params,
                                            std::string_view what,
                                            int max_pages = k_default_max_pages);

}  // namespace ztp::aws
