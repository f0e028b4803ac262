#include "store/sqlite.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "store/records.hpp"
#include "support/support.hpp"

namespace ztp::store {
namespace {

// A database in a fresh temporary directory; a failure to open it throws.
struct TempDatabase {
  testing::TempDir dir;
  Database db = Database::open(dir / "test.db").value();
};

struct Row {
  int64_t id = 0;
  int count = 0;
  bool flag = false;
  std::string name;
  std::optional<int64_t> maybe_int;
  std::optional<std::string> maybe_text;
  RunStatus status = RunStatus::queued;
};

Result<Row> read_row(const Statement& s) {
  Row r;
  ZTP_TRY(read_columns(s, r.id, r.count, r.flag, r.name, r.maybe_int, r.maybe_text,
                       parsed(r.status, "rows", "run status", parse_run_status)));
  return r;
}

TEST(SqliteTest, ReadColumnsReadsEachFieldByItsType) {
  TempDatabase t;
  auto row = query_row(t.db, "read", "SELECT 7, 42, 2, 'seven', NULL, 'x', 'running'", read_row);
  ASSERT_TRUE(row.ok()) << row.error().message;
  EXPECT_EQ(row->id, 7);
  EXPECT_EQ(row->count, 42);
  EXPECT_TRUE(row->flag);
  EXPECT_EQ(row->name, "seven");
  EXPECT_EQ(row->maybe_int, std::nullopt);
  EXPECT_EQ(row->maybe_text, "x");
  EXPECT_EQ(row->status, RunStatus::running);

  row = query_row(t.db, "read", "SELECT 8, 0, 0, NULL, 5, NULL, 'failed'", read_row);
  ASSERT_TRUE(row.ok()) << row.error().message;
  EXPECT_FALSE(row->flag);
  EXPECT_EQ(row->name, "");
  EXPECT_EQ(row->maybe_int, 5);
  EXPECT_EQ(row->maybe_text, std::nullopt);
  EXPECT_EQ(row->status, RunStatus::failed);
}

TEST(SqliteTest, ReadColumnsNamesTheTableRowAndValueAParsedColumnRefuses) {
  TempDatabase t;
  auto rows = query_all(t.db, "read", "SELECT 9, 0, 0, '', NULL, NULL, 'exploded'", read_row);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, Errc::internal);
  EXPECT_EQ(rows.error().message,
            "the store is damaged: table rows, row 9: `exploded` is not a run status; restore "
            "state.db from a backup or repair that row");
}

TEST(SqliteTest, QueryRowIsNotFoundWithoutARow) {
  TempDatabase t;
  auto row = query_row(t.db, "read nothing", "SELECT 1 WHERE 0",
                       [](const Statement& s) { return s.int64(0); });
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.error().code, Errc::not_found);
  EXPECT_EQ(row.error().message, (t.dir / "test.db").string() + ": read nothing: no such row");
}

TEST(SqliteTest, OrNotFoundGivesTheRowOrTheMessage) {
  TempDatabase t;
  auto read = [](const Statement& s) { return s.text(0); };
  auto missing = [] { return std::string("there is none"); };
  auto found = or_not_found(query_one(t.db, "read", "SELECT 'here'", read), missing);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, "here");

  auto none = or_not_found(query_one(t.db, "read", "SELECT 'here' WHERE 0", read), missing);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message, "there is none");

  auto broken = or_not_found(query_one(t.db, "read", "SELECT FROM", read), missing);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, Errc::internal);
}

TEST(SqliteTest, BindsABoolAsOneOrZero) {
  TempDatabase t;
  auto read = [](const Statement& s) { return s.int64(0) * 10 + s.int64(1); };
  EXPECT_EQ(*query_row(t.db, "read", "SELECT ?1, ?2", read, true, false), 10);
}

TEST(SqliteTest, SqlLimitTurnsNoLimitIntoMinusOne) {
  EXPECT_EQ(sql_limit(5), 5);
  EXPECT_EQ(sql_limit(0), -1);
  EXPECT_EQ(sql_limit(-3), -1);
}

TEST(SqliteTest, QueryIntIsZeroWithoutARow) {
  TempDatabase t;
  EXPECT_EQ(*t.db.query_int("SELECT 12", "read"), 12);
  EXPECT_EQ(*t.db.query_int("SELECT 12 WHERE 0", "read"), 0);
}

}  // namespace
}  // namespace ztp::store
