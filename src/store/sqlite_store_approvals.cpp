// Approval gates.
#include <fmt/format.h>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_approval_columns =
    "id, run_id, env, status, requested_at, decided_at, decided_by, comment";

Result<Approval> read_approval(const Statement& s) {
  Approval a;
  a.id = s.int64(0);
  a.run_id = s.int64(1);
  a.env = s.text(2);
  ZTP_ASSIGN_OR_RETURN(a.status,
                       parsed_column(s, 3, "approvals", "approval status", parse_approval_status));
  a.requested_at = s.int64(4);
  a.decided_at = s.optional_int64(5);
  a.decided_by = s.text(6);
  a.comment = s.text(7);
  return a;
}

std::string where_env(const std::optional<std::string>& env) {
  return env ? fmt::format(" in {}", *env) : std::string();
}

}  // namespace

Result<Approval> SqliteStore::request_approval(int64_t run_id, const std::string& env) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("request approval of run {} for {}", run_id, env);
  if (env.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the environment is required",
                                                 path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<Approval> {
    auto run = get_run_locked(run_id);
    if (!run.ok()) {
      return run.take_error();
    }
    auto asked = query_one(m_db, operation,
                           fmt::format("SELECT {} FROM approvals WHERE run_id = ?1 AND env = ?2 "
                                       "ORDER BY id DESC LIMIT 1",
                                       k_approval_columns),
                           read_approval, run_id, env);
    if (!asked.ok()) {
      return asked.take_error();
    }
    if (*asked) {
      return std::move(**asked);
    }
    auto row = query_one(m_db, operation,
                         fmt::format("INSERT INTO approvals (run_id, env, status, requested_at) "
                                     "VALUES (?1, ?2, 'pending', ?3) RETURNING {}",
                                     k_approval_columns),
                         read_approval, run_id, env, now_ms());
    if (!row.ok()) {
      return row.take_error();
    }
    return std::move(**row);
  });
}

Result<Approval> SqliteStore::decide_approval(int64_t run_id, ApprovalStatus decision,
                                              const std::string& decided_by,
                                              const std::string& comment,
                                              const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("decide approval of run {}{}", run_id, where_env(env));
  if (decision == ApprovalStatus::pending) {
    return make_error(Errc::invalid,
                      fmt::format("{}: {}: the decision must be approved or rejected",
                                  path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<Approval> {
    // An ended run (superseded, rejected, done) leaves its pending approval behind: answering
    // it would record a decision nothing acts on.
    auto run = get_run_locked(run_id);
    if (!run.ok()) {
      return run.take_error();
    }
    if (is_final(run->status)) {
      return make_error(Errc::conflict,
                        fmt::format("run {} already ended {}{}; its gate can no longer be answered",
                                    run_id, to_string(run->status),
                                    run->reason.empty() ? std::string() : ": " + run->reason));
    }
    // The latest approval of the run decides what to answer: pending is decided now, anything
    // else was decided before.
    auto latest = query_one(m_db, operation,
                            fmt::format("SELECT {} FROM approvals WHERE run_id = ?1 AND (?2 IS "
                                        "NULL OR env = ?2) ORDER BY status = 'pending' DESC, id "
                                        "DESC LIMIT 1",
                                        k_approval_columns),
                            read_approval, run_id, env);
    if (!latest.ok()) {
      return latest.take_error();
    }
    if (!*latest) {
      return make_error(Errc::not_found,
                        fmt::format("run {} has no approval to decide{}; `ztp status` shows what "
                                    "waits for approval",
                                    run_id, where_env(env)));
    }
    const Approval& found = **latest;
    if (found.status != ApprovalStatus::pending) {
      return make_error(
          Errc::conflict,
          fmt::format("run {}: the approval for {} was already {}{}", run_id, found.env,
                      to_string(found.status),
                      found.decided_by.empty() ? std::string() : " by " + found.decided_by));
    }
    auto row =
        query_one(m_db, operation,
                  fmt::format("UPDATE approvals SET status = ?2, decided_at = ?3, "
                              "decided_by = ?4, comment = ?5 WHERE id = ?1 RETURNING {}",
                              k_approval_columns),
                  read_approval, found.id, to_string(decision), now_ms(), decided_by, comment);
    if (!row.ok()) {
      return row.take_error();
    }
    return std::move(**row);
  });
}

Result<Approval> SqliteStore::get_approval(int64_t run_id, const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  auto row = query_one(m_db, fmt::format("read approval of run {}{}", run_id, where_env(env)),
                       fmt::format("SELECT {} FROM approvals WHERE run_id = ?1 AND (?2 IS NULL "
                                   "OR env = ?2) ORDER BY id DESC LIMIT 1",
                                   k_approval_columns),
                       read_approval, run_id, env);
  if (!row.ok()) {
    return row.take_error();
  }
  if (!*row) {
    return make_error(Errc::not_found,
                      fmt::format("run {} has no approval{}", run_id, where_env(env)));
  }
  return std::move(**row);
}

Result<std::vector<Approval>> SqliteStore::list_pending_approvals() {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list pending approvals",
                   fmt::format("SELECT {} FROM approvals WHERE status = 'pending' ORDER BY id",
                               k_approval_columns),
                   read_approval);
}

}  // namespace ztp::store
