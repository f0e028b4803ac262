// Releases, last known good, bad digests and the desired state of environments.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"

namespace ztp::store {
namespace {

constexpr std::string_view k_release_columns =
    "id, env, revision, digest, image_ref, short_sha, config_hash, replicas, strategy, status, "
    "run_id, created_at, activated_at";

Result<Release> read_release(const Statement& s) {
  Release r;
  ZTP_TRY(read_columns(s, r.id, r.env, r.revision, r.digest, r.image_ref, r.short_sha,
                       r.config_hash, r.replicas, r.strategy,
                       parsed(r.status, "releases", "release status", parse_release_status),
                       r.run_id, r.created_at, r.activated_at));
  return r;
}

constexpr std::string_view k_lkg_columns = "env, revision, digest, updated_at";

LastKnownGood read_lkg(const Statement& s) {
  return LastKnownGood{s.text(0), s.int64(1), s.text(2), s.int64(3)};
}

BadDigest read_bad(const Statement& s) {
  return BadDigest{s.text(0), s.optional_text(1), s.text(2), s.int64(3)};
}

constexpr std::string_view k_env_state_columns = "env, replicas, weights, spec_hash, updated_at";

EnvState read_env_state(const Statement& s) {
  return EnvState{s.text(0), static_cast<int>(s.int64(1)), s.text(2), s.text(3), s.int64(4)};
}

}  // namespace

Result<Release> SqliteStore::get_release_locked(const std::string& env, int64_t revision) {
  return or_not_found(
      query_one(m_db, fmt::format("read release {} of {}", revision, env),
                fmt::format("SELECT {} FROM releases WHERE env = ?1 AND revision = ?2",
                            k_release_columns),
                read_release, env, revision),
      [&] {
        return fmt::format("environment {} has no release {}; `ztp history` lists its releases",
                           env, revision);
      });
}

Result<Release> SqliteStore::create_release(const NewRelease& release) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("create release in {}", release.env);
  if (release.env.empty() || release.digest.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: {}: the environment and the image digest "
                                                 "are required",
                                                 path().string(), operation));
  }
  if (release.replicas < 0) {
    return make_error(Errc::invalid, fmt::format("{}: {}: replicas must not be negative ({})",
                                                 path().string(), operation, release.replicas));
  }
  // The next revision is read and taken under the write lock of BEGIN IMMEDIATE, so no other
  // process can take the same number in between.
  return in_transaction(m_db, operation, [&]() -> Result<Release> {
    if (release.run_id) {
      ZTP_TRY(get_run_locked(*release.run_id));
    }
    return query_row(
        m_db, operation,
        fmt::format("INSERT INTO releases (env, revision, digest, image_ref, short_sha, "
                    "config_hash, replicas, strategy, status, run_id, created_at) VALUES (?1, "
                    "(SELECT ifnull(max(revision), 0) + 1 FROM releases WHERE env = ?1), ?2, ?3, "
                    "?4, ?5, ?6, ?7, 'pending', ?8, ?9) RETURNING {}",
                    k_release_columns),
        read_release, release.env, release.digest, release.image_ref, release.short_sha,
        release.config_hash, release.replicas, release.strategy, release.run_id, now_ms());
  });
}

Result<Release> SqliteStore::get_release(const std::string& env, int64_t revision) {
  std::lock_guard lock(m_mu);
  return get_release_locked(env, revision);
}

Result<std::optional<Release>> SqliteStore::current_release(const std::string& env) {
  std::lock_guard lock(m_mu);
  return query_one(m_db, fmt::format("read the active release of {}", env),
                   fmt::format("SELECT {} FROM releases WHERE env = ?1 AND status = 'active'",
                               k_release_columns),
                   read_release, env);
}

Result<std::vector<Release>> SqliteStore::list_releases(const std::string& env, int limit) {
  std::lock_guard lock(m_mu);
  return query_all(
      m_db, fmt::format("list releases of {}", env),
      fmt::format("SELECT {} FROM releases WHERE env = ?1 ORDER BY revision DESC LIMIT ?2",
                  k_release_columns),
      read_release, env, sql_limit(limit));
}

Result<Release> SqliteStore::set_release_status(const std::string& env, int64_t revision,
                                                ReleaseStatus status) {
  std::lock_guard lock(m_mu);
  std::string operation =
      fmt::format("set release {} of {} to {}", revision, env, to_string(status));
  return in_transaction(m_db, operation, [&]() -> Result<Release> {
    ZTP_TRY(get_release_locked(env, revision));
    if (status == ReleaseStatus::active) {
      ZTP_TRY(execute(m_db, operation,
                      "UPDATE releases SET status = 'superseded' WHERE env = ?1 AND status = "
                      "'active' AND revision <> ?2",
                      env, revision));
    }
    // activated_at records when the release last became active; setting an active release
    // active again keeps it.
    return query_row(
        m_db, operation,
        fmt::format("UPDATE releases SET activated_at = CASE WHEN ?3 = 'active' AND status <> "
                    "'active' THEN ?4 ELSE activated_at END, status = ?3 WHERE env = ?1 AND "
                    "revision = ?2 RETURNING {}",
                    k_release_columns),
        read_release, env, revision, to_string(status), now_ms());
  });
}

Result<LastKnownGood> SqliteStore::set_last_known_good(const std::string& env, int64_t revision) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("set last known good of {} to release {}", env, revision);
  return in_transaction(m_db, operation, [&]() -> Result<LastKnownGood> {
    ZTP_ASSIGN_OR_RETURN(auto release, get_release_locked(env, revision));
    return query_row(
        m_db, operation,
        fmt::format("INSERT INTO last_known_good (env, revision, digest, updated_at) VALUES (?1, "
                    "?2, ?3, ?4) ON CONFLICT (env) DO UPDATE SET revision = excluded.revision, "
                    "digest = excluded.digest, updated_at = excluded.updated_at RETURNING {}",
                    k_lkg_columns),
        read_lkg, env, revision, release.digest, now_ms());
  });
}

Result<std::optional<LastKnownGood>> SqliteStore::get_last_known_good(const std::string& env) {
  std::lock_guard lock(m_mu);
  return query_one(m_db, fmt::format("read last known good of {}", env),
                   fmt::format("SELECT {} FROM last_known_good WHERE env = ?1", k_lkg_columns),
                   read_lkg, env);
}

Result<void> SqliteStore::mark_bad(const std::string& digest, const std::string& reason,
                                   const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("mark {} bad", digest);
  if (digest.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: mark bad digest: the digest is required", path().string()));
  }
  return in_transaction(m_db, operation, [&]() -> Result<void> {
    ZTP_TRY(execute(m_db, operation,
                    "INSERT INTO bad_digests (digest, env, reason, marked_at) VALUES (?1, ?2, ?3, "
                    "?4) ON CONFLICT (digest, env) DO UPDATE SET reason = excluded.reason, "
                    "marked_at = excluded.marked_at",
                    digest, env.value_or(""), reason, now_ms()));
    return {};
  });
}

Result<bool> SqliteStore::is_bad(const std::string& digest, const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  return query_row(
      m_db, fmt::format("check whether {} is bad", digest),
      "SELECT EXISTS (SELECT 1 FROM bad_digests WHERE digest = ?1 AND (?2 IS "
      "NULL OR env IN ('', ?2)))",
      [](const Statement& s) { return s.int64(0) != 0; }, digest, env);
}

Result<std::vector<BadDigest>> SqliteStore::list_bad_digests() {
  std::lock_guard lock(m_mu);
  return query_all(
      m_db, "list bad digests",
      "SELECT digest, NULLIF(env, ''), reason, marked_at FROM bad_digests ORDER BY marked_at "
      "DESC, digest, env",
      read_bad);
}

Result<bool> SqliteStore::clear_bad(const std::string& digest,
                                    const std::optional<std::string>& env) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("clear bad mark of {}", digest);
  return in_transaction(m_db, operation, [&]() -> Result<bool> {
    ZTP_ASSIGN_OR_RETURN(
        auto removed,
        execute(m_db, operation,
                "DELETE FROM bad_digests WHERE digest = ?1 AND (?2 IS NULL OR env = ?2)", digest,
                env));
    return removed > 0;
  });
}

Result<EnvState> SqliteStore::set_env_state(const EnvState& state) {
  std::lock_guard lock(m_mu);
  std::string operation = fmt::format("set desired state of {}", state.env);
  if (state.env.empty()) {
    return make_error(Errc::invalid, fmt::format("{}: set desired state: the environment is "
                                                 "required",
                                                 path().string()));
  }
  if (state.replicas < 0 || !nlohmann::json::accept(state.weights)) {
    return make_error(Errc::invalid,
                      fmt::format("{}: {}: replicas must not be negative and weights must be JSON",
                                  path().string(), operation));
  }
  return in_transaction(m_db, operation, [&]() -> Result<EnvState> {
    return query_row(
        m_db, operation,
        fmt::format("INSERT INTO env_state (env, replicas, weights, spec_hash, updated_at) VALUES "
                    "(?1, ?2, ?3, ?4, ?5) ON CONFLICT (env) DO UPDATE SET replicas = "
                    "excluded.replicas, weights = excluded.weights, spec_hash = "
                    "excluded.spec_hash, updated_at = excluded.updated_at RETURNING {}",
                    k_env_state_columns),
        read_env_state, state.env, state.replicas, state.weights, state.spec_hash, now_ms());
  });
}

Result<std::optional<EnvState>> SqliteStore::get_env_state(const std::string& env) {
  std::lock_guard lock(m_mu);
  return query_one(m_db, fmt::format("read desired state of {}", env),
                   fmt::format("SELECT {} FROM env_state WHERE env = ?1", k_env_state_columns),
                   read_env_state, env);
}

Result<std::vector<EnvState>> SqliteStore::list_env_states() {
  std::lock_guard lock(m_mu);
  return query_all(m_db, "list desired states",
                   fmt::format("SELECT {} FROM env_state ORDER BY env", k_env_state_columns),
                   read_env_state);
}

}  // namespace ztp::store
