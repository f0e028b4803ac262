#pragma once

#include <filesystem>
#include <span>
#include <string_view>

#include "store/sqlite.hpp"
#include "util/result.hpp"

// The schema of the state database as an ordered list of versioned SQL scripts. A database
// records its version in `PRAGMA user_version` (and each applied script in the
// schema_migrations table); opening it applies the scripts it has not seen yet, each in its
// own transaction. Scripts are never edited once released: a change is a new script.
namespace ztp::store {

// One step of the schema: applying it moves a database from `version - 1` to `version`.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Every migration, in order; versions are 1, 2, 3, ...
std::span<const Migration> migrations();

// The version a database has once every migration is applied.
int latest_schema_version();

// The `PRAGMA application_id` of a ztp state database ("ztp" in ASCII).
inline constexpr int k_application_id = 0x7a7470;

// Applies the migrations after the database's version up to `target_version`, each in a
// BEGIN IMMEDIATE transaction that re-reads the version first (two processes opening a fresh
// database at once migrate it once). Errc::conflict when the database is newer than
// `target_version`; Errc::invalid when the file belongs to another application.
Result<void> migrate(Database& db, int target_version);

// Creates or opens the database file at `db_path` and migrates it to `target_version` only.
// Tests build databases of earlier versions with it.
Result<void> migrate_file(const std::filesystem::path& db_path, int target_version);

}  // namespace ztp::store
