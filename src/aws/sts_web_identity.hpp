#pragma once

#include <string>
#include <string_view>

#include "aws/sigv4.hpp"
#include "sys/http.hpp"
#include "util/result.hpp"

// STS AssumeRoleWithWebIdentity: a web identity token (an EKS service account's, a CI's OIDC
// token) exchanged for temporary credentials of a role. The call is an unsigned POST in the
// query protocol: a form body (Action, Version=2011-06-15, RoleArn, RoleSessionName,
// WebIdentityToken), an XML answer.
namespace ztp::aws {

// One exchange.
struct WebIdentityRequest {
  std::string endpoint{};           // the STS endpoint, "https://sts.us-east-1.amazonaws.com"
  std::string role_arn{};           // "arn:aws:iam::123456789012:role/deploy"
  std::string role_session_name{};  // names the session in CloudTrail
  std::string token{};              // the web identity token; never in a message
};

// The form body of the request, each value percent-encoded.
std::string web_identity_form(const WebIdentityRequest& request);

// The credentials of a successful answer (AssumeRoleWithWebIdentityResult/Credentials/
// {AccessKeyId, SecretAccessKey, SessionToken, Expiration}); invalid when the XML does not
// hold them.
Result<Credentials> parse_web_identity_answer(std::string_view xml);

// The error of a failed answer, from ErrorResponse/Error/{Code, Message} and RequestId:
// invalid for a 4xx (a refused token or role), unavailable otherwise. The message names the
// role and quotes STS's code, message and request id.
Error web_identity_error(long status, std::string_view xml, std::string_view role_arn);

// Calls STS through `client` (its retry policy applies to failures worth retrying).
// unavailable when STS cannot be reached; otherwise as parse_web_identity_answer and
// web_identity_error say. The credentials' source is "web identity (ROLE)".
Result<Credentials> assume_role_with_web_identity(const WebIdentityRequest& request,
                                                  sys::HttpClient& client);

}  // namespace ztp::aws
