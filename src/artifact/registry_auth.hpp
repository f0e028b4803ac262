#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sys/http.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// The environment variables credentials come from.
inline constexpr const char* k_env_registry_username = "ZTP_REGISTRY_USERNAME";
inline constexpr const char* k_env_registry_password = "ZTP_REGISTRY_PASSWORD";
inline constexpr const char* k_env_registry_token = "ZTP_REGISTRY_TOKEN";

// Registry credentials: a username and password (sent as Basic auth, and to a token server in
// exchange for a bearer token), or a bearer token used as is. Never logged, never put in an
// error message.
struct RegistryAuth {
  std::string username;
  std::string password;
  std::string token;
  // ZTP_REGISTRY_USERNAME / ZTP_REGISTRY_PASSWORD / ZTP_REGISTRY_TOKEN; empty when unset.
  static RegistryAuth from_environment();
};

// One challenge of a WWW-Authenticate header (RFC 7235): the scheme lower-cased ("basic",
// "bearer"), its auth-params with lower-cased names and unquoted values, or a token68.
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
  std::string token68;
};

// Parses a WWW-Authenticate value holding one or more challenges, e.g.
// `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
// invalid (saying where) when a challenge has no scheme or a quoted string is not closed.
Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header);

// The bearer token of a token server's JSON answer: `token`, else `access_token`. invalid when
// the body is not JSON or holds neither.
Result<std::string> parse_token_response(std::string_view body);

// "Basic <base64(username:password)>".
std::string basic_authorization(std::string_view username, std::string_view password);

// The access scope a request needs: "repository:<name>:pull" or "repository:<name>:pull,push";
// empty for the version check GET /v2/.
std::string repository_scope(std::string_view repository, bool push);

// Answers a registry's 401 challenges for one client: Basic when the registry asks for it, or
// the bearer token dance (GET the challenge's realm with service and scope, Basic credentials
// when there are any), caching one token per scope. Not thread-safe.
class RegistryAuthenticator {
 public:
  explicit RegistryAuthenticator(RegistryAuth auth) : m_auth(std::move(auth)) {}

  // The Authorization header's value for a request needing `scope`, or empty when nothing is
  // known to send yet.
  std::string authorization(const std::string& scope) const;

  // After a 401 carrying `www_authenticate`: readies credentials for one retry of a request
  // needing `scope` and returns true, or false when retrying cannot help (no credentials fit,
  // the ones sent were refused). Errors come from the token server: unavailable when it does
  // not answer, refused when it rejects the credentials, invalid for an unusable answer.
  Result<bool> answer(std::string_view www_authenticate, const std::string& scope,
                      sys::HttpClient& session);

  bool has_credentials() const { return !m_auth.username.empty() || !m_auth.token.empty(); }

 private:
  Result<std::string> fetch_token(const AuthChallenge& challenge, const std::string& scope,
                                  sys::HttpClient& session);

  RegistryAuth m_auth;
  bool m_basic = false;                         // the registry asked for Basic
  std::map<std::string, std::string> m_tokens;  // bearer token by scope
};

}  // namespace ztp::artifact
