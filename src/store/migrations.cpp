#include "store/migrations.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>

#include "util/fs.hpp"

namespace ztp::store {
namespace {

// v1: what a run needs: runs, their stages and events, and the releases they create.
constexpr std::string_view k_v1_runs_and_releases = R"sql(
CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at INTEGER NOT NULL
);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  app         TEXT NOT NULL,
  commit_sha  TEXT NOT NULL,
  short_sha   TEXT NOT NULL,
  "trigger"   TEXT NOT NULL CHECK ("trigger" IN ('manual', 'poll', 'webhook', 'deploy')),
  status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'awaiting_approval',
                'succeeded', 'failed', 'rolled_back', 'cancelled')),
  reason      TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX runs_by_status ON runs (status, id);

CREATE TABLE stages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  env         TEXT,
  status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed',
                'skipped')),
  detail      TEXT NOT NULL DEFAULT '',
  started_at  INTEGER,
  finished_at INTEGER
);
CREATE INDEX stages_by_run ON stages (run_id, id);
CREATE INDEX stages_by_env ON stages (env, run_id);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id  INTEGER REFERENCES runs (id) ON DELETE CASCADE,
  env     TEXT,
  kind    TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  data    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
  at      INTEGER NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, id);
CREATE INDEX events_by_env ON events (env, id);

CREATE TABLE releases (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  env          TEXT NOT NULL,
  revision     INTEGER NOT NULL CHECK (revision > 0),
  digest       TEXT NOT NULL,
  image_ref    TEXT NOT NULL,
  short_sha    TEXT NOT NULL DEFAULT '',
  config_hash  TEXT NOT NULL DEFAULT '',
  replicas     INTEGER NOT NULL CHECK (replicas >= 0),
  strategy     TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'deploying', 'active', 'failed',
                 'rolled_back', 'superseded')),
  run_id       INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  created_at   INTEGER NOT NULL,
  activated_at INTEGER,
  UNIQUE (env, revision)
);
-- At most one active release per environment, whatever the code above does.
CREATE UNIQUE INDEX releases_one_active ON releases (env) WHERE status = 'active';
CREATE INDEX releases_by_digest ON releases (digest);
)sql";

// v2: what gates, rollback, audit and drift detection need.
constexpr std::string_view k_v2_gates_and_desired_state = R"sql(
CREATE TABLE approvals (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  env          TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
  requested_at INTEGER NOT NULL,
  decided_at   INTEGER,
  decided_by   TEXT NOT NULL DEFAULT '',
  comment      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX approvals_one_pending ON approvals (run_id, env) WHERE status = 'pending';
CREATE INDEX approvals_by_run ON approvals (run_id, id);

CREATE TABLE last_known_good (
  env        TEXT PRIMARY KEY,
  revision   INTEGER NOT NULL,
  digest     TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  FOREIGN KEY (env, revision) REFERENCES releases (env, revision)
);

-- env '' marks a digest bad in every environment.
CREATE TABLE bad_digests (
  digest    TEXT NOT NULL,
  env       TEXT NOT NULL DEFAULT '',
  reason    TEXT NOT NULL,
  marked_at INTEGER NOT NULL,
  PRIMARY KEY (digest, env)
);

CREATE TABLE audit (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at     INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);

CREATE TABLE env_state (
  env        TEXT PRIMARY KEY,
  replicas   INTEGER NOT NULL CHECK (replicas >= 0),
  weights    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(weights)),
  spec_hash  TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
)sql";

// v3: what resuming a run needs: the image it promotes and the last environment it goes to.
constexpr std::string_view k_v3_run_image_and_scope = R"sql(
ALTER TABLE runs ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN until_env TEXT NOT NULL DEFAULT '';
)sql";

// v4: what the controller and the incident tools need: API tokens, webhook deliveries,
// notification deliveries, freezes, isolations and drift reports.
constexpr std::string_view k_v4_controller_and_operations = R"sql(
CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL CHECK (role IN ('viewer', 'deployer', 'admin')),
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

CREATE TABLE webhook_deliveries (
  delivery_id TEXT PRIMARY KEY,
  event       TEXT NOT NULL,
  outcome     TEXT NOT NULL DEFAULT '',
  run_id      INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  received_at INTEGER NOT NULL
);

CREATE TABLE notifications (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  channel  TEXT NOT NULL,
  event    TEXT NOT NULL,
  env      TEXT,
  run_id   INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  status   TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
  attempts INTEGER NOT NULL CHECK (attempts >= 0),
  error    TEXT NOT NULL DEFAULT '',
  payload  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
  at       INTEGER NOT NULL
);
CREATE INDEX notifications_by_channel ON notifications (channel, env, id);

CREATE TABLE freezes (
  env        TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  actor      TEXT NOT NULL,
  at         INTEGER NOT NULL
);

CREATE TABLE isolations (
  env        TEXT PRIMARY KEY,
  reason     TEXT NOT NULL,
  actor      TEXT NOT NULL,
  at         INTEGER NOT NULL
);

CREATE TABLE drift_reports (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  env       TEXT NOT NULL,
  in_sync   INTEGER NOT NULL CHECK (in_sync IN (0, 1)),
  findings  INTEGER NOT NULL CHECK (findings >= 0),
  fixed     INTEGER NOT NULL CHECK (fixed IN (0, 1)),
  "trigger" TEXT NOT NULL,
  report    TEXT NOT NULL CHECK (json_valid(report)),
  markdown  TEXT NOT NULL,
  at        INTEGER NOT NULL
);
CREATE INDEX drift_reports_by_env ON drift_reports (env, id);
)sql";

// v5: which process announces an event through a notifier: the first to claim it.
constexpr std::string_view k_v5_notification_claims = R"sql(
CREATE TABLE notification_claims (
  event_id INTEGER NOT NULL,
  notifier TEXT NOT NULL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (event_id, notifier)
);
)sql";

// v6: whether a run was ended by reconcile after its driver died (no verdict on its commit).
constexpr std::string_view k_v6_run_interrupted = R"sql(
ALTER TABLE runs ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1));
)sql";

constexpr std::array<Migration, 6> k_migrations{{
    {1, "runs_and_releases", k_v1_runs_and_releases},
    {2, "gates_and_desired_state", k_v2_gates_and_desired_state},
    {3, "run_image_and_scope", k_v3_run_image_and_scope},
    {4, "controller_and_operations", k_v4_controller_and_operations},
    {5, "notification_claims", k_v5_notification_claims},
    {6, "run_interrupted", k_v6_run_interrupted},
}};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error newer_error(const Database& db, int64_t found, int known) {
  return make_error(
      Errc::conflict,
      fmt::format("{}: the state database is at schema version {}, newer than this ztp knows "
                  "({}); it was written by a newer ztp: upgrade ztp, or use another ZTP_HOME",
                  db.path().string(), found, known));
}

// Refuses a database that some other program made: one with another application id, or one
// that has tables but no version.
Result<void> check_owner(Database& db, int64_t version) {
  ZTP_ASSIGN_OR_RETURN(auto app_id, db.query_int("PRAGMA application_id", "read application id"));
  bool foreign = app_id != 0 && app_id != k_application_id;
  if (!foreign && app_id == 0 && version == 0) {
    ZTP_ASSIGN_OR_RETURN(auto tables,
                         db.query_int("SELECT count(*) FROM sqlite_schema", "read schema"));
    foreign = tables > 0;
  }
  if (foreign) {
    return make_error(Errc::invalid,
                      fmt::format("{}: not a ztp state database (it holds another program's "
                                  "tables); move it away or use another ZTP_HOME",
                                  db.path().string()));
  }
  return {};
}

Result<void> apply(Database& db, const Migration& m, int target_version) {
  std::string operation = fmt::format("migrate to schema version {} ({})", m.version, m.name);
  ZTP_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, operation));
  // Another process may have migrated while this one waited for the write lock.
  auto version = db.query_int("PRAGMA user_version", operation);
  if (!version.ok()) {
    return version.take_error();
  }
  if (*version > target_version) {
    return newer_error(db, *version, target_version);
  }
  if (*version >= m.version) {
    return tx.commit();
  }
  ZTP_TRY(db.exec(m.sql, operation));
  ZTP_ASSIGN_OR_RETURN(
      auto record,
      Statement::prepare(
          db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
          operation));
  ZTP_TRY(record.bind_all(m.version, m.name, wall_ms()).run());
  ZTP_TRY(db.exec(fmt::format("PRAGMA user_version = {}; PRAGMA application_id = {}", m.version,
                              k_application_id),
                  operation));
  return tx.commit();
}

}  // namespace

std::span<const Migration> migrations() { return k_migrations; }

int latest_schema_version() { return k_migrations.back().version; }

Result<void> migrate(Database& db, int target_version) {
  ZTP_ASSIGN_OR_RETURN(auto version, db.query_int("PRAGMA user_version", "read schema version"));
  if (version > target_version) {
    return newer_error(db, version, target_version);
  }
  ZTP_TRY(check_owner(db, version));
  for (const auto& m : k_migrations) {
    if (m.version > version && m.version <= target_version) {
      ZTP_TRY(apply(db, m, target_version));
    }
  }
  return {};
}

Result<void> migrate_file(const std::filesystem::path& db_path, int target_version) {
  if (db_path.has_parent_path()) {
    ZTP_TRY(fs::ensure_dir(db_path.parent_path()));
  }
  ZTP_ASSIGN_OR_RETURN(auto db, Database::open(db_path));
  return migrate(db, target_version);
}

}  // namespace ztp::store
