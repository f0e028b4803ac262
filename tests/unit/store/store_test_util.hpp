#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite_store.hpp"
#include "support/fake_clock.hpp"
#include "support/support.hpp"

namespace ztp::store::test {

// A store in a fresh temporary ZTP_HOME, with a fake clock.
struct TempStore {
  testing::TempDir dir;
  testing::FakeClock clock;
  std::filesystem::path db_path = dir / "home" / "state.db";
  std::unique_ptr<SqliteStore> store;

  TempStore() {
    auto opened = SqliteStore::open(db_path, clock);
    if (!opened.ok()) {
      ADD_FAILURE() << opened.error().message;
      return;
    }
    store = std::move(*opened);
  }
  SqliteStore* operator->() { return store.get(); }
  int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock.wall_now().time_since_epoch())
        .count();
  }
};

// The first column of the first row of `sql`, read through a separate raw connection.
inline std::string raw_query(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  } else {
    out = std::string("cannot open: ") + sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  return out;
}

// Runs `sql` (no rows) through a separate raw connection; the error message, or empty.
inline std::string raw_exec(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) ==
      SQLITE_OK) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      out = message != nullptr ? message : "error";
    }
    sqlite3_free(message);
  } else {
    out = "cannot open";
  }
  sqlite3_close(db);
  return out;
}

}  // namespace ztp::store::test
