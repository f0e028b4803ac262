#include "aws/client.hpp"

#include <fmt/format.h>

#include "aws/json_protocol.hpp"
#include "sys/crypto.hpp"
#include "util/log.hpp"

namespace ztp::aws {
namespace {

// A version 4 UUID from 16 random bytes.
std::string uuid_v4(std::string bytes) {
  bytes[6] = static_cast<char>((bytes[6] & 0x0F) | 0x40);
  bytes[8] = static_cast<char>((bytes[8] & 0x3F) | 0x80);
  std::string hex = sys::to_hex(bytes);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20));
}

std::string request_url(std::string endpoint) {
  if (endpoint.empty() || endpoint.back() != '/') {
    endpoint += '/';
  }
  return endpoint;
}

}  // namespace

ServiceDescription service_description(const ServiceApi& api, std::string endpoint) {
  ServiceDescription d;
  d.display_name = api.display_name;
  d.signing_name = api.signing_name;
  d.endpoint = std::move(endpoint);
  d.protocol = api.protocol;
  d.target_prefix = api.target_prefix;
  d.api_version = api.api_version;
  d.iam_prefix = api.iam_prefix;
  d.query_compatible = api.query_compatible;
  d.query_maps.assign(api.query_maps.begin(), api.query_maps.end());
  return d;
}

AwsClient::AwsClient(ServiceDescription service, Signer signer, AwsClientOptions options)
    : m_service(std::move(service)),
      m_signer(std::move(signer)),
      m_url(request_url(m_service.endpoint)),
      m_retry(options.retry, std::move(options.random), std::move(options.quota)),
      m_wait(std::move(options.wait)),
      m_http(options.http, std::move(options.send)) {
  // As the SDKs write theirs: the product, then "api/<service>#<version>".
  std::string api =
      m_service.signing_name.empty() ? m_service.display_name : m_service.signing_name;
  m_user_agent = fmt::format("{} ua/2.1 api/{}#{}", options.user_agent, api,
                             m_service.api_version.empty() ? "unknown" : m_service.api_version);
  if (!m_wait) {
    Clock* clock = options.clock != nullptr ? options.clock : &system_clock();
    m_wait = [clock](std::chrono::milliseconds pause) {
      clock->sleep_for(pause);
      return true;
    };
  }
}

Result<nlohmann::json> AwsClient::call_json(std::string_view operation, const nlohmann::json& input,
                                            AwsError* error) {
  if (m_service.protocol == Protocol::query) {
    return make_error(Errc::internal,
                      fmt::format("{} {}: {} speaks awsQuery, not JSON", m_service.display_name,
                                  operation, m_service.display_name));
  }
  auto body = json_body(input);
  if (!body.ok()) {
    return make_error(Errc::invalid, fmt::format("{} {}: {}", m_service.display_name, operation,
                                                 body.error().message));
  }
  Headers headers = json_headers(m_service.protocol == Protocol::json_1_0 ? "1.0" : "1.1",
                                 m_service.target_prefix, operation);
  if (m_service.query_compatible) {
    headers.emplace_back("x-amzn-query-mode", "true");
  }
  bool compatible = m_service.query_compatible;
  ZTP_ASSIGN_OR_RETURN(
      sys::HttpResponse response,
      exchange(
          operation, headers, *body,
          [compatible](const sys::HttpResponse& r) { return json_error(r, compatible); }, error));
  auto output = parse_json_answer(response);
  if (!output.ok()) {
    return make_error(Errc::invalid, fmt::format("{} {}: {}", m_service.display_name, operation,
                                                 output.error().message));
  }
  return output;
}

Result<XmlNode> AwsClient::call_query(std::string_view action, const nlohmann::json& params,
                                      AwsError* error) {
  if (m_service.protocol != Protocol::query) {
    return make_error(Errc::internal,
                      fmt::format("{} {}: {} speaks JSON, not awsQuery", m_service.display_name,
                                  action, m_service.display_name));
  }
  std::vector<std::string_view> maps(m_service.query_maps.begin(), m_service.query_maps.end());
  auto form = query_form(params, maps);
  if (!form.ok()) {
    return make_error(Errc::invalid, fmt::format("{} {}: {}", m_service.display_name, action,
                                                 form.error().message));
  }
  std::string body = query_body(action, m_service.api_version, *form);
  Headers headers{{"Content-Type", query_content_type()}};
  ZTP_ASSIGN_OR_RETURN(sys::HttpResponse response,
                       exchange(action, headers, body, query_error, error));
  auto result = parse_query_answer(action, response.body);
  if (!result.ok()) {
    return make_error(Errc::invalid, fmt::format("{} {}: {}", m_service.display_name, action,
                                                 result.error().message));
  }
  return result;
}

Result<sys::HttpResponse> AwsClient::exchange(std::string_view operation, const Headers& headers,
                                              const std::string& body, const ReadError& read_error,
                                              AwsError* error) {
  auto random = sys::random_bytes(16);
  if (!random.ok()) {
    return random.take_error();
  }
  std::string invocation = uuid_v4(*random);
  int call_cost = 0;
  for (int attempt = 1;; ++attempt) {
    sys::HttpRequest req;
    req.method = "POST";
    req.url = m_url;
    req.headers = headers;
    req.headers.emplace_back("User-Agent", m_user_agent);
    req.headers.emplace_back("amz-sdk-invocation-id", invocation);
    req.headers.emplace_back("amz-sdk-request",
                             fmt::format("attempt={}; max={}", attempt, m_retry.max_attempts()));
    req.body = body;
    if (m_signer) {
      auto signed_ok = m_signer(req);
      if (!signed_ok.ok()) {
        Error e = signed_ok.take_error();
        e.message = fmt::format("{} {}: {}", m_service.display_name, operation, e.message);
        return e;
      }
    }
    Result<sys::HttpResponse> outcome = m_http.send(req);
    AwsError detail;
    if (outcome.ok()) {
      if (outcome->status >= 200 && outcome->status < 300) {
        m_retry.after_success(call_cost);
        return outcome;
      }
      detail = read_error(*outcome);
    } else {
      detail.message = outcome.error().message;
      detail.timed_out = outcome.error().code == Errc::timeout;
    }
    detail.attempts = attempt;
    RetryDecision next = m_retry.after_failure(attempt, detail, call_cost);
    if (!next.retry) {
      return fail(operation, std::move(detail), error);
    }
    log::debug("retrying an AWS call",
               {{"service", m_service.display_name},
                {"operation", std::string(operation)},
                {"attempt", std::to_string(attempt)},
                {"code", detail.code.empty() ? detail.message : detail.code},
                {"delay_ms", std::to_string(next.delay.count())}});
    if (!m_wait(next.delay)) {
      return fail(operation, std::move(detail), error);
    }
  }
}

Error AwsClient::fail(std::string_view operation, AwsError detail, AwsError* error) const {
  detail.service = m_service.display_name;
  detail.operation = std::string(operation);
  detail.iam_action = fmt::format(
      "{}:{}", m_service.iam_prefix.empty() ? m_service.signing_name : m_service.iam_prefix,
      operation);
  Error e = to_error(detail);
  if (error != nullptr) {
    *error = std::move(detail);
  }
  return e;
}

}  // namespace ztp::aws
