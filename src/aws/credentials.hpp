#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aws/shared_config.hpp"
#include "aws/sigv4.hpp"
#include "sys/http.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// Where AWS credentials come from: the credential chain, in the order the AWS SDKs use:
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (these win
//     over AWS_PROFILE, as in the CLI; the JavaScript SDK skips them when AWS_PROFILE is set);
//  2. the selected profile of the shared files: static keys (aws_access_key_id,
//     aws_secret_access_key, aws_session_token), then web_identity_token_file with role_arn
//     (role_session_name optional), then credential_process. A profile that assumes a role
//     from another one (role_arn with source_profile or credential_source) and IAM Identity
//     Center profiles (sso_*) are not supported yet: an error says so and what to use instead;
//  3. web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN
//     (AWS_ROLE_SESSION_NAME optional), exchanged at STS (sts_web_identity.hpp);
//  4. the ECS (or EKS Pod Identity) container endpoint: http://169.254.170.2 +
//     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, else AWS_CONTAINER_CREDENTIALS_FULL_URI (https,
//     or http to loopback, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]), with the
//     Authorization token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
//     AWS_CONTAINER_AUTHORIZATION_TOKEN;
//  5. the EC2 instance metadata service, IMDSv2 only (a session token first):
//     http://169.254.169.254 or AWS_EC2_METADATA_SERVICE_ENDPOINT, skipped when
//     AWS_EC2_METADATA_DISABLED=true, with a 1 s connect timeout so a machine off EC2 moves on.
// The first source that is configured decides: one that is configured but fails (a file that
// does not parse, a credential_process that exits non-zero, an endpoint that refuses) ends the
// chain with its error. No secret value is ever logged or put in a message.
namespace ztp::aws {

// What the chain reads, injected so tests control it.
struct CredentialOptions {
  Env env{};                    // the environment; process_env() in production
  std::string profile{};        // the spec's profile; empty: AWS_PROFILE, else "default"
  std::string region{};         // for STS; empty: resolve_region(), else us-east-1
  const Clock* clock{nullptr};  // nullptr: the system clock
  std::chrono::milliseconds process_timeout{60'000};  // credential_process
  // The container endpoint and the instance metadata service: link-local, never through a
  // proxy, and short, as the SDKs' 1 s.
  std::chrono::milliseconds metadata_connect_timeout{1'000};
  std::chrono::milliseconds metadata_timeout{3'000};
  // STS and the container endpoint retry what is worth it; instance metadata does not.
  sys::RetryPolicy retry{
      3, sys::Backoff{std::chrono::milliseconds(200), 2.0, std::chrono::seconds(2), true}};
};

// What one source of the chain found: credentials, or why it had none.
struct Found {
  std::optional<Credentials> credentials{};
  std::string why_not{};     // "AWS_ACCESS_KEY_ID is not set"
  bool unreachable = false;  // configured, but no answer (the chain's error is then unavailable)
};

// Source 1: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). invalid when
// only one of the pair is set.
Result<Found> credentials_from_environment(const CredentialOptions& options);

// Source 2: the selected profile of `config` (see above). Errors: invalid for an incomplete or
// unsupported profile, and those of a credential_process or of STS.
Result<Found> credentials_from_profile(const CredentialOptions& options,
                                       const SharedConfig& config);

// Source 3: AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, at STS in the region of `config`.
// invalid when only one is set or the token file cannot be read.
Result<Found> credentials_from_web_identity(const CredentialOptions& options,
                                            const SharedConfig& config);

// Source 4: the container endpoint. invalid for a full URI whose host is not allowed or an
// unreadable token file; unavailable when the endpoint does not answer; invalid (4xx) or
// unavailable (5xx) when it answers with an error.
Result<Found> credentials_from_container(const CredentialOptions& options);

// Source 5: IMDSv2. Nothing found (not an error) when the service does not answer or the
// instance has no role; unavailable when it fails after that.
Result<Found> credentials_from_instance_metadata(const CredentialOptions& options);

// Runs the chain once. When no source has credentials: invalid (unavailable when a configured
// endpoint did not answer), listing each source and why it gave nothing, and how to fix it.
Result<Credentials> resolve_credentials(const CredentialOptions& options);

// Hands out credentials to signers.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials valid now, or why there are none.
  virtual Result<Credentials> credentials() = 0;
};

// Caches what `fetch` returns and fetches again 5 minutes before the credentials expire (on
// the injected clock); credentials without an expiration are kept. When a refresh fails while
// the cached credentials are still valid, those are returned. Thread-safe.
class CachingCredentialsProvider final : public CredentialsProvider {
 public:
  using Fetch = std::function<Result<Credentials>()>;
  static constexpr std::chrono::minutes k_refresh_before{5};

  CachingCredentialsProvider(Fetch fetch, const Clock& clock)
      : m_fetch(std::move(fetch)), m_clock(clock) {}
  Result<Credentials> credentials() override;

 private:
  Fetch m_fetch;
  const Clock& m_clock;
  std::mutex m_mu;
  std::optional<Credentials> m_cached;
};

// The chain of resolve_credentials behind a CachingCredentialsProvider.
std::shared_ptr<CredentialsProvider> default_credentials_provider(CredentialOptions options);

}  // namespace ztp::aws
