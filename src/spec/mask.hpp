#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"

// The credentials a spec may hold, and their masking wherever the spec is shown or copied
// (`ztp validate --output json`, evidence bundles).
namespace ztp::spec {

// What `mask_credentials` writes in place of a credential.
inline constexpr std::string_view k_masked = "(masked)";

// Every credential written in `spec`, longest first: source.webhook_secret; each notifier's
// secret and routing_key; a Slack webhook URL's path (the whole path is the credential); the
// query of a notification URL; the password in any URL's userinfo (source.repo, registry,
// notification URLs, check URLs), or the whole userinfo of an https URL that has no password (a
// token); the values of checks' Authorization, Proxy-Authorization and Cookie headers.
std::vector<std::string> credentials(const Spec& spec);

// `text` with every occurrence of each credential of `spec` replaced by k_masked. What
// validate prints and evidence copies both go through this one function.
std::string mask_credentials(const Spec& spec, std::string text);

}  // namespace ztp::spec
