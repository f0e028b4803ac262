#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "notify/notice.hpp"
#include "spec/spec.hpp"

// The bodies and headers each channel sends; docs/notifications.md shows them.
namespace ztp::notify {

// One POST to make.
struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The Events API v2 endpoint, used when a pagerduty notifier names no url.
inline constexpr std::string_view k_pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
// The header of a generic webhook that carries "sha256=<hex HMAC-SHA256(secret, body)>".
inline constexpr std::string_view k_signature_header = "X-Ztp-Signature-256";

// A Slack incoming-webhook message: {"text": headline} with the details as blocks.
nlohmann::json slack_message(const Notice& n);

// What a PagerDuty event does to the incident of its dedup key.
enum class IncidentAction { trigger, resolve };

// The incident key of `env` (nullopt: failures before any environment, e.g. the build):
// "ztp/<app>/<env>" or "ztp/<app>/pipeline", at most 255 characters.
std::string dedup_key(const std::string& app, const std::optional<std::string>& env);

// A PagerDuty Events API v2 alert event. A trigger carries payload.{summary, source, severity,
// timestamp, component, group, class, custom_details}; a resolve only routing_key, dedup_key
// and event_action. Severity: error for a failed run or an automatic rollback; for a manual
// rollback warning in production, info elsewhere. custom_details leaves out the fields that
// do not apply (commit without a run; actor and reason but for a manual rollback).
nlohmann::json pagerduty_event(const Notice& n, const std::string& routing_key,
                               IncidentAction action, const std::optional<std::string>& env);

// The JSON a generic webhook receives: event, app, env, run_id, commit, short_sha, message,
// headline, at (ISO 8601 UTC), at_ms, event_id; for rolled_back also manual, and for a manual
// one actor and reason. commit and short_sha are absent when there is no commit.
nlohmann::json webhook_body(const Notice& n);

// The POST of a generic webhook: JSON body, X-Ztp-Event, X-Ztp-Delivery and, when the notifier
// has a secret, X-Ztp-Signature-256.
HttpRequest webhook_request(const Notice& n, const spec::Notifier& notifier);

// A request carrying `body` as JSON to `url`.
HttpRequest json_request(const std::string& url, const nlohmann::json& body);

}  // namespace ztp::notify
