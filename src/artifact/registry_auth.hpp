#pragma once

#include <functional>
#include <map>
#include <optional>
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

// Where podman, skopeo and docker keep credentials, in the order RegistryAuth::for_registry
// reads them (containers-auth.json(5), docker's config.json).
inline constexpr const char* k_env_registry_auth_file = "REGISTRY_AUTH_FILE";
inline constexpr const char* k_env_docker_config = "DOCKER_CONFIG";

// Looks up an environment variable; nullopt when it is unset. A seam so tests need not change
// this process's environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// This process's environment, for EnvLookup.
std::optional<std::string> process_environment(std::string_view name);

// Registry credentials: a username and password (sent as Basic auth, and to a token server in
// exchange for a bearer token), or a bearer token used as is. Never logged, never put in an
// error message.
struct RegistryAuth {
  std::string username;
  std::string password;
  std::string token;
  // ZTP_REGISTRY_USERNAME / ZTP_REGISTRY_PASSWORD / ZTP_REGISTRY_TOKEN; empty when unset.
  static RegistryAuth from_environment();

  // The credentials for the registry `host` (host[:port]); the first of these that has some
  // wins:
  //  1. ZTP_REGISTRY_USERNAME / ZTP_REGISTRY_PASSWORD / ZTP_REGISTRY_TOKEN, when the username or
  //     the token is set;
  //  2. the files $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
  //     $HOME/.config/containers/auth.json, then $DOCKER_CONFIG/config.json or, without
  //     DOCKER_CONFIG, $HOME/.docker/config.json (a missing file is skipped). In each file, the
  //     helper `credHelpers` names for the host, then the `auths` entry of the host (also under
  //     docker's keys "https://host", "host/v2/", "https://index.docker.io/v1/" for Docker Hub),
  //     then the default helper `credsStore`. A helper is `docker-credential-<name> get`, found
  //     on env's PATH, given the host on its standard input;
  //  3. none: anonymous (an empty RegistryAuth).
  // An identity token (`identitytoken`, or a helper's username "<token>") comes back as the
  // password of user "<token>", as docker hands it to token servers.
  // Errors name the file, the helper and the host, never a secret: invalid for a file that is
  // not JSON or an entry that cannot be read, or a helper that fails; not_found for a helper
  // that is not installed; timeout for a helper that does not answer.
  static Result<RegistryAuth> for_registry(std::string_view host,
                                           const EnvLookup& env = process_environment);
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
