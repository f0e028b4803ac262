#include "notify/payloads.hpp"

#include <fmt/format.h>

#include <ctime>

#include "sys/crypto.hpp"
#include "sys/time.hpp"

namespace ztp::notify {
namespace {

constexpr size_t k_summary_max = 1024;  // PagerDuty's payload.summary limit
constexpr size_t k_dedup_max = 255;

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// When `n` happened, as RFC 3339 to the second.
std::string at_text(const Notice& n) {
  return sys::format_rfc3339(sys::from_unix_ms(n.at), sys::TimePrecision::seconds);
}

std::string_view slack_mark(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::run_started:
      return ":arrow_forward:";
    case NoticeKind::run_succeeded:
      return ":white_check_mark:";
    case NoticeKind::run_failed:
      return ":x:";
    case NoticeKind::awaiting_approval:
      return ":raised_hand:";
    case NoticeKind::rolled_back:
      return ":rewind:";
    case NoticeKind::drift_found:
      return ":warning:";
  }
  return "";
}

// A failure the pipeline met is an error; a rollback someone asked for is their action, not a
// failure: a warning in production, information elsewhere.
std::string_view severity(const Notice& n) {
  if (n.kind == NoticeKind::rolled_back && n.manual) {
    return n.production ? "warning" : "info";
  }
  return n.kind == NoticeKind::run_failed || n.kind == NoticeKind::rolled_back ? "error"
                                                                               : "warning";
}

// Adds `key` to `j` when `value` is not empty: absent rather than "".
void add_text(nlohmann::json& j, const char* key, const std::string& value) {
  if (!value.empty()) {
    j[key] = value;
  }
}

}  // namespace

nlohmann::json slack_message(const Notice& n) {
  std::string text = fmt::format("{} {}", slack_mark(n.kind), headline(n));
  std::vector<std::string> facts{fmt::format("*event* {}", to_string(n.kind))};
  if (n.env) {
    facts.push_back(fmt::format("*env* {}", *n.env));
  }
  if (n.run_id) {
    facts.push_back(fmt::format("*run* {}", *n.run_id));
  }
  if (!n.short_sha.empty()) {
    facts.push_back(fmt::format("*commit* `{}`", n.short_sha));
  }
  if (!n.actor.empty()) {
    facts.push_back(fmt::format("*by* {}", n.actor));
  }
  if (!n.reason.empty()) {
    facts.push_back(fmt::format("*why* {}", n.reason));
  }
  facts.push_back(at_text(n));
  nlohmann::json context = nlohmann::json::array();
  for (const auto& f : facts) {
    context.push_back({{"type", "mrkdwn"}, {"text", f}});
  }
  return {{"text", text},
          {"blocks",
           {{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}},
            {{"type", "context"}, {"elements", context}}}}};
}

std::string dedup_key(const std::string& app, const std::optional<std::string>& env) {
  std::string key = fmt::format("ztp/{}/{}", app, env ? *env : std::string("pipeline"));
  return key.substr(0, k_dedup_max);
}

nlohmann::json pagerduty_event(const Notice& n, const std::string& routing_key,
                               IncidentAction action, const std::optional<std::string>& env) {
  nlohmann::json j{{"routing_key", routing_key},
                   {"dedup_key", dedup_key(n.app, env)},
                   {"event_action", action == IncidentAction::trigger ? "trigger" : "resolve"}};
  if (action == IncidentAction::resolve) {
    return j;
  }
  nlohmann::json details{
      {"event", to_string(n.kind)}, {"run_id", optional_json(n.run_id)}, {"message", n.message}};
  add_text(details, "commit", n.commit_sha);
  add_text(details, "actor", n.actor);
  add_text(details, "reason", n.reason);
  j["payload"] = {{"summary", headline(n).substr(0, k_summary_max)},
                  {"source", env ? fmt::format("{}/{}", n.app, *env) : n.app},
                  {"severity", severity(n)},
                  {"timestamp", at_text(n)},
                  {"component", n.app},
                  {"group", env ? *env : std::string("pipeline")},
                  {"class", to_string(n.kind)},
                  {"custom_details", details}};
  j["client"] = "ztp";
  return j;
}

nlohmann::json webhook_body(const Notice& n) {
  nlohmann::json j{{"event", to_string(n.kind)},
                   {"app", n.app},
                   {"env", optional_json(n.env)},
                   {"run_id", optional_json(n.run_id)},
                   {"message", n.message},
                   {"headline", headline(n)},
                   {"at", at_text(n)},
                   {"at_ms", n.at},
                   {"event_id", n.event_id}};
  add_text(j, "commit", n.commit_sha);
  add_text(j, "short_sha", n.short_sha);
  if (n.kind == NoticeKind::rolled_back) {
    j["manual"] = n.manual;
  }
  add_text(j, "actor", n.actor);
  add_text(j, "reason", n.reason);
  return j;
}

HttpRequest json_request(const std::string& url, const nlohmann::json& body) {
  return {url, {{"Content-Type", "application/json"}}, body.dump()};
}

HttpRequest webhook_request(const Notice& n, const spec::Notifier& notifier) {
  HttpRequest req = json_request(notifier.url, webhook_body(n));
  req.headers.emplace_back("X-Ztp-Event", std::string(to_string(n.kind)));
  req.headers.emplace_back("X-Ztp-Delivery", fmt::format("{}-{}", n.event_id, to_string(n.kind)));
  if (!notifier.secret.empty()) {
    req.headers.emplace_back(std::string(k_signature_header),
                             "sha256=" + sys::hmac_sha256_hex(notifier.secret, req.body));
  }
  return req;
}

}  // namespace ztp::notify
