#include "aws/sts_web_identity.hpp"

#include <fmt/format.h>

#include <pugixml.hpp>

#include "sys/time.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

std::string child_text(const pugi::xml_node& node, const char* name) {
  return std::string(text::trim(node.child(name).text().as_string()));
}

}  // namespace

std::string web_identity_form(const WebIdentityRequest& request) {
  return fmt::format(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}&"
      "WebIdentityToken={}",
      uri_encode(request.role_arn), uri_encode(request.role_session_name),
      uri_encode(request.token));
}

Result<Credentials> parse_web_identity_answer(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) {
    return make_error(Errc::invalid,
                      "STS answered AssumeRoleWithWebIdentity with text that is "
                      "not XML");
  }
  pugi::xml_node creds = doc.child("AssumeRoleWithWebIdentityResponse")
                             .child("AssumeRoleWithWebIdentityResult")
                             .child("Credentials");
  Credentials c;
  c.access_key_id = child_text(creds, "AccessKeyId");
  c.secret_access_key = child_text(creds, "SecretAccessKey");
  c.session_token = child_text(creds, "SessionToken");
  std::string expiration = child_text(creds, "Expiration");
  if (c.access_key_id.empty() || c.secret_access_key.empty() || c.session_token.empty() ||
      expiration.empty()) {
    return make_error(Errc::invalid,
                      "STS's AssumeRoleWithWebIdentity answer lacks AccessKeyId, "
                      "SecretAccessKey, SessionToken or Expiration under "
                      "AssumeRoleWithWebIdentityResult/Credentials");
  }
  auto at = sys::parse_rfc3339(expiration);
  if (!at.ok()) {
    return make_error(Errc::invalid,
                      fmt::format("STS's AssumeRoleWithWebIdentity answer has an Expiration "
                                  "that is not a time: {}",
                                  at.error().message));
  }
  c.expiration = *at;
  return c;
}

Error web_identity_error(long status, std::string_view xml, std::string_view role_arn) {
  pugi::xml_document doc;
  std::string code;
  std::string message;
  std::string request_id;
  if (doc.load_buffer(xml.data(), xml.size())) {
    pugi::xml_node response = doc.child("ErrorResponse");
    code = child_text(response.child("Error"), "Code");
    message = child_text(response.child("Error"), "Message");
    request_id = child_text(response, "RequestId");
  }
  std::string detail = code.empty() ? fmt::format("HTTP {}", status)
                                    : fmt::format("HTTP {} {}: {}", status, code, message);
  if (!request_id.empty()) {
    detail += fmt::format(" (request id {})", request_id);
  }
  bool client_side = status >= 400 && status < 500;
  return make_error(
      client_side ? Errc::invalid : Errc::unavailable,
      fmt::format("STS AssumeRoleWithWebIdentity for role {} failed: {}{}", role_arn, detail,
                  client_side ? "; check the role's trust policy and the token's "
                                "issuer, audience and subject"
                              : ""));
}

Result<Credentials> assume_role_with_web_identity(const WebIdentityRequest& request,
                                                  sys::HttpClient& client) {
  std::string body = web_identity_form(request);
  sys::HttpRequest req;
  req.method = "POST";
  req.url = request.endpoint + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "text/xml"}};
  req.body = body;
  auto res = client.send(req);
  if (!res.ok()) {
    return make_error(res.error().code == Errc::timeout ? Errc::timeout : Errc::unavailable,
                      fmt::format("cannot reach STS at {} for AssumeRoleWithWebIdentity: {}",
                                  request.endpoint, res.error().message));
  }
  if (res->status != 200) {
    return web_identity_error(res->status, res->body, request.role_arn);
  }
  ZTP_ASSIGN_OR_RETURN(Credentials creds, parse_web_identity_answer(res->body));
  creds.source = fmt::format("web identity ({})", request.role_arn);
  return creds;
}

}  // namespace ztp::aws
