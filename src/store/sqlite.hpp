#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "util/result.hpp"

// A thin RAII layer over the sqlite3 C API: a connection, a prepared statement and an
// immediate-mode transaction. Every error names the database file and the operation.
namespace ztp::store {

// An open connection with the pragmas every ztp connection uses: WAL journal, foreign keys,
// a busy timeout, full sync. Closed on destruction. Use from one thread at a time.
class Database {
 public:
  // Creates the file (not its directory) when missing. `busy_timeout` bounds how long a
  // statement waits for another process's write lock before failing with Errc::timeout.
  static Result<Database> open(const std::filesystem::path& path,
                               std::chrono::milliseconds busy_timeout = std::chrono::seconds(10));

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // The raw connection, for calls this wrapper does not cover.
  sqlite3* handle() const { return m_db; }
  // The database file, as named in error messages.
  const std::filesystem::path& path() const { return m_path; }

  // Runs one or more statements that return no rows.
  Result<void> exec(std::string_view sql, std::string_view operation);
  // The first column of the first row of `sql` as an integer (0 when there is no row).
  Result<int64_t> query_int(std::string_view sql, std::string_view operation);

  // An Error for sqlite result code `rc`: "<file>: <operation>: <sqlite message>", with the
  // code mapped to an Errc (busy -> timeout, constraint -> conflict, else internal).
  Error error(int rc, std::string_view operation) const;

 private:
  Database(sqlite3* db, std::filesystem::path path) : m_db(db), m_path(std::move(path)) {}

  sqlite3* m_db = nullptr;
  std::filesystem::path m_path;
};

// A prepared statement, finalized on destruction. Parameters are 1-based as in SQL (?1, ?2).
class Statement {
 public:
  static Result<Statement> prepare(Database& db, std::string_view sql, std::string_view operation);

  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds one parameter; a nullopt binds NULL. A bind failure is reported by the next step().
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, int64_t{value ? 1 : 0}); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullopt_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }
  // Binds `args` to ?1, ?2, ... in order.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    (void)index;
    return *this;
  }

  // Advances: true when a row is ready to read, false when the statement is done.
  Result<bool> step();
  // Steps to completion, for statements that return no rows.
  Result<void> run();

  // Columns of the current row, 0-based; NULL reads as 0 / "" (or nullopt for optional_*).
  bool is_null(int column) const;
  int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<int64_t> optional_int64(int column) const;
  std::optional<std::string> optional_text(int column) const;
  // Column `column` into `out`, read as its type is (a bool is a non-zero integer).
  void get(int column, int64_t& out) const { out = int64(column); }
  void get(int column, int& out) const { out = static_cast<int>(int64(column)); }
  void get(int column, bool& out) const { out = int64(column) != 0; }
  void get(int column, std::string& out) const { out = text(column); }
  void get(int column, std::optional<int64_t>& out) const { out = optional_int64(column); }
  void get(int column, std::optional<std::string>& out) const { out = optional_text(column); }

 private:
  Statement(Database* db, sqlite3_stmt* stmt, std::string operation)
      : m_db(db), m_stmt(stmt), m_operation(std::move(operation)) {}
  void note_bind(int rc);

  Database* m_db = nullptr;
  sqlite3_stmt* m_stmt = nullptr;
  std::string m_operation;
  int m_bind_rc = SQLITE_OK;
};

// BEGIN IMMEDIATE ... COMMIT: takes the write lock up front (waiting up to the busy timeout)
// so a writer never fails half-way because another process wrote first. Rolls back on
// destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db, std::string_view operation);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits; on failure the transaction is rolled back and the error returned.
  Result<void> commit();

 private:
  Transaction(Database* db, std::string operation) : m_db(db), m_operation(std::move(operation)) {}

  Database* m_db = nullptr;
  std::string m_operation;
};

// Runs `sql` with `args` bound to ?1, ?2, ...; returns how many rows it changed.
template <typename... Args>
Result<int64_t> execute(Database& db, std::string_view operation, std::string_view sql,
                        const Args&... args) {
  ZTP_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db, sql, operation));
  stmt.bind_all(args...);
  ZTP_TRY(stmt.run());
  return static_cast<int64_t>(sqlite3_changes64(db.handle()));
}

namespace detail {
// What a row reader gives: a value, or a Result of one when a row can be damaged.
template <typename R>
struct RowOf {
  using type = R;
  static Result<R> wrap(R&& r) { return Result<R>(std::move(r)); }
};
template <typename T>
struct RowOf<Result<T>> {
  using type = T;
  static Result<T> wrap(Result<T>&& r) { return std::move(r); }
};
template <typename Read>
using RowType = typename RowOf<std::invoke_result_t<Read, const Statement&>>::type;
template <typename Read>
Result<RowType<Read>> read_row(Read& read, const Statement& stmt) {
  return RowOf<std::invoke_result_t<Read, const Statement&>>::wrap(read(stmt));
}
}  // namespace detail

// Every row of `sql` (with `args` bound), each turned into a value by `read(statement)`, which
// returns the value or a Result of it (an error for a damaged row stops the query).
template <typename Read, typename... Args>
auto query_all(Database& db, std::string_view operation, std::string_view sql, Read read,
               const Args&... args) -> Result<std::vector<detail::RowType<Read>>> {
  std::vector<detail::RowType<Read>> rows;
  ZTP_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db, sql, operation));
  stmt.bind_all(args...);
  while (true) {
    auto row = stmt.step();
    if (!row.ok()) {
      return row.take_error();
    }
    if (!*row) {
      return rows;
    }
    ZTP_ASSIGN_OR_RETURN(auto value, detail::read_row(read, stmt));
    rows.push_back(std::move(value));
  }
}

// The first row of `sql` (with `args` bound) turned into a value by `read(statement)` as in
// query_all; nullopt when there is no row.
template <typename Read, typename... Args>
auto query_one(Database& db, std::string_view operation, std::string_view sql, Read read,
               const Args&... args) -> Result<std::optional<detail::RowType<Read>>> {
  ZTP_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db, sql, operation));
  stmt.bind_all(args...);
  auto row = stmt.step();
  if (!row.ok()) {
    return row.take_error();
  }
  if (!*row) {
    return std::optional<detail::RowType<Read>>();
  }
  ZTP_ASSIGN_OR_RETURN(auto value, detail::read_row(read, stmt));
  return std::optional<detail::RowType<Read>>(std::move(value));
}

// The value of `row`, or Errc::not_found with the message `missing()` gives when there is no
// row.
template <typename T, typename Missing>
Result<T> or_not_found(Result<std::optional<T>>&& row, Missing missing) {
  if (!row.ok()) {
    return row.take_error();
  }
  if (!*row) {
    return make_error(Errc::not_found, missing());
  }
  return std::move(**row);
}

// The first row of `sql` as query_one reads it, for a row that must be there (the RETURNING
// of an INSERT, or of an UPDATE of a row just read): Errc::not_found when there is none.
template <typename Read, typename... Args>
auto query_row(Database& db, std::string_view operation, std::string_view sql, Read read,
               const Args&... args) -> Result<detail::RowType<Read>> {
  return or_not_found(query_one(db, operation, sql, read, args...), [&] {
    return fmt::format("{}: {}: no such row", db.path().string(), operation);
  });
}

// `limit` for a LIMIT clause: 0 or less asks for every row (-1).
inline int64_t sql_limit(int limit) { return limit > 0 ? limit : -1; }

// A text column of `table` read into `out` by `parse` (returning an optional), for
// read_columns.
template <typename E, typename Parse>
struct Parsed {
  E& out;
  std::string_view table;
  std::string_view what;
  Parse parse;
};

template <typename E, typename Parse>
Parsed<E, Parse> parsed(E& out, std::string_view table, std::string_view what, Parse parse) {
  return {out, table, what, parse};
}

namespace detail {
template <typename T>
Result<void> read_column(const Statement& s, int col, T& out) {
  s.get(col, out);
  return {};
}
// A value the schema's CHECK lets through only when the file was edited by hand or damaged is
// an error, never turned into a plausible default.
template <typename E, typename Parse>
Result<void> read_column(const Statement& s, int col, Parsed<E, Parse>& field) {
  auto text = s.text(col);
  auto value = field.parse(text);
  if (!value) {
    return make_error(Errc::internal,
                      fmt::format("the store is damaged: table {}, row {}: `{}` is not a {}; "
                                  "restore state.db from a backup or repair that row",
                                  field.table, s.int64(0), text, field.what));
  }
  field.out = *value;
  return {};
}
}  // namespace detail

// Reads columns 0, 1, ... of the current row into `fields` in order, each by its type (see
// Statement::get) or through parsed(). An error names the first value parsed() refuses, with
// the table and the row's id (column 0).
template <typename... Fields>
Result<void> read_columns(const Statement& s, Fields&&... fields) {
  Result<void> result;
  int col = 0;
  (void)((result = detail::read_column(s, col++, fields)).ok() && ...);
  return result;
}

// Runs `body()` (returning a Result) in a Transaction: commits when it succeeds, rolls back
// when it fails or the commit does.
template <typename Body>
auto in_transaction(Database& db, std::string_view operation, Body body) -> decltype(body()) {
  ZTP_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, operation));
  auto result = body();
  if (!result.ok()) {
    return result;
  }
  ZTP_TRY(tx.commit());
  return result;
}

}  // namespace ztp::store
