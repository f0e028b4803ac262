#include "store/sqlite_store.hpp"

#include <fmt/format.h>

#include "store/migrations.hpp"
#include "util/fs.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_audit_columns = "id, at, actor, action, target, detail";

AuditEntry read_audit(const Statement& s) {
  return AuditEntry{s.int64(0), s.int64(1), s.text(2), s.text(3), s.text(4), s.text(5)};
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& db_path,
                                                       Clock& clock) {
  if (db_path.has_parent_path()) {
    ZTP_TRY(fs::ensure_dir(db_path.parent_path()));
  }
  ZTP_ASSIGN_OR_RETURN(auto db, Database::open(db_path));
  ZTP_TRY(migrate(db, latest_schema_version()));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), clock));
}

int64_t SqliteStore::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             m_clock->wall_now().time_since_epoch())
      .count();
}

Result<int> SqliteStore::schema_version() {
  std::lock_guard lock(m_mu);
  ZTP_ASSIGN_OR_RETURN(auto version, m_db.query_int("PRAGMA user_version", "read schema version"));
  return static_cast<int>(version);
}

Result<void> SqliteStore::integrity_check() {
  std::lock_guard lock(m_mu);
  auto rows = query_all(m_db, "check integrity", "PRAGMA integrity_check",
                        [](const Statement& s) { return s.text(0); });
  if (!rows.ok()) {
    return rows.take_error();
  }
  if (rows->size() == 1 && rows->front() == "ok") {
    return {};
  }
  std::string findings;
  for (const auto& row : *rows) {
    findings += findings.empty() ? "" : "; ";
    findings += row;
  }
  return make_error(Errc::internal,
                    fmt::format("{}: check integrity: the database is damaged ({}); restore it "
                                "from a backup",
                                path().string(), findings));
}

Result<AuditEntry> SqliteStore::append_audit(const std::string& actor, const std::string& action,
                                             const std::string& target, const std::string& detail) {
  std::lock_guard lock(m_mu);
  if (actor.empty() || action.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: append audit entry: actor and action are "
                                                 "required",
                                                 path().string()));
  }
  return in_transaction(m_db, "append audit entry", [&]() -> Result<AuditEntry> {
    return query_row(m_db, "append audit entry",
                     fmt::format("INSERT INTO audit (at, actor, action, target, detail) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {}",
                                 k_audit_columns),
                     read_audit, now_ms(), actor, action, target, detail);
  });
}

Result<std::vector<AuditEntry>> SqliteStore::list_audit(int limit) {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list audit entries",
                   fmt::format("SELECT {} FROM audit ORDER BY id DESC LIMIT ?1", k_audit_columns),
                   read_audit, sql_limit(limit));
}

}  // namespace ztp::store
