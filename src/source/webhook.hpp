#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/result.hpp"

// GitHub's push webhooks: the signature of a delivery and the payloads the controller reads.
namespace ztp::source {

// The environment variable that overrides source.webhook_secret.
inline constexpr const char* k_webhook_secret_env = "ZTP_WEBHOOK_SECRET";

// The key deliveries are verified with: ZTP_WEBHOOK_SECRET when set and not empty, else
// source.webhook_secret; "" when neither is set (every webhook is then refused).
std::string webhook_secret(const spec::Source& source);

// Checks an `X-Hub-Signature-256` header ("sha256=<64 hex>") against the HMAC-SHA256 of `body`,
// comparing in constant time. invalid, saying what is wrong, for a missing or malformed header;
// refused when the signature does not match.
Result<void> verify_signature(std::string_view secret, std::string_view body,
                              std::string_view header);

// The repository ("owner/name") named by a remote URL whose path is two segments:
// git@github.com:octo/site.git, https://github.com/octo/site(.git),
// ssh://git@host[:port]/octo/site, git://host/octo/site; credentials and a trailing .git or / are
// ignored. nullopt for a local path, a file:// URL or a path of another shape (a GitLab subgroup).
std::optional<std::string> repository_of_url(std::string_view url);

// The repository whose pushes start runs: source.github_repository when set, else the one
// source.repo names (repository_of_url); nullopt when neither names one.
std::optional<std::string> webhook_repository(const spec::Source& source);

// Whether two "owner/name" names are the same repository: GitHub compares them ignoring case.
bool same_repository(std::string_view a, std::string_view b);

// One commit of a push, as the payload lists it.
struct PushCommit {
  std::string id;       // full SHA
  std::string message;  // the whole message
  std::string author;   // "Name <email>" (either part may be missing)
  std::vector<std::string> added;
  std::vector<std::string> modified;
  std::vector<std::string> removed;

  // The first line of the message, trimmed.
  std::string summary() const;
};

// The part of a `push` payload the controller acts on.
struct PushEvent {
  std::string ref;     // "refs/heads/main", "refs/tags/v1"
  std::string before;  // SHA before the push (all zeros for a new branch)
  std::string after;   // SHA after the push (all zeros when the ref was deleted)
  bool created = false;
  bool deleted = false;
  bool forced = false;
  std::vector<PushCommit> commits;        // oldest first, as GitHub sends them
  std::optional<PushCommit> head_commit;  // none for a deletion
  std::string repository;                 // repository.full_name, e.g. "octo/app"
  std::string clone_url;                  // repository.clone_url ("" when absent)

  // The branch of refs/heads/<branch>; nullopt for a tag or any other ref.
  std::optional<std::string> branch() const;
  bool is_tag() const { return ref.starts_with("refs/tags/"); }
  // Every path the pushed commits added, modified or removed (head_commit's when the list of
  // commits is empty), sorted and without repeats.
  std::vector<std::string> changed_paths() const;
};

// Parses a `push` payload. invalid naming the field for malformed JSON, a missing field
// (ref, before, after, repository, commits) or one of the wrong type.
Result<PushEvent> parse_push_event(std::string_view body);

// The part of a `ping` payload worth echoing.
struct PingEvent {
  std::string zen;
  int64_t hook_id = 0;
};

// Parses a `ping` payload; both fields are optional. invalid for malformed JSON.
Result<PingEvent> parse_ping_event(std::string_view body);

}  // namespace ztp::source
