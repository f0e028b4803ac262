// Runs, their stages and events.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_run_columns =
    "id, app, commit_sha, short_sha, \"trigger\", status, reason, created_at, updated_at, "
    "finished_at, digest, until_env, interrupted";

Result<Run> read_run(const Statement& s) {
  Run r;
  ZTP_TRY(read_columns(s, r.id, r.app, r.commit_sha, r.short_sha,
                       parsed(r.trigger, "runs", "trigger", parse_trigger),
                       parsed(r.status, "runs", "run status", parse_run_status), r.reason,
                       r.created_at, r.updated_at, r.finished_at, r.digest, r.until_env,
                       r.interrupted));
  return r;
}

constexpr std::string_view k_stage_columns =
    "id, run_id, name, env, status, detail, started_at, finished_at";

Result<Stage> read_stage(const Statement& s) {
  Stage st;
  ZTP_TRY(read_columns(s, st.id, st.run_id, st.name, st.env,
                       parsed(st.status, "stages", "stage status", parse_stage_status), st.detail,
                       st.started_at, st.finished_at));
  return st;
}

constexpr std::string_view k_event_columns = "id, run_id, env, kind, message, data, at";

Event read_event(const Statement& s) {
  return Event{s.int64(0), s.optional_int64(1), s.optional_text(2), s.text(3),
               s.text(4),  s.text(5),           s.int64(6)};
}

}  // namespace

Result<Run> SqliteStore::get_run_locked(int64_t id) {
  return or_not_found(
      query_one(m_db, fmt::format("read run {}", id),
                fmt::format("SELECT {} FROM runs WHERE id = ?1", k_run_columns), read_run, id),
      [&] {
        return fmt::format("run {} does not exist in {}; `ztp history` lists the runs", id,
                           path().string());
      });
}

Result<Run> SqliteStore::create_run(const NewRun& run) {
  std::lock_guard lock(m_mu);
  if (run.app.empty() || run.commit_sha.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: create run: the app and the commit are "
                                                 "required",
                                                 path().string()));
  }
  return in_transaction(m_db, "create run", [&]() -> Result<Run> {
    int64_t now = now_ms();
    return query_row(
        m_db, "create run",
        fmt::format("INSERT INTO runs (app, commit_sha, short_sha, \"trigger\", status, reason, "
                    "created_at, updated_at, until_env) VALUES (?1, ?2, ?3, ?4, 'queued', '', "
                    "?5, ?5, ?6) RETURNING {}",
                    k_run_columns),
        read_run, run.app, run.commit_sha, run.short_sha, to_string(run.trigger), now,
        run.until_env);
  });
}

Result<Run> SqliteStore::get_run(int64_t id) {
  std::lock_guard lock(m_mu);
  return get_run_locked(id);
}

Result<Run> SqliteStore::update_run_status(int64_t id, RunStatus status,
                                           const std::string& reason) {
  std::lock_guard lock(m_mu);
  return update_run_status_locked(id, status, reason, false);
}

Result<Run> SqliteStore::end_interrupted_run(int64_t id, RunStatus status,
                                             const std::string& reason) {
  std::lock_guard lock(m_mu);
  if (!is_final(status)) {
    return make_error(Errc::invalid, fmt::format("{}: run {} cannot end interrupted as {}",
                                                 path().string(), id, to_string(status)));
  }
  return update_run_status_locked(id, status, reason, true);
}

Result<Run> SqliteStore::update_run_status_locked(int64_t id, RunStatus status,
                                                  const std::string& reason, bool interrupted) {
  std::string operation = fmt::format("update run {}", id);
  return in_transaction(m_db, operation, [&]() -> Result<Run> {
    ZTP_ASSIGN_OR_RETURN(auto run, get_run_locked(id));
    if (is_final(run.status)) {
      return make_error(Errc::conflict,
                        fmt::format("run {} already finished as {}; it cannot become {}", id,
                                    to_string(run.status), to_string(status)));
    }
    int64_t now = now_ms();
    auto finished = is_final(status) ? std::optional(now) : std::nullopt;
    return query_row(m_db, operation,
                     fmt::format("UPDATE runs SET status = ?2, reason = ?3, updated_at = ?4, "
                                 "finished_at = ?5, interrupted = ?6 WHERE id = ?1 "
                                 "RETURNING {}",
                                 k_run_columns),
                     read_run, id, to_string(status), reason, now, finished, interrupted);
  });
}

Result<Run> SqliteStore::set_run_digest(int64_t id, const std::string& digest) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("record the image of run {}", id);
  return in_transaction(m_db, operation, [&]() -> Result<Run> {
    return or_not_found(
        query_one(m_db, operation,
                  fmt::format("UPDATE runs SET digest = ?2, updated_at = ?3 WHERE id = ?1 "
                              "RETURNING {}",
                              k_run_columns),
                  read_run, id, digest, now_ms()),
        [&] { return fmt::format("run {} does not exist in {}", id, path().string()); });
  });
}

Result<std::vector<Run>> SqliteStore::list_runs(const RunFilter& filter) {
  std::lock_guard lock(m_mu);
  std::optional<std::string> status;
  if (filter.status) {
    status = std::string(to_string(*filter.status));
  }
  std::optional<int64_t> interrupted;
  if (filter.interrupted) {
    interrupted = *filter.interrupted ? 1 : 0;
  }
  return query_all(
      m_db, "list runs",
      fmt::format("SELECT {} FROM runs WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM stages "
                  "WHERE stages.run_id = runs.id AND stages.env = ?1)) AND (?2 IS NULL OR "
                  "status = ?2) AND (?3 IS NULL OR id < ?3) AND (?5 IS NULL OR interrupted = ?5) "
                  "ORDER BY id DESC LIMIT ?4",
                  k_run_columns),
      read_run, filter.env, status, filter.before_id, sql_limit(filter.limit), interrupted);
}

Result<std::optional<Run>> SqliteStore::latest_run(const std::optional<std::string>& env) {
  RunFilter filter;
  filter.limit = 1;
  filter.env = env;
  ZTP_ASSIGN_OR_RETURN(auto runs, list_runs(filter));
  if (runs.empty()) {
    return std::optional<Run>();
  }
  return std::optional<Run>(std::move(runs.front()));
}

Result<Stage> SqliteStore::get_stage_locked(int64_t id) {
  return or_not_found(
      query_one(m_db, fmt::format("read stage {}", id),
                fmt::format("SELECT {} FROM stages WHERE id = ?1", k_stage_columns), read_stage,
                id),
      [&] { return fmt::format("stage {} does not exist in {}", id, path().string()); });
}

Result<Stage> SqliteStore::start_stage(int64_t run_id, const std::string& name,
                                       const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("start stage {} of run {}", name, run_id);
  if (name.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: {}: the stage needs a name", path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<Stage> {
    ZTP_TRY(get_run_locked(run_id));
    return query_row(m_db, operation,
                     fmt::format("INSERT INTO stages (run_id, name, env, status, detail, "
                                 "started_at) VALUES (?1, ?2, ?3, 'running', '', ?4) "
                                 "RETURNING {}",
                                 k_stage_columns),
                     read_stage, run_id, name, env, now_ms());
  });
}

Result<Stage> SqliteStore::finish_stage(int64_t stage_id, StageStatus status,
                                        const std::string& detail) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("finish stage {}", stage_id);
  if (!is_final(status)) {
    return make_error(Errc::invalid,
                      fmt::format("{}: {}: {} is not a final status (succeeded, failed, skipped)",
                                  path().string(), operation, to_string(status)));
  }
  return in_transaction(m_db, operation, [&]() -> Result<Stage> {
    ZTP_ASSIGN_OR_RETURN(auto stage, get_stage_locked(stage_id));
    if (is_final(stage.status)) {
      return make_error(Errc::conflict,
                        fmt::format("stage {} ({} of run {}) already ended as {}", stage_id,
                                    stage.name, stage.run_id, to_string(stage.status)));
    }
    return query_row(m_db, operation,
                     fmt::format("UPDATE stages SET status = ?2, detail = ?3, finished_at = "
                                 "?4 WHERE id = ?1 RETURNING {}",
                                 k_stage_columns),
                     read_stage, stage_id, to_string(status), detail, now_ms());
  });
}

Result<std::vector<Stage>> SqliteStore::list_stages(int64_t run_id) {
  std::lock_guard lock(m_mu);
  return query_all(
      m_db, fmt::format("list stages of run {}", run_id),
      fmt::format("SELECT {} FROM stages WHERE run_id = ?1 ORDER BY id", k_stage_columns),
      read_stage, run_id);
}

Result<std::map<RunStatus, int64_t>> SqliteStore::count_runs_by_status() {
  std::lock_guard lock(m_mu);
  auto rows =
      query_all(m_db, "count runs by status", "SELECT status, COUNT(*) FROM runs GROUP BY status",
                [](const Statement& s) { return std::pair(s.text(0), s.int64(1)); });
  if (!rows.ok()) {
    return rows.take_error();
  }
  std::map<RunStatus, int64_t> out;
  for (const auto& [text, n] : *rows) {
    if (auto status = parse_run_status(text)) {
      out[*status] += n;
    }
  }
  return out;
}

Result<std::vector<StageDurations>> SqliteStore::stage_durations(
    const std::vector<int64_t>& bounds_ms) {
  std::string at_most;
  for (int64_t bound : bounds_ms) {
    at_most += fmt::format(", SUM(d <= {})", bound);
  }
  // MIN(id) is a row of the group, for the error of a damaged status.
  std::string sql = fmt::format(
      "SELECT MIN(id), name, COALESCE(env, ''), status, COUNT(*), SUM(d){} FROM (SELECT id, "
      "name, env, status, finished_at - started_at AS d FROM stages WHERE started_at IS NOT "
      "NULL AND finished_at IS NOT NULL) GROUP BY 2, 3, 4 ORDER BY 2, 3, 4",
      at_most);
  auto read = [bounds = bounds_ms.size()](const Statement& s) -> Result<StageDurations> {
    StageDurations d;
    int64_t id = 0;
    ZTP_TRY(read_columns(s, id, d.name, d.env,
                         parsed(d.status, "stages", "stage status", parse_stage_status), d.count,
                         d.total_ms));
    for (size_t i = 0; i < bounds; ++i) {
      d.at_most.push_back(s.int64(static_cast<int>(6 + i)));
    }
    return d;
  };
  std::lock_guard lock(m_mu);
  return query_all(m_db, "sum up stage durations", sql, read);
}

Result<Event> SqliteStore::append_event(const NewEvent& event) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("append event {}", event.kind);
  if (event.kind.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: append event: the event needs a kind", path().string()));
  }
  if (!nlohmann::json::accept(event.data)) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the event data is not valid JSON",
                                                 path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<Event> {
    if (event.run_id) {
      ZTP_TRY(get_run_locked(*event.run_id));
    }
    return query_row(m_db, operation,
                     fmt::format("INSERT INTO events (run_id, env, kind, message, data, at) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {}",
                                 k_event_columns),
                     read_event, event.run_id, event.env, event.kind, event.message, event.data,
                     now_ms());
  });
}

Result<std::vector<Event>> SqliteStore::list_events(const EventFilter& filter) {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list events",
                   fmt::format("SELECT {} FROM events WHERE id > ?1 AND (?2 IS NULL OR run_id = "
                               "?2) AND (?3 IS NULL OR env = ?3) ORDER BY id LIMIT ?4",
                               k_event_columns),
                   read_event, filter.after_id, filter.run_id, filter.env, sql_limit(filter.limit));
}

Result<int64_t> SqliteStore::latest_event_id() {
  std::lock_guard lock(m_mu);
  return m_db.query_int("SELECT COALESCE(MAX(id), 0) FROM events", "read the newest event id");
}

}  // namespace ztp::store
