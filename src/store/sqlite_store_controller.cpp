// API tokens, webhook deliveries and notifications: what the controller records.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_token_columns =
    "id, name, role, token_hash, created_at, last_used_at, revoked_at";

Result<ApiToken> read_token(const Statement& s) {
  ApiToken t;
  ZTP_TRY(read_columns(s, t.id, t.name, parsed(t.role, "api_tokens", "role", parse_role),
                       t.token_hash, t.created_at, t.last_used_at, t.revoked_at));
  return t;
}

constexpr std::string_view k_delivery_columns = "delivery_id, event, outcome, run_id, received_at";

WebhookDelivery read_delivery(const Statement& s) {
  return WebhookDelivery{s.text(0), s.text(1), s.text(2), s.optional_int64(3), s.int64(4)};
}

constexpr std::string_view k_notification_columns =
    "id, channel, event, env, run_id, status = 'delivered', attempts, error, payload, at";

Result<Notification> read_notification(const Statement& s) {
  Notification n;
  ZTP_TRY(read_columns(s, n.id, n.channel, n.event, n.env, n.run_id, n.delivered, n.attempts,
                       n.error, n.payload, n.at));
  return n;
}

}  // namespace

Result<ApiToken> SqliteStore::create_token(const std::string& name, Role role,
                                           const std::string& token_hash) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("create token {}", name);
  if (name.empty() || token_hash.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the name and the token hash are "
                                                 "required",
                                                 path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<ApiToken> {
    auto existing = query_one(
        m_db, operation, fmt::format("SELECT {} FROM api_tokens WHERE name = ?1", k_token_columns),
        read_token, name);
    if (!existing.ok()) {
      return existing.take_error();
    }
    if (*existing) {
      return make_error(Errc::conflict,
                        fmt::format("a token named '{}' exists already{}; choose another name, "
                                    "or `ztp token revoke {}` first",
                                    name, (*existing)->revoked_at ? " (revoked)" : "", name));
    }
    return query_row(m_db, operation,
                     fmt::format("INSERT INTO api_tokens (name, role, token_hash, created_at) "
                                 "VALUES (?1, ?2, ?3, ?4) RETURNING {}",
                                 k_token_columns),
                     read_token, name, to_string(role), token_hash, now_ms());
  });
}

Result<std::optional<ApiToken>> SqliteStore::use_token(const std::string& token_hash) {
  std::lock_guard lock(m_mu);
  return query_one(m_db, "authenticate a token",
                   fmt::format("UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1 "
                               "AND revoked_at IS NULL RETURNING {}",
                               k_token_columns),
                   read_token, token_hash, now_ms());
}

Result<std::vector<ApiToken>> SqliteStore::list_tokens() {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list tokens",
                   fmt::format("SELECT {} FROM api_tokens ORDER BY name", k_token_columns),
                   read_token);
}

Result<ApiToken> SqliteStore::revoke_token(const std::string& name) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("revoke token {}", name);
  return in_transaction(m_db, operation, [&]() -> Result<ApiToken> {
    ZTP_ASSIGN_OR_RETURN(
        auto existing,
        or_not_found(
            query_one(m_db, operation,
                      fmt::format("SELECT {} FROM api_tokens WHERE name = ?1", k_token_columns),
                      read_token, name),
            [&] {
              return fmt::format("there is no token named '{}'; `ztp token list` shows the tokens",
                                 name);
            }));
    if (existing.revoked_at) {
      return make_error(Errc::conflict, fmt::format("token '{}' was already revoked", name));
    }
    return query_row(m_db, operation,
                     fmt::format("UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 "
                                 "RETURNING {}",
                                 k_token_columns),
                     read_token, name, now_ms());
  });
}

Result<bool> SqliteStore::record_webhook_delivery(const std::string& delivery_id,
                                                  const std::string& event) {
  std::lock_guard lock(m_mu);
  if (delivery_id.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: record webhook delivery: the delivery id "
                                                 "is required",
                                                 path().string()));
  }
  ZTP_ASSIGN_OR_RETURN(
      auto changed,
      execute(m_db, fmt::format("record webhook delivery {}", delivery_id),
              "INSERT INTO webhook_deliveries (delivery_id, event, received_at) VALUES "
              "(?1, ?2, ?3) ON CONFLICT (delivery_id) DO NOTHING",
              delivery_id, event, now_ms()));
  return changed > 0;
}

Result<void> SqliteStore::set_webhook_outcome(const std::string& delivery_id,
                                              const std::string& outcome,
                                              std::optional<int64_t> run_id) {
  std::lock_guard lock(m_mu);
  ZTP_ASSIGN_OR_RETURN(
      auto changed, execute(m_db, fmt::format("note outcome of webhook delivery {}", delivery_id),
                            "UPDATE webhook_deliveries SET outcome = ?2, run_id = ?3 WHERE "
                            "delivery_id = ?1",
                            delivery_id, outcome, run_id));
  if (changed == 0) {
    return make_error(Errc::not_found,
                      fmt::format("there is no webhook delivery '{}'", delivery_id));
  }
  return {};
}

Result<std::vector<WebhookDelivery>> SqliteStore::list_webhook_deliveries(int limit) {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list webhook deliveries",
                   fmt::format("SELECT {} FROM webhook_deliveries ORDER BY received_at DESC, "
                               "rowid DESC LIMIT ?1",
                               k_delivery_columns),
                   read_delivery, sql_limit(limit));
}

Result<bool> SqliteStore::claim_notification(int64_t event_id, const std::string& notifier) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("claim event {} for notifier {}", event_id, notifier);
  if (notifier.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the notifier key is required",
                                                 path().string(), operation));
  }
  ZTP_ASSIGN_OR_RETURN(auto changed,
                       execute(m_db, operation,
                               "INSERT INTO notification_claims (event_id, notifier, at) VALUES "
                               "(?1, ?2, ?3) ON CONFLICT (event_id, notifier) DO NOTHING",
                               event_id, notifier, now_ms()));
  return changed > 0;
}

Result<Notification> SqliteStore::record_notification(const NewNotification& n) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("record {} notification to {}", n.event, n.channel);
  if (n.channel.empty() || n.event.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the channel and the event are required",
                                                 path().string(), operation));
  }
  if (!nlohmann::json::accept(n.payload)) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the payload is not valid JSON",
                                                 path().string(), operation));
  }
  return query_row(m_db, operation,
                   fmt::format("INSERT INTO notifications (channel, event, env, run_id, "
                               "status, attempts, error, payload, at) VALUES (?1, ?2, ?3, ?4, "
                               "?5, ?6, ?7, ?8, ?9) RETURNING {}",
                               k_notification_columns),
                   read_notification, n.channel, n.event, n.env, n.run_id,
                   n.delivered ? "delivered" : "failed", n.attempts, n.error, n.payload, now_ms());
}

Result<std::vector<Notification>> SqliteStore::list_notifications(
    const NotificationFilter& filter) {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list notifications",
                   fmt::format("SELECT {} FROM notifications WHERE (?1 IS NULL OR channel = ?1) "
                               "AND (?2 IS NULL OR env = ?2) ORDER BY id DESC LIMIT ?3",
                               k_notification_columns),
                   read_notification, filter.channel, filter.env, sql_limit(filter.limit));
}

}  // namespace ztp::store
