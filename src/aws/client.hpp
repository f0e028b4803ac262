#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "aws/aws_error.hpp"
#include "aws/query_protocol.hpp"
#include "aws/retry.hpp"
#include "aws/services.hpp"
#include "sys/http.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// AwsClient: calls of one AWS API, in its protocol, under the standard retry mode. Each call is
// one POST to the endpoint's path + "/" carrying, besides the protocol's headers, what the SDKs
// send: a User-Agent naming zerotouch and the API, amz-sdk-invocation-id (a UUID for the call,
// the same on every attempt) and amz-sdk-request "attempt=N; max=M"; each attempt is signed
// afresh by the caller's signer (SigV4 and the credential chain live elsewhere; the signer gets
// the finished request and adds its headers). A failure comes back as an Error whose message
// names the service, operation, AWS error code, message and request id (aws_error.hpp).
//
// Not thread-safe (it keeps one HTTP connection alive): one client per thread. Clients may
// share a RetryQuota.
namespace ztp::aws {

// How to reach one AWS API.
struct ServiceDescription {
  std::string display_name{};  // "ECS": how messages name it
  std::string signing_name{};  // "ecs"; for messages (the signer signs)
  std::string endpoint{};      // "https://ecs.us-east-1.amazonaws.com"; a path is kept
  Protocol protocol = Protocol::json_1_1;
  std::string target_prefix{};    // the JSON protocols' X-Amz-Target prefix
  std::string api_version{};      // awsQuery's Version; also named in the User-Agent
  std::string iam_prefix{};       // IAM actions are "<iam_prefix>:<Operation>"; empty: signing name
  bool query_compatible = false;  // ServiceApi::query_compatible
  std::vector<std::string> query_maps{};  // ServiceApi::query_maps
};

// The description of a row of services.hpp's table, at `endpoint`.
ServiceDescription service_description(const ServiceApi& api, std::string endpoint);

// What a client may be given besides its service; tests inject the exchange, randomness and
// waiting.
struct AwsClientOptions {
  RetryOptions retry{};
  // Timeouts and proxies of each attempt (user_agent is not used: the header below is).
  sys::HttpOptions http = [] {
    sys::HttpOptions o;
    o.timeout = std::chrono::seconds(60);
    return o;
  }();
  sys::HttpClient::Send send{};          // one exchange; empty: a libcurl session
  sys::Random random{};                  // the backoff's; empty: seeded from the system
  sys::HttpClient::Wait wait{};          // between attempts; empty: the clock's sleep_for
  Clock* clock = nullptr;                // nullptr: the system clock
  std::shared_ptr<RetryQuota> quota{};   // nullptr: the client's own
  std::string user_agent = "zerotouch";  // the product token ("zerotouch/1.4.0")
};

class AwsClient {
 public:
  // Adds the signature (and anything else it needs) to a finished request; called before
  // every attempt. An error ends the call with it.
  using Signer = std::function<Result<void>(sys::HttpRequest&)>;

  AwsClient(ServiceDescription service, Signer signer, AwsClientOptions options = {});

  const ServiceDescription& service() const { return m_service; }
  const RetryStrategy& retry() const { return m_retry; }
  // The User-Agent every request carries.
  const std::string& user_agent() const { return m_user_agent; }

  // Calls `operation` of a JSON-protocol service with `input` (an object in wire form, see
  // json_protocol.hpp): its output. The error of the last attempt otherwise (aws_error.hpp's
  // classes; invalid for an input that cannot be sent or an answer that is not JSON); `error`,
  // when given, receives the AWS error's details (code, status, request id).
  Result<nlohmann::json> call_json(std::string_view operation, const nlohmann::json& input,
                                   AwsError* error = nullptr);

  // Calls `action` of an awsQuery service with `params` (see query_protocol.hpp): the answer's
  // <ActionResult> element (an empty view when it has none). Errors as call_json's.
  Result<XmlNode> call_query(std::string_view action, const nlohmann::json& params,
                             AwsError* error = nullptr);

 private:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  using ReadError = std::function<AwsError(const sys::HttpResponse&)>;

  // Sends one call (every attempt); the 2xx answer, or the last attempt's error.
  Result<sys::HttpResponse> exchange(std::string_view operation, const Headers& headers,
                                     const std::string& body, const ReadError& read_error,
                                     AwsError* error);
  Error fail(std::string_view operation, AwsError detail, AwsError* error) const;

  ServiceDescription m_service;
  Signer m_signer;
  std::string m_url;
  std::string m_user_agent;
  RetryStrategy m_retry;
  sys::HttpClient::Wait m_wait;
  sys::HttpClient m_http;
};

}  // namespace ztp::aws
