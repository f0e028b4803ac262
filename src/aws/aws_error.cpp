#include "aws/aws_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "util/text.hpp"

namespace ztp::aws {
namespace {

// The throttling codes of the SDKs' standard retry mode.
constexpr std::array<std::string_view, 14> k_throttling_codes{
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

// Codes that mean the caller's identity or permissions were refused.
constexpr std::array<std::string_view, 10> k_refused_codes{
    "UnauthorizedOperation",     "UnrecognizedClientException",
    "InvalidClientTokenId",      "SignatureDoesNotMatch",
    "InvalidSignatureException", "MissingAuthenticationToken",
    "IncompleteSignature",       "AuthFailure",
    "UnauthorizedException",     "NotAuthorizedException",
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

template <size_t N>
bool one_of(std::string_view code, const std::array<std::string_view, N>& codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

bool is_refused_code(std::string_view code) {
  return starts_with(code, "AccessDenied") || starts_with(code, "ExpiredToken") ||
         one_of(code, k_refused_codes);
}

bool is_invalid_code(std::string_view code) {
  return code == "ValidationException" || code == "ValidationError" ||
         starts_with(code, "InvalidParameter") || code == "ClientException" ||
         code == "SerializationException" || code == "MissingParameter" || code == "InvalidAction";
}

bool is_conflict_code(std::string_view code) {
  return contains(code, "AlreadyExists") || contains(code, "InUse") ||
         contains(code, "InProgress") || contains(code, "ConcurrentModification") ||
         contains(code, "Conflict") || starts_with(code, "Duplicate") ||
         code == "ServiceNotActiveException" || code == "OperationAbortedException";
}

}  // namespace

std::string sanitize_error_code(std::string_view raw) {
  std::string_view code = text::trim(raw);
  code = code.substr(0, code.find(','));
  code = code.substr(0, code.find(':'));
  if (size_t hash = code.rfind('#'); hash != std::string_view::npos) {
    code.remove_prefix(hash + 1);
  }
  return std::string(code);
}

std::string request_id_header(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (std::string_view name : {"x-amzn-RequestId", "x-amzn-request-id", "x-amz-request-id"}) {
    for (const auto& [key, value] : headers) {
      if (text::iequals(key, name) && !value.empty()) {
        return std::string(text::trim(value));
      }
    }
  }
  return {};
}

bool is_throttling(const AwsError& error) {
  return error.status == 429 || one_of(error.code, k_throttling_codes);
}

Errc errc_for(const AwsError& error) {
  const std::string& code = error.code;
  if (error.status == 0 || is_throttling(error) || error.status >= 500) {
    return Errc::unavailable;
  }
  if (is_refused_code(code)) {
    return Errc::refused;
  }
  if (contains(code, "NotFound")) {
    return Errc::not_found;
  }
  if (is_invalid_code(code)) {
    return Errc::invalid;
  }
  if (is_conflict_code(code)) {
    return Errc::conflict;
  }
  switch (error.status) {
    case 401:
    case 403:
      return Errc::refused;
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::conflict;
    default:
      return Errc::invalid;
  }
}

std::string describe(const AwsError& error) {
  std::string where = fmt::format("{} {}", error.service, error.operation);
  std::string after =
      error.attempts > 1 ? fmt::format(", after {} attempts", error.attempts) : std::string();
  if (error.status == 0) {
    return fmt::format("{}: no answer: {}{}", where, error.message,
                       after.empty() ? "" : fmt::format(" ({})", after.substr(2)));
  }
  std::string text = fmt::format("{}: {}", where, error.code.empty() ? "error" : error.code);
  if (!error.message.empty()) {
    text += ": " + error.message;
  }
  text += fmt::format(" (HTTP {}, {}{})", error.status,
                      error.request_id.empty() ? "no request id" : "request id " + error.request_id,
                      after);
  if (errc_for(error) == Errc::refused) {
    text += fmt::format(
        "; check the credentials ztp found (the environment, AWS_PROFILE and its shared files, "
        "web identity, the container or instance role) and that their IAM policy allows {}",
        error.iam_action.empty() ? error.operation : error.iam_action);
  }
  return text;
}

Error to_error(const AwsError& error) { return make_error(errc_for(error), describe(error)); }

}  // namespace ztp::aws
