#pragma once

#include <span>
#include <string_view>

// The AWS APIs ztp calls, described once: how each is addressed on the wire (its protocol, the
// X-Amz-Target prefix of the JSON protocols, the awsQuery API version), the name it signs with
// and how messages and IAM name it. tests/unit/aws/services_test.cpp checks every row against
// the service's botocore model (service-2.json: metadata and input shapes).
//
// CloudWatch: its model lists the protocols smithy-rpc-v2-cbor, json and query (in that order
// of preference) with jsonVersion 1.0 and targetPrefix GraniteServiceVersion20100801; the
// pinned JavaScript SDK (@aws-sdk/client-cloudwatch in tests/aws-sdk) sends awsJson1_0 with
// that target and, the service being awsQueryCompatible, `x-amzn-query-mode: true`. ztp uses
// awsJson1_0 as well: it is the one protocol both the model and the SDK name, it is JSON like
// every other JSON service here (no CBOR codec to carry for one service), and the SDK's
// requests are the reference the capture test compares with. Errors are named as the SDK names
// them: by the modelled error of __type, the x-amzn-query-error header's awsQuery code standing
// in only when __type is missing (see json_error() in json_protocol.hpp).
namespace ztp::aws {

// The wire protocols ztp speaks.
enum class Protocol {
  json_1_0,  // awsJson1_0: POST /, application/x-amz-json-1.0, X-Amz-Target
  json_1_1,  // awsJson1_1: the same with application/x-amz-json-1.1
  query,     // awsQuery: POST / with a form body, XML answers
};

// "awsJson1_0", "awsJson1_1" or "awsQuery".
std::string_view protocol_name(Protocol protocol);

// One AWS API ztp calls.
struct ServiceApi {
  std::string_view key{};           // ztp's short name, the key of endpoint.hpp's services()
  std::string_view display_name{};  // "ECS": how messages name the service
  std::string_view service_id{};    // the model's metadata.serviceId
  std::string_view signing_name{};  // SigV4's service: metadata.signingName or endpointPrefix
  std::string_view iam_prefix{};    // IAM actions are "<iam_prefix>:<Operation>"
  Protocol protocol = Protocol::json_1_1;
  std::string_view target_prefix{};  // JSON: X-Amz-Target is "<target_prefix>.<Operation>"
  std::string_view api_version{};    // metadata.apiVersion; awsQuery sends it as Version
  // metadata.awsQueryCompatible: requests carry x-amzn-query-mode: true, and an error without
  // __type is named by the awsQuery code of its x-amzn-query-error header.
  bool query_compatible = false;
  // awsQuery: names of input members whose values are maps (sent as Name.entry.N.key/value);
  // every other JSON object is a structure.
  std::span<const std::string_view> query_maps{};
};

// ECS 2014-11-13, ECR 2015-09-21, Elastic Load Balancing v2 2015-12-01, CloudWatch
// 2010-08-01, CloudWatch Logs 2014-03-28, Application Auto Scaling 2016-02-06, STS 2011-06-15.
std::span<const ServiceApi> service_apis();

// The API whose key is `key` ("ecs", "elbv2", ...); nullptr when ztp does not call it.
const ServiceApi* find_service_api(std::string_view key);

}  // namespace ztp::aws
