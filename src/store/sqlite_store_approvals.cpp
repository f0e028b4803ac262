// Approval gates.
#include <fmt/format.h>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_approval_columns =
    "id, run_id, env, status, requested_at, decided_at, decided_by, comment";

Result<Approval> read_approval(const Statement& s) {
  Approval a;
  ZTP_TRY(read_columns(s, a.id, a.run_id, a.env,
                       parsed(a.status, "approvals", "approval status", parse_approval_status),
                       a.requested_at, a.decided_at, a.decided_by, a.comment));
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
    ZTP_TRY(get_run_locked(run_id));
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
    return query_row(m_db, operation,
                     fmt::format("INSERT INTO approvals (run_id, env, status, requested_at) "
                                 "VALUES (?1, ?2, 'pending', ?3) RETURNING {}",
                                 k_approval_columns),
                     read_approval, run_id, env, now_ms());
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
    ZTP_ASSIGN_OR_RETURN(auto run, get_run_locked(run_id));
    if (is_final(run.status)) {
      return make_error(Errc::conflict,
                        fmt::format("run {} already ended {}{}; its gate can no longer be answered",
                                    run_id, to_string(run.status),
                                    run.reason.empty() ? std::string() : ": " + run.reason));
    }
    // The latest approval of the run decides what to answer: pending is decided now, anything
    // else was decided before.
    auto latest = or_not_found(
        query_one(m_db, operation,
                  fmt::format("SELECT {} FROM approvals WHERE run_id = ?1 AND (?2 IS NULL OR "
                              "env = ?2) ORDER BY status = 'pending' DESC, id DESC LIMIT 1",
                              k_approval_columns),
                  read_approval, run_id, env),
        [&] {
          return fmt::format(
              "run {} has no approval to decide{}; `ztp status` shows what "
              "waits for approval",
              run_id, where_env(env));
        });
    if (!latest.ok()) {
      return latest.take_error();
    }
    const Approval& found = *latest;
    if (found.status != ApprovalStatus::pending) {
      return make_error(
          Errc::conflict,
          fmt::format("run {}: the approval for {} was already {}{}", run_id, found.env,
                      to_string(found.status),
                      found.decided_by.empty() ? std::string() : " by " + found.decided_by));
    }
    return query_row(m_db, operation,
                     fmt::format("UPDATE approvals SET status = ?2, decided_at = ?3, "
                                 "decided_by = ?4, comment = ?5 WHERE id = ?1 RETURNING {}",
                                 k_approval_columns),
                     read_approval, found.id, to_string(decision), now_ms(), decided_by, comment);
  });
}

Result<Approval> SqliteStore::get_approval(int64_t run_id, const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  return or_not_found(
      query_one(m_db, fmt::format("read approval of run {}{}", run_id, where_env(env)),
                fmt::format("SELECT {} FROM approvals WHERE run_id = ?1 AND (?2 IS NULL OR "
                            "env = ?2) ORDER BY id DESC LIMIT 1",
                            k_approval_columns),
                read_approval, run_id, env),
      [&] { return fmt::format("run {} has no approval{}", run_id, where_env(env)); });
}

Result<std::vector<Approval>> SqliteStore::list_pending_approvals() {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list pending approvals",
                   fmt::format("SELECT {} FROM approvals WHERE status = 'pending' ORDER BY id",
                               k_approval_columns),
                   read_approval);
}

}  // namespace ztp::store
