#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "store/sqlite_store.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::raw_exec;
using test::raw_query;

TEST(MigrationsTest, VersionsAreConsecutiveAndNamed) {
  auto list = migrations();
  ASSERT_GE(list.size(), 2u);
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(list[i].name.empty());
    EXPECT_FALSE(list[i].sql.empty());
  }
  EXPECT_EQ(latest_schema_version(), list.back().version);
}

TEST(MigrationsTest, MigratesAnEmptyFile) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  std::ofstream(path).close();
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(*(*store)->schema_version(), latest_schema_version());
  EXPECT_EQ(raw_query(path, "PRAGMA application_id"), std::to_string(k_application_id));
}

TEST(MigrationsTest, MigrateFileStopsAtTheGivenVersion) {
  testing::TempDir dir;
  auto path = dir / "sub" / "state.db";
  ASSERT_TRUE(migrate_file(path, 1).ok());
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), "1");
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'runs'"), "1");
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'approvals'"), "0");
  EXPECT_EQ(raw_query(path, "SELECT group_concat(version) FROM schema_migrations"), "1");
}

// Builds a database at each earlier version with rows in every table that version has, then
// opens it with the store: the rows survive and the schema is the latest.
TEST(MigrationsTest, UpgradesFromEveryEarlierVersionKeepingRows) {
  for (int from = 1; from < latest_schema_version(); ++from) {
    SCOPED_TRACE("from schema version " + std::to_string(from));
    testing::TempDir dir;
    auto path = dir / "state.db";
    ASSERT_TRUE(migrate_file(path, from).ok());
    ASSERT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(from));
    // Version 1 rows: a finished run with a stage and an event, and an active release.
    ASSERT_EQ(raw_exec(path,
                       "INSERT INTO runs (id, app, commit_sha, short_sha, \"trigger\", status, "
                       "reason, created_at, updated_at, finished_at) VALUES (7, 'shop', "
                       "'abcdef0123', 'abcdef0', 'webhook', 'succeeded', '', 1000, 2000, 2000);"
                       "INSERT INTO stages (run_id, name, env, status, detail, started_at, "
                       "finished_at) VALUES (7, 'rollout', 'prod', 'succeeded', 'ok', 1100, 1900);"
                       "INSERT INTO events (run_id, env, kind, message, data, at) VALUES (7, "
                       "'prod', 'rollout.done', 'done', '{\"revision\":4}', 1900);"
                       "INSERT INTO releases (env, revision, digest, image_ref, short_sha, "
                       "config_hash, replicas, strategy, status, run_id, created_at, "
                       "activated_at) VALUES ('prod', 4, 'sha256:aa', 'local/shop@sha256:aa', "
                       "'abcdef0', 'cfg', 2, 'rolling', 'active', 7, 1500, 1900);"),
              "");
    if (from >= 2) {
      ASSERT_EQ(raw_exec(path,
                         "INSERT INTO approvals (run_id, env, status, requested_at) VALUES (7, "
                         "'prod', 'pending', 1200);"
                         "INSERT INTO last_known_good VALUES ('prod', 4, 'sha256:aa', 1900);"),
                "");
    }

    testing::FakeClock clock;
    auto opened = SqliteStore::open(path, clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto& store = **opened;
    EXPECT_EQ(*store.schema_version(), latest_schema_version());
    EXPECT_EQ(raw_query(path, "SELECT count(*) FROM schema_migrations"),
              std::to_string(latest_schema_version()));

    auto run = store.get_run(7);
    ASSERT_TRUE(run.ok()) << run.error().message;
    EXPECT_EQ(run->status, RunStatus::succeeded);
    EXPECT_EQ(run->trigger, Trigger::webhook);
    EXPECT_EQ(run->finished_at, 2000);
    auto stages = store.list_stages(7);
    ASSERT_EQ(stages->size(), 1u);
    EXPECT_EQ(stages->front().env, "prod");
    auto events = store.list_events();
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->front().data, "{\"revision\":4}");
    auto current = store.current_release("prod");
    ASSERT_TRUE(current->has_value());
    EXPECT_EQ((*current)->revision, 4);
    EXPECT_EQ((*current)->activated_at, 1900);
    if (from >= 2) {
      EXPECT_EQ(store.list_pending_approvals()->size(), 1u);
    }

    // Everything the latest version added works on the upgraded file.
    EXPECT_EQ(store
                  .create_release(
                      NewRelease{"prod", "sha256:bb", "r", "s", "c", 1, "rolling", std::nullopt})
                  ->revision,
              5);
    ASSERT_TRUE(store.set_last_known_good("prod", 4).ok());
    EXPECT_EQ((*store.get_last_known_good("prod"))->digest, "sha256:aa");
    ASSERT_TRUE(store.request_approval(7, "qa").ok());
    ASSERT_TRUE(store.mark_bad("sha256:bb", "broken").ok());
    ASSERT_TRUE(store.append_audit("alice", "rollback", "env prod").ok());
    ASSERT_TRUE(store.set_env_state(EnvState{"prod", 2, "{}", "h", 0}).ok());
    EXPECT_TRUE(store.integrity_check().ok());
  }
}

TEST(MigrationsTest, RefusesADatabaseFromANewerZtp) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  ASSERT_TRUE(migrate_file(path, latest_schema_version()).ok());
  int newer = latest_schema_version() + 1;
  ASSERT_EQ(raw_exec(path, "PRAGMA user_version = " + std::to_string(newer)), "");
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::conflict);
  EXPECT_NE(store.error().message.find(path.string()), std::string::npos);
  EXPECT_NE(store.error().message.find("schema version " + std::to_string(newer)),
            std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find("upgrade ztp"), std::string::npos);
  // Refusing changed nothing.
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(newer));

  auto older_target = migrate_file(path, 1);
  ASSERT_FALSE(older_target.ok());
  EXPECT_EQ(older_target.error().code, Errc::conflict);
}

TEST(MigrationsTest, AFailedMigrationLeavesThePreviousVersion) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  ASSERT_TRUE(migrate_file(path, 1).ok());
  // A stray table in the way of version 2 makes its script fail half-way.
  ASSERT_EQ(raw_exec(path, "CREATE TABLE audit (x INTEGER)"), "");
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("migrate to schema version 2"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), "1");
  // Tables the script created before the failure were rolled back with it.
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'approvals'"), "0");
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM schema_migrations"), "1");
}

}  // namespace
}  // namespace ztp::store
