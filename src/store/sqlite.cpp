#include "store/sqlite.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "util/fs.hpp"

namespace ztp::store {
namespace {

// The store holds audit records, approvals and who did what: readable by its owner only.
// SQLite gives its -wal and -shm files the mode of the database file, so creating that 0600
// (whatever the umask) covers all three; files an older ztp left are tightened with chmod.
// The file is never opened here once it exists: SQLite's locks are POSIX record locks, which
// closing any descriptor of the file drops for the whole process, so an open and close beside
// a live connection would let another process delete the WAL under it.
Result<void> make_store_private(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    auto file = path;
    file += suffix;
    ZTP_TRY(fs::make_private(file));
  }
  return {};
}

Errc errc_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Errc::timeout;
    case SQLITE_CONSTRAINT:
      return Errc::conflict;
    default:
      return Errc::internal;
  }
}

std::string hint_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return " (another ztp process held the state database too long; try again)";
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return " (the file is damaged or not a ztp state database; restore it from a backup or "
             "point ZTP_HOME elsewhere)";
    case SQLITE_FULL:
      return " (the disk is full)";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return " (check the permissions of the file and its directory)";
    default:
      return "";
  }
}

}  // namespace

Result<Database> Database::open(const std::filesystem::path& path,
                                std::chrono::milliseconds busy_timeout) {
  ZTP_TRY(make_store_private(path));
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (raw == nullptr) {
    return make_error(Errc::internal, fmt::format("{}: open: out of memory", path.string()));
  }
  Database db(raw, path);
  if (rc != SQLITE_OK) {
    return db.error(rc, "open");
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
  // journal_mode answers with the mode in force; anything but "wal" (a read-only medium, a
  // file system without shared memory) is refused rather than silently losing concurrency.
  // Switching a fresh file to WAL upgrades a read lock to a write lock, and SQLite answers
  // "locked" at once rather than calling the busy handler when another connection does the
  // same (it could deadlock): so the switch is retried here until the busy timeout is spent.
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  auto enable_wal = [&db] {
    return query_row(db, "enable WAL journal", "PRAGMA journal_mode = WAL",
                     [](const Statement& s) { return s.text(0); });
  };
  auto mode = enable_wal();
  for (auto pause = std::chrono::milliseconds(5);
       !mode.ok() && mode.error().code == Errc::timeout &&
       std::chrono::steady_clock::now() + pause < deadline;
       pause = std::min(pause * 2, std::chrono::milliseconds(200))) {
    std::this_thread::sleep_for(pause);
    mode = enable_wal();
  }
  if (!mode.ok()) {
    return mode.take_error();
  }
  if (*mode != "wal") {
    return make_error(Errc::internal,
                      fmt::format("{}: enable WAL journal: the database stays in '{}' mode; put "
                                  "ZTP_HOME on a local file system",
                                  path.string(), *mode));
  }
  ZTP_TRY(db.exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", "set pragmas"));
  return db;
}

Database::Database(Database&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (m_db != nullptr) {
      sqlite3_close_v2(m_db);
    }
    m_db = std::exchange(other.m_db, nullptr);
    m_path = std::move(other.m_path);
  }
  return *this;
}

Database::~Database() {
  if (m_db != nullptr) {
    sqlite3_close_v2(m_db);
  }
}

Result<void> Database::exec(std::string_view sql, std::string_view operation) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return make_error(errc_of(rc),
                      fmt::format("{}: {}: {}{}", m_path.string(), operation, detail, hint_of(rc)));
  }
  return {};
}

Result<int64_t> Database::query_int(std::string_view sql, std::string_view operation) {
  auto row = query_one(*this, operation, sql, [](const Statement& s) { return s.int64(0); });
  if (!row.ok()) {
    return row.take_error();
  }
  return row->value_or(0);
}

Error Database::error(int rc, std::string_view operation) const {
  // The connection's message is more precise ("UNIQUE constraint failed: releases.env, ...")
  // when it belongs to this failure.
  std::string detail = sqlite3_errstr(rc);
  if (m_db != nullptr && sqlite3_extended_errcode(m_db) == rc) {
    detail = sqlite3_errmsg(m_db);
  }
  return make_error(errc_of(rc),
                    fmt::format("{}: {}: {}{}", m_path.string(), operation, detail, hint_of(rc)));
}

Result<Statement> Statement::prepare(Database& db, std::string_view sql,
                                     std::string_view operation) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return db.error(rc, operation);
  }
  return Statement(&db, raw, std::string(operation));
}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db),
      m_stmt(std::exchange(other.m_stmt, nullptr)),
      m_operation(std::move(other.m_operation)),
      m_bind_rc(other.m_bind_rc) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(m_stmt);
    m_db = other.m_db;
    m_stmt = std::exchange(other.m_stmt, nullptr);
    m_operation = std::move(other.m_operation);
    m_bind_rc = other.m_bind_rc;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(m_stmt); }

void Statement::note_bind(int rc) {
  if (rc != SQLITE_OK && m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
}

Statement& Statement::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(m_stmt, index, value));
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  note_bind(sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8));
  return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
  note_bind(sqlite3_bind_null(m_stmt, index));
  return *this;
}

Result<bool> Statement::step() {
  if (m_bind_rc != SQLITE_OK) {
    return m_db->error(m_bind_rc, m_operation);
  }
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return m_db->error(rc, m_operation);
}

Result<void> Statement::run() {
  while (true) {
    auto row = step();
    if (!row.ok()) {
      return row.take_error();
    }
    if (!*row) {
      return {};
    }
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(m_stmt, column); }

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(m_stmt, column);
  if (data == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(data),
                     static_cast<size_t>(sqlite3_column_bytes(m_stmt, column)));
}

std::optional<int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return int64(column);
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) {
    return std::nullopt;
  }
  return text(column);
}

Result<Transaction> Transaction::begin(Database& db, std::string_view operation) {
  ZTP_TRY(db.exec("BEGIN IMMEDIATE", operation));
  return Transaction(&db, std::string(operation));
}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_operation(std::move(other.m_operation)) {}

Transaction::~Transaction() {
  if (m_db != nullptr) {
    // Nothing to report from a destructor; a failed ROLLBACK leaves sqlite to roll back
    // when the connection closes.
    (void)m_db->exec("ROLLBACK", m_operation);
  }
}

Result<void> Transaction::commit() {
  Database* db = std::exchange(m_db, nullptr);
  auto done = db->exec("COMMIT", m_operation);
  if (!done.ok()) {
    (void)db->exec("ROLLBACK", m_operation);
  }
  return done;
}

}  // namespace ztp::store
