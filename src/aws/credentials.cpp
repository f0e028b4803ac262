#include "aws/credentials.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "aws/endpoint.hpp"
#include "aws/sts_web_identity.hpp"
#include "sys/process.hpp"
#include "sys/time.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

constexpr const char* k_ecs_host = "http://169.254.170.2";
constexpr const char* k_imds_host = "http://169.254.169.254";

const Clock& clock_of(const CredentialOptions& options) {
  return options.clock != nullptr ? *options.clock : system_clock();
}

Found nothing(std::string why, bool unreachable = false) {
  Found f;
  f.why_not = std::move(why);
  f.unreachable = unreachable;
  return f;
}

Found found(Credentials creds) {
  Found f;
  f.credentials = std::move(creds);
  return f;
}

// An RFC 3339 time with "Z" or a numeric offset ("+00:00"), as credential_process helpers and
// metadata services write expirations.
Result<sys::WallTime> parse_expiration(std::string_view text) {
  text = text::trim(text);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() > 6 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-') &&
      text[text.size() - 3] == ':') {
    std::string_view offset = text.substr(text.size() - 5);
    if (!digit(offset[0]) || !digit(offset[1]) || !digit(offset[3]) || !digit(offset[4])) {
      return make_error(Errc::invalid, fmt::format("'{}' has a malformed UTC offset", text));
    }
    int hours = (offset[0] - '0') * 10 + (offset[1] - '0');
    int minutes = (offset[3] - '0') * 10 + (offset[4] - '0');
    ZTP_ASSIGN_OR_RETURN(auto local,
                         sys::parse_rfc3339(fmt::format("{}Z", text.substr(0, text.size() - 6))));
    auto shift = std::chrono::minutes(hours * 60 + minutes);
    return text[text.size() - 6] == '+' ? local - shift : local + shift;
  }
  return sys::parse_rfc3339(text);
}

// The string member `key` of `doc`, or "" when `doc` is not an object or `key` not a string.
std::string json_text(const nlohmann::json& doc, const char* key) {
  if (!doc.is_object()) {
    return "";
  }
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

// A JSON member that must be a non-empty string; invalid naming it and `what`.
Result<std::string> json_string(const nlohmann::json& doc, const char* key, std::string_view what) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string() || it->get<std::string>().empty()) {
    return make_error(Errc::invalid, fmt::format("{} has no \"{}\" string", what, key));
  }
  return it->get<std::string>();
}

// The credentials of a container or metadata answer: AccessKeyId, SecretAccessKey, Token,
// Expiration.
Result<Credentials> metadata_credentials(std::string_view body, std::string_view what) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::invalid, fmt::format("{} is not a JSON object", what));
  }
  Credentials c;
  ZTP_ASSIGN_OR_RETURN(c.access_key_id, json_string(doc, "AccessKeyId", what));
  ZTP_ASSIGN_OR_RETURN(c.secret_access_key, json_string(doc, "SecretAccessKey", what));
  ZTP_ASSIGN_OR_RETURN(c.session_token, json_string(doc, "Token", what));
  ZTP_ASSIGN_OR_RETURN(std::string expiration, json_string(doc, "Expiration", what));
  auto at = parse_expiration(expiration);
  if (!at.ok()) {
    return make_error(Errc::invalid, fmt::format("{}: Expiration: {}", what, at.error().message));
  }
  c.expiration = *at;
  return c;
}

// The last part of a process's standard error, for a message.
std::string stderr_tail(const std::string& err) {
  std::string_view t = text::trim(err);
  constexpr size_t k_max = 1000;
  return t.size() <= k_max ? std::string(t) : "..." + std::string(t.substr(t.size() - k_max));
}

Result<Credentials> run_credential_process(const CredentialOptions& options,
                                           const std::string& command, const std::string& who) {
  sys::SpawnOptions spawn;
  spawn.argv = {"/bin/sh", "-c", command};
  std::vector<std::string> env;
  for (const auto& [k, v] : options.env) {
    env.push_back(k + "=" + v);
  }
  spawn.env = std::move(env);
  // Only the program is named: the rest of a command line may hold a secret.
  std::string_view program = text::trim(command);
  program = program.substr(0, program.find_first_of(" \t"));
  std::string what = fmt::format("credential_process {} of {}", program, who);
  auto ran = sys::run_captured(spawn, options.process_timeout);
  if (!ran.ok()) {
    return make_error(Errc::invalid,
                      fmt::format("{} did not start: {}", what, ran.error().message));
  }
  if (ran->timed_out) {
    return make_error(Errc::timeout, fmt::format("{} did not finish within {} ms", what,
                                                 options.process_timeout.count()));
  }
  int status = ran->wait_status;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                        : fmt::format("was killed by signal {}", WTERMSIG(status));
    std::string err = stderr_tail(ran->err);
    return make_error(Errc::invalid,
                      fmt::format("{} {}{}", what, how,
                                  err.empty() ? ", printing nothing on stderr" : ": " + err));
  }
  // Standard output holds the secret: never quoted.
  auto doc = nlohmann::json::parse(ran->out, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(Errc::invalid, fmt::format("{} did not print a JSON object", what));
  }
  auto version = doc.find("Version");
  if (version == doc.end() || !version->is_number_integer() || version->get<int>() != 1) {
    return make_error(Errc::invalid, fmt::format("{} printed no \"Version\": 1", what));
  }
  Credentials c;
  ZTP_ASSIGN_OR_RETURN(c.access_key_id, json_string(doc, "AccessKeyId", what));
  ZTP_ASSIGN_OR_RETURN(c.secret_access_key, json_string(doc, "SecretAccessKey", what));
  if (auto t = doc.find("SessionToken"); t != doc.end() && t->is_string()) {
    c.session_token = t->get<std::string>();
  }
  if (auto e = doc.find("Expiration"); e != doc.end() && e->is_string()) {
    auto at = parse_expiration(e->get<std::string>());
    if (!at.ok()) {
      return make_error(Errc::invalid,
                        fmt::format("{} printed an Expiration that is not an RFC 3339 time", what));
    }
    if (*at <= clock_of(options).wall_now()) {
      return make_error(Errc::invalid,
                        fmt::format("{} printed credentials that expired at {}", what,
                                    sys::format_rfc3339(*at, sys::TimePrecision::seconds)));
    }
    c.expiration = *at;
  }
  c.source = fmt::format("credential_process of {}", who);
  return c;
}

// The region STS is called in: the options', the configured one, else us-east-1 (as the SDKs'
// credential providers fall back to).
std::string sts_region(const CredentialOptions& options, const SharedConfig& config) {
  if (!options.region.empty()) {
    return options.region;
  }
  auto region = resolve_region(std::nullopt, options.env, config);
  return region.ok() ? region->name : "us-east-1";
}

Result<Credentials> web_identity(const CredentialOptions& options, const SharedConfig& config,
                                 const std::string& token_file, const std::string& role_arn,
                                 std::string session_name, const std::string& where) {
  auto token = fs::read_file(token_file);
  if (!token.ok()) {
    return make_error(Errc::invalid, fmt::format("cannot read the web identity token file {} "
                                                 "({}): {}",
                                                 token_file, where, token.error().message));
  }
  ZTP_ASSIGN_OR_RETURN(
      Endpoint sts,
      resolve_endpoint(*find_service("sts"), sts_region(options, config), options.env, config));
  if (session_name.empty()) {
    auto now = clock_of(options).wall_now().time_since_epoch();
    session_name = fmt::format("ztp-session-{}",
                               std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  }
  sys::HttpClient client;
  client.set_retry(options.retry);
  return assume_role_with_web_identity(
      {sts.url, role_arn, session_name, std::string(text::trim(*token))}, client);
}

// The host of an absolute URL without its port ("[fd00:ec2::23]", "127.0.0.1").
std::string host_only(const std::string& url) {
  auto host = host_header(url);
  if (!host.ok()) {
    return "";
  }
  std::string h = *host;
  if (h.starts_with('[')) {
    return h.substr(0, h.find(']') + 1);
  }
  return h.substr(0, h.find(':'));
}

bool allowed_container_host(const std::string& host) {
  if (host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]" ||
      host == "localhost" || host == "[::1]") {
    return true;
  }
  // 127.0.0.0/8
  int parts = 0;
  std::string_view rest = host;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view part = rest.substr(0, dot);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(part)) > 255 || (parts == 0 && part != "127")) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  return parts == 4;
}

sys::HttpOptions metadata_http(const CredentialOptions& options) {
  sys::HttpOptions http;
  http.connect_timeout = options.metadata_connect_timeout;
  http.timeout = options.metadata_timeout;
  http.direct = true;
  return http;
}

}  // namespace

Result<Found> credentials_from_environment(const CredentialOptions& options) {
  std::string id = env_value(options.env, "AWS_ACCESS_KEY_ID");
  std::string secret = env_value(options.env, "AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) {
    return nothing("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
  }
  if (id.empty() || secret.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("{} is set but {} is not: set both, or neither",
                                  id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID",
                                  id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"));
  }
  Credentials c{id, secret, env_value(options.env, "AWS_SESSION_TOKEN")};
  if (std::string e = env_value(options.env, "AWS_CREDENTIAL_EXPIRATION"); !e.empty()) {
    auto at = parse_expiration(e);
    if (!at.ok()) {
      return make_error(Errc::invalid, fmt::format("AWS_CREDENTIAL_EXPIRATION '{}' is not an "
                                                   "RFC 3339 time",
                                                   e));
    }
    c.expiration = *at;
  }
  c.source = "environment";
  return found(std::move(c));
}

Result<Found> credentials_from_profile(const CredentialOptions& options,
                                       const SharedConfig& config) {
  const ConfigSection* p = config.profile();
  if (p == nullptr) {
    return nothing(fmt::format("no {}", config.describe()));
  }
  std::string who = fmt::format("profile {} ({})", config.profile_name, p->where);
  if (p->has("role_arn") && (p->has("source_profile") || p->has("credential_source"))) {
    // Assuming a role from another profile's credentials (sts:AssumeRole, signed) is not
    // supported yet.
    return make_error(
        Errc::invalid,
        fmt::format("{} assumes role {} with {}, which ztp does not support yet; give the "
                    "profile credential_process = aws configure export-credentials --profile "
                    "{} --format process, or web_identity_token_file, or static keys",
                    who, p->get("role_arn"),
                    p->has("source_profile") ? "source_profile" : "credential_source",
                    config.profile_name));
  }
  if (p->has("aws_access_key_id") || p->has("aws_secret_access_key")) {
    Credentials c{p->get("aws_access_key_id"), p->get("aws_secret_access_key"),
                  p->get("aws_session_token")};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return make_error(
          Errc::invalid,
          fmt::format("{} has {} but no {}", who,
                      c.access_key_id.empty() ? "aws_secret_access_key" : "aws_access_key_id",
                      c.access_key_id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
    }
    c.source = fmt::format("profile {}", config.profile_name);
    return found(std::move(c));
  }
  if (p->has("web_identity_token_file")) {
    if (p->get("role_arn").empty()) {
      return make_error(Errc::invalid,
                        fmt::format("{} has web_identity_token_file but no role_arn", who));
    }
    ZTP_ASSIGN_OR_RETURN(Credentials c,
                         web_identity(options, config, p->get("web_identity_token_file"),
                                      p->get("role_arn"), p->get("role_session_name"), who));
    return found(std::move(c));
  }
  if (p->has("credential_process")) {
    ZTP_ASSIGN_OR_RETURN(Credentials c,
                         run_credential_process(options, p->get("credential_process"), who));
    return found(std::move(c));
  }
  if (p->has("sso_session") || p->has("sso_start_url")) {
    return make_error(Errc::invalid,
                      fmt::format("{} signs in through IAM Identity Center (sso_*), which ztp "
                                  "does not support yet; give the profile credential_process = "
                                  "aws configure export-credentials --profile {} --format process",
                                  who, config.profile_name));
  }
  return nothing(
      fmt::format("{} has no aws_access_key_id, web_identity_token_file or "
                  "credential_process",
                  who));
}

Result<Found> credentials_from_web_identity(const CredentialOptions& options,
                                            const SharedConfig& config) {
  std::string file = env_value(options.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  std::string role = env_value(options.env, "AWS_ROLE_ARN");
  if (file.empty() && role.empty()) {
    return nothing("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");
  }
  if (file.empty() || role.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("{} is set but {} is not: web identity needs both",
                                  file.empty() ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                                  file.empty() ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN"));
  }
  ZTP_ASSIGN_OR_RETURN(Credentials c, web_identity(options, config, file, role,
                                                   env_value(options.env, "AWS_ROLE_SESSION_NAME"),
                                                   "AWS_WEB_IDENTITY_TOKEN_FILE"));
  return found(std::move(c));
}

Result<Found> credentials_from_container(const CredentialOptions& options) {
  std::string relative = env_value(options.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  std::string full = env_value(options.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (relative.empty() && full.empty()) {
    return nothing(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not "
        "set (they are inside an ECS task with a task role, or an EKS pod with Pod Identity)");
  }
  std::string url = relative.empty() ? full : k_ecs_host + relative;
  std::string host = host_only(url);
  if (host.empty()) {
    return make_error(Errc::invalid, fmt::format("the container credentials URI {} is not an "
                                                 "absolute http or https URL",
                                                 url));
  }
  if (relative.empty() && !full.starts_with("https://") && !allowed_container_host(host)) {
    return make_error(Errc::invalid,
                      fmt::format("AWS_CONTAINER_CREDENTIALS_FULL_URI {} is plain http to {}: "
                                  "only https, loopback, 169.254.170.2, 169.254.170.23 and "
                                  "[fd00:ec2::23] are allowed",
                                  full, host));
  }
  sys::HttpRequest req;
  req.url = url;
  std::string token_file = env_value(options.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  std::string token = env_value(options.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (!token_file.empty()) {
    auto read = fs::read_file(token_file);
    if (!read.ok()) {
      return make_error(Errc::invalid,
                        fmt::format("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {}",
                                    token_file, read.error().message));
    }
    token = std::string(text::trim(*read));
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    return make_error(Errc::invalid, "the container authorization token holds a line break");
  }
  if (!token.empty()) {
    req.headers.emplace_back("Authorization", token);
  }
  sys::HttpClient client(metadata_http(options));
  client.set_retry(options.retry);
  std::string what = fmt::format("the container credentials endpoint {}", url);
  auto res = client.send(req);
  if (!res.ok()) {
    return make_error(Errc::unavailable,
                      fmt::format("cannot reach {}: {}", what, res.error().message));
  }
  if (res->status != 200) {
    auto doc = nlohmann::json::parse(res->body, nullptr, false);
    std::string code = json_text(doc, "Code");
    std::string detail =
        code.empty() ? "" : fmt::format(": {}: {}", code, json_text(doc, "Message"));
    return make_error(res->status < 500 ? Errc::invalid : Errc::unavailable,
                      fmt::format("{} answered {}{}", what, res->status, detail));
  }
  ZTP_ASSIGN_OR_RETURN(Credentials c, metadata_credentials(res->body, "the answer of " + what));
  c.source = "ECS container endpoint";
  return found(std::move(c));
}

Result<Found> credentials_from_instance_metadata(const CredentialOptions& options) {
  if (env_true(options.env, "AWS_EC2_METADATA_DISABLED")) {
    return nothing("AWS_EC2_METADATA_DISABLED is true");
  }
  std::string configured = env_value(options.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  std::string base = configured.empty() ? k_imds_host : configured;
  while (base.ends_with('/')) {
    base.pop_back();
  }
  sys::HttpClient client(metadata_http(options));
  sys::HttpRequest token_req;
  token_req.method = "PUT";
  token_req.url = base + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  auto token = client.send(token_req);
  if (!token.ok()) {
    return nothing(fmt::format("no answer from {} ({}): not on EC2", base, token.error().message),
                   !configured.empty());
  }
  if (token->status != 200) {
    return nothing(fmt::format("{} answered {} to the IMDSv2 token request (IMDSv1 is not used)",
                               base, token->status));
  }
  std::string session = std::string(text::trim(token->body));
  std::string path = base + "/latest/meta-data/iam/security-credentials/";
  auto get = [&](const std::string& url) {
    sys::HttpRequest req;
    req.url = url;
    req.headers = {{"X-aws-ec2-metadata-token", session}};
    return client.send(req);
  };
  auto roles = get(path);
  if (roles.ok() && roles->status == 404) {
    return nothing("this EC2 instance has no IAM role (instance profile)");
  }
  if (!roles.ok() || roles->status != 200) {
    return make_error(
        Errc::unavailable,
        fmt::format("the instance metadata service {} failed to list the "
                    "instance's role: {}",
                    base,
                    roles.ok() ? fmt::format("HTTP {}", roles->status) : roles.error().message));
  }
  std::string_view listed = text::trim(roles->body);
  std::string role(listed.substr(0, listed.find('\n')));
  if (role.empty()) {
    return nothing("this EC2 instance has no IAM role (instance profile)");
  }
  auto creds = get(path + role);
  if (!creds.ok() || creds->status != 200) {
    return make_error(
        Errc::unavailable,
        fmt::format("the instance metadata service {} failed to give the "
                    "credentials of role {}: {}",
                    base, role,
                    creds.ok() ? fmt::format("HTTP {}", creds->status) : creds.error().message));
  }
  std::string what = fmt::format("the instance metadata credentials of role {}", role);
  std::string code = json_text(nlohmann::json::parse(creds->body, nullptr, false), "Code");
  if (!code.empty() && code != "Success") {
    return make_error(Errc::unavailable, fmt::format("{} are not available: Code {}", what, code));
  }
  ZTP_ASSIGN_OR_RETURN(Credentials c, metadata_credentials(creds->body, what));
  c.source = fmt::format("EC2 instance metadata (role {})", role);
  return found(std::move(c));
}

Result<Credentials> resolve_credentials(const CredentialOptions& options) {
  std::vector<std::string> tried;
  bool unreachable = false;
  // Each source in turn; the first with credentials, or with an error, ends the chain.
  auto step = [&](const char* name, Result<Found> r) -> std::optional<Result<Credentials>> {
    if (!r.ok()) {
      return Result<Credentials>(r.take_error());
    }
    if (r->credentials) {
      return Result<Credentials>(std::move(*r->credentials));
    }
    tried.push_back(fmt::format("  - {}: {}", name, r->why_not));
    unreachable = unreachable || r->unreachable;
    return std::nullopt;
  };
  if (auto done = step("environment", credentials_from_environment(options))) {
    return std::move(*done);
  }
  ZTP_ASSIGN_OR_RETURN(SharedConfig config, load_shared_config(options.env, options.profile));
  if (auto done = step("shared files", credentials_from_profile(options, config))) {
    return std::move(*done);
  }
  if (auto done = step("web identity", credentials_from_web_identity(options, config))) {
    return std::move(*done);
  }
  if (auto done = step("container endpoint", credentials_from_container(options))) {
    return std::move(*done);
  }
  if (auto done = step("EC2 instance metadata", credentials_from_instance_metadata(options))) {
    return std::move(*done);
  }
  return make_error(
      unreachable ? Errc::unavailable : Errc::invalid,
      fmt::format("no AWS credentials found; looked in:\n{}\nTo fix: set AWS_PROFILE to a "
                  "profile with credentials (or name one in the spec), set AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY, or run ztp inside ECS, EKS or EC2 with a role",
                  fmt::join(tried, "\n")));
}

Result<Credentials> CachingCredentialsProvider::credentials() {
  std::lock_guard lock(m_mu);
  auto now = m_clock.wall_now();
  if (m_cached && (!m_cached->expiration || now < *m_cached->expiration - k_refresh_before)) {
    return *m_cached;
  }
  auto fresh = m_fetch();
  if (fresh.ok()) {
    m_cached = *fresh;
    return fresh;
  }
  if (m_cached && now < *m_cached->expiration) {
    return *m_cached;  // still valid; the next call tries again
  }
  m_cached.reset();
  return fresh;
}

std::shared_ptr<CredentialsProvider> default_credentials_provider(CredentialOptions options) {
  const Clock& clock = clock_of(options);
  return std::make_shared<CachingCredentialsProvider>(
      [options = std::move(options)] { return resolve_credentials(options); }, clock);
}

}  // namespace ztp::aws
