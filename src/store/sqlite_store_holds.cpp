// Freezes, isolations and drift reports: what the incident tools record.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

EnvHold read_hold(const Statement& s) {
  return EnvHold{s.text(0), s.text(1), s.text(2), s.int64(3)};
}

constexpr std::string_view k_drift_columns =
    "id, env, in_sync, findings, fixed, \"trigger\", report, markdown, at";

Result<DriftReport> read_drift(const Statement& s) {
  DriftReport d;
  ZTP_TRY(read_columns(s, d.id, d.env, d.in_sync, d.findings, d.fixed, d.trigger, d.report,
                       d.markdown, d.at));
  return d;
}

// freezes and isolations share one shape; `table` is one of the two names, never user input.
Result<EnvHold> set_hold(Database& db, std::string_view table, std::string_view what,
                         const std::string& env, const std::string& reason,
                         const std::string& actor, int64_t now) {
  std::string operation = fmt::format("{} {}", what, env);
  if (env.empty() || reason.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the environment and a reason are "
                                                 "required",
                                                 db.path().string(), operation));
  }
  return query_row(db, operation,
                   fmt::format("INSERT INTO {} (env, reason, actor, at) VALUES (?1, ?2, ?3, "
                               "?4) ON CONFLICT (env) DO UPDATE SET reason = excluded.reason, "
                               "actor = excluded.actor, at = excluded.at RETURNING env, "
                               "reason, actor, at",
                               table),
                   read_hold, env, reason, actor, now);
}

Result<bool> clear_hold(Database& db, std::string_view table, std::string_view what,
                        const std::string& env) {
  ZTP_ASSIGN_OR_RETURN(auto changed,
                       execute(db, fmt::format("{} {}", what, env),
                               fmt::format("DELETE FROM {} WHERE env = ?1", table), env));
  return changed > 0;
}

Result<std::optional<EnvHold>> get_hold(Database& db, std::string_view table,
                                        const std::string& env) {
  return query_one(db, fmt::format("read {} of {}", table, env),
                   fmt::format("SELECT env, reason, actor, at FROM {} WHERE env = ?1", table),
                   read_hold, env);
}

Result<std::vector<EnvHold>> list_holds(Database& db, std::string_view table) {
  return query_all(db, fmt::format("list {}", table),
                   fmt::format("SELECT env, reason, actor, at FROM {} ORDER BY env", table),
                   read_hold);
}

}  // namespace

Result<EnvHold> SqliteStore::set_freeze(const std::string& env, const std::string& reason,
                                        const std::string& actor) {
  std::lock_guard lock(m_mu);
  return set_hold(m_db, "freezes", "freeze", env, reason, actor, now_ms());
}

Result<bool> SqliteStore::clear_freeze(const std::string& env) {
  std::lock_guard lock(m_mu);
  return clear_hold(m_db, "freezes", "unfreeze", env);
}

Result<std::optional<EnvHold>> SqliteStore::get_freeze(const std::string& env) {
  std::lock_guard lock(m_mu);
  return get_hold(m_db, "freezes", env);
}

Result<std::vector<EnvHold>> SqliteStore::list_freezes() {
  std::lock_guard lock(m_mu);
  return list_holds(m_db, "freezes");
}

Result<EnvHold> SqliteStore::set_isolation(const std::string& env, const std::string& reason,
                                           const std::string& actor) {
  std::lock_guard lock(m_mu);
  return set_hold(m_db, "isolations", "isolate", env, reason, actor, now_ms());
}

Result<bool> SqliteStore::clear_isolation(const std::string& env) {
  std::lock_guard lock(m_mu);
  return clear_hold(m_db, "isolations", "restore", env);
}

Result<std::optional<EnvHold>> SqliteStore::get_isolation(const std::string& env) {
  std::lock_guard lock(m_mu);
  return get_hold(m_db, "isolations", env);
}

Result<std::vector<EnvHold>> SqliteStore::list_isolations() {
  std::lock_guard lock(m_mu);
  return list_holds(m_db, "isolations");
}

Result<DriftReport> SqliteStore::save_drift_report(const NewDriftReport& report) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("save drift report of {}", report.env);
  if (report.env.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the environment is required",
                                                 path().string(), operation));
  }
  if (!nlohmann::json::accept(report.report)) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the report is not valid JSON",
                                                 path().string(), operation));
  }
  return query_row(m_db, operation,
                   fmt::format("INSERT INTO drift_reports (env, in_sync, findings, fixed, "
                               "\"trigger\", report, markdown, at) VALUES (?1, ?2, ?3, ?4, "
                               "?5, ?6, ?7, ?8) RETURNING {}",
                               k_drift_columns),
                   read_drift, report.env, report.in_sync, report.findings, report.fixed,
                   report.trigger, report.report, report.markdown, now_ms());
}

Result<std::vector<DriftReport>> SqliteStore::list_drift_reports(
    const std::optional<std::string>& env, int limit) {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list drift reports",
                   fmt::format("SELECT {} FROM drift_reports WHERE (?1 IS NULL OR env = ?1) "
                               "ORDER BY id DESC LIMIT ?2",
                               k_drift_columns),
                   read_drift, env, sql_limit(limit));
}

}  // namespace ztp::store
