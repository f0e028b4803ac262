#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

// One model of a failed AWS call, whatever the protocol: the error's code and message as the
// service gave them, where it happened, and how ztp classes it. The JSON and query protocols
// fill it from their envelopes (json_protocol.hpp, query_protocol.hpp); the client adds the
// service and operation and turns it into an Error for users.
namespace ztp::aws {

struct AwsError {
  std::string service{};     // how messages name the service: "ECS"
  std::string operation{};   // "DescribeServices"
  std::string iam_action{};  // "ecs:DescribeServices", for the hint of a refusal
  std::string code{};        // "ClusterNotFoundException"; empty when there was no answer
  std::string message{};     // the service's message, or why there was no answer
  long status = 0;           // the HTTP status; 0 when no answer came
  std::string request_id{};  // x-amzn-RequestId, x-amz-request-id or <RequestId>
  bool timed_out = false;    // no answer because a deadline passed (rather than refused)
  int attempts = 0;          // attempts made, when more than one
};

// A raw error code as the SDKs clean it: the part before the first ',' and before the first
// ':' (an X-Amzn-ErrorType URI suffix), after the last '#' (a Smithy namespace):
// "aws.protocoltests.restjson#FooError:http://internal.amazon.com/..." is "FooError".
std::string sanitize_error_code(std::string_view raw);

// The request id of an answer's headers: x-amzn-RequestId, x-amzn-request-id or
// x-amz-request-id (names compared without case); empty when none.
std::string request_id_header(const std::vector<std::pair<std::string, std::string>>& headers);

// True for the SDKs' throttling codes (Throttling, ThrottlingException, TooManyRequestsException,
// RequestLimitExceeded, LimitExceededException, ...; see retry.hpp) or HTTP 429.
bool is_throttling(const AwsError& error);

// The coarse class of an error: unavailable for throttling, 5xx and no answer; not_found for
// codes containing "NotFound" and ResourceNotFoundException; refused for AccessDenied*,
// UnauthorizedOperation, UnrecognizedClientException, InvalidClientTokenId, ExpiredToken*,
// SignatureDoesNotMatch and kin; invalid for ValidationException/ValidationError,
// InvalidParameter*, ClientException; conflict for codes that say something is in use,
// already exists, in progress or concurrently modified. Otherwise by status: 403 refused,
// 404 not_found, 409 conflict, other 4xx invalid.
Errc errc_for(const AwsError& error);

// The message for users: "ECS DescribeServices: ClusterNotFoundException: Cluster not found.
// (HTTP 400, request id 5c2a...)"; "no request id" when the answer had none; without an answer,
// "no answer: <why>". A refusal adds a hint about the credentials and the IAM policy.
std::string describe(const AwsError& error);

// errc_for() and describe() as an Error.
Error to_error(const AwsError& error);

}  // namespace ztp::aws
