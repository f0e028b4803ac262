#include "store/sqlite_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "store/migrations.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::raw_query;
using test::TempStore;

NewRun new_run(const std::string& sha = "0123456789abcdef0123456789abcdef01234567") {
  return NewRun{"shop", sha, sha.substr(0, 7), Trigger::poll, ""};
}

TEST(SqliteStoreTest, OpenCreatesDirectoryInWalModeAtLatestVersion) {
  TempStore s;
  ASSERT_NE(s.store, nullptr);
  EXPECT_TRUE(std::filesystem::is_regular_file(s.db_path));
  EXPECT_EQ(s->path(), s.db_path);
  EXPECT_EQ(raw_query(s.db_path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(s.db_path, "PRAGMA user_version"), std::to_string(latest_schema_version()));
  EXPECT_EQ(*s->schema_version(), latest_schema_version());
  EXPECT_EQ(raw_query(s.db_path, "SELECT count(*) FROM schema_migrations"),
            std::to_string(migrations().size()));
  EXPECT_TRUE(s->integrity_check().ok());
}

TEST(SqliteStoreTest, TheDatabaseAndItsWalAndShmAreTheOwnersOnly) {
  testing::TempDir dir;
  testing::ScopedUmask open_umask(0);
  auto path = dir / "home" / "state.db";
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->create_run(new_run()).ok());  // the WAL holds a commit
  for (const char* suffix : {"", "-wal", "-shm"}) {
    auto file = path;
    file += suffix;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(testing::file_mode(file), 0600u) << file;
  }
}

TEST(SqliteStoreTest, OpeningTightensAStoreAnOlderVersionLeftOpen) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store.ok());
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(testing::file_mode(path), 0600u);
}

TEST(SqliteStoreTest, ReopenKeepsRows) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->create_run(new_run()).ok());
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto runs = (*store)->list_runs();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
}

TEST(SqliteStoreTest, OpenFailureNamesTheFile) {
  testing::TempDir dir;
  // A directory where the file should be cannot be opened as a database.
  auto path = dir / "state.db";
  std::filesystem::create_directories(path);
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find(path.string()), std::string::npos) << store.error().message;
}

TEST(SqliteStoreTest, RefusesAnotherProgramsDatabase) {
  testing::TempDir dir;
  auto path = dir / "other.db";
  ASSERT_EQ(test::raw_exec(path, "CREATE TABLE customers (id INTEGER)"), "");
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, Errc::invalid);
  EXPECT_NE(store.error().message.find("not a ztp state database"), std::string::npos);
}

TEST(SqliteStoreTest, CreatesAndReadsRuns) {
  TempStore s;
  auto run = s->create_run(new_run());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_GT(run->id, 0);
  EXPECT_EQ(run->app, "shop");
  EXPECT_EQ(run->short_sha, "0123456");
  EXPECT_EQ(run->trigger, Trigger::poll);
  EXPECT_EQ(run->status, RunStatus::queued);
  EXPECT_EQ(run->created_at, s.now_ms());
  EXPECT_EQ(run->updated_at, s.now_ms());
  EXPECT_FALSE(run->finished_at);

  auto read = s->get_run(run->id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->commit_sha, run->commit_sha);
  EXPECT_EQ(read->trigger, Trigger::poll);

  auto missing = s->get_run(run->id + 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);

  auto invalid = s->create_run(NewRun{});
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, Errc::invalid);
}

TEST(SqliteStoreTest, UpdateRunStatusStampsFinishAndRefusesFinishedRuns) {
  TempStore s;
  auto run = s->create_run(new_run());
  ASSERT_TRUE(run.ok());
  s.clock.advance(std::chrono::seconds(5));
  auto running = s->update_run_status(run->id, RunStatus::running);
  ASSERT_TRUE(running.ok()) << running.error().message;
  EXPECT_EQ(running->status, RunStatus::running);
  EXPECT_EQ(running->updated_at, s.now_ms());
  EXPECT_FALSE(running->finished_at);

  s.clock.advance(std::chrono::seconds(5));
  auto failed = s->update_run_status(run->id, RunStatus::rolled_back, "qa verify failed");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->reason, "qa verify failed");
  EXPECT_EQ(failed->finished_at, s.now_ms());
  EXPECT_EQ(s->get_run(run->id)->status, RunStatus::rolled_back);

  auto again = s->update_run_status(run->id, RunStatus::running);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_EQ(s->get_run(run->id)->status, RunStatus::rolled_back);

  auto missing = s->update_run_status(9999, RunStatus::running);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(SqliteStoreTest, AnInterruptedRunIsMarkedAndCanBeLeftOutOfAList) {
  TempStore s;
  auto ended = s->create_run(new_run());
  auto interrupted = s->create_run(new_run());
  for (const auto& r : {*ended, *interrupted}) {
    ASSERT_TRUE(s->update_run_status(r.id, RunStatus::running).ok());
  }
  ASSERT_TRUE(s->update_run_status(ended->id, RunStatus::rolled_back, "qa failed").ok());
  auto not_final = s->end_interrupted_run(interrupted->id, RunStatus::running, "died");
  ASSERT_FALSE(not_final.ok());
  EXPECT_EQ(not_final.error().code, Errc::invalid);
  auto marked = s->end_interrupted_run(interrupted->id, RunStatus::rolled_back, "died");
  ASSERT_TRUE(marked.ok()) << marked.error().message;
  EXPECT_TRUE(marked->interrupted);
  EXPECT_EQ(marked->status, RunStatus::rolled_back);
  EXPECT_TRUE(marked->finished_at);
  EXPECT_FALSE(s->get_run(ended->id)->interrupted);

  RunFilter verdicts;
  verdicts.interrupted = false;
  auto listed = s->list_runs(verdicts);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, ended->id);
  verdicts.interrupted = true;
  EXPECT_EQ(s->list_runs(verdicts)->front().id, interrupted->id);
  EXPECT_EQ(s->list_runs()->size(), 2u);
}

TEST(SqliteStoreTest, RunKeepsItsScopeAndImage) {
  TempStore s;
  NewRun nr = new_run();
  nr.until_env = "qa";
  auto run = s->create_run(nr);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->until_env, "qa");
  EXPECT_EQ(run->digest, "");
  auto set = s->set_run_digest(run->id, "sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(s->get_run(run->id)->digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(s->get_run(run->id)->until_env, "qa");
  auto missing = s->set_run_digest(run->id + 100, "sha256:00");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(SqliteStoreTest, ListRunsFiltersByEnvironmentStatusAndPage) {
  TempStore s;
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(s->create_run(new_run())->id);
  }
  // Runs 0, 2 and 4 reached prod; run 3 only dev.
  for (int i : {0, 2, 4}) {
    ASSERT_TRUE(s->start_stage(ids[i], "rollout", std::string("prod")).ok());
  }
  ASSERT_TRUE(s->start_stage(ids[3], "rollout", std::string("dev")).ok());
  ASSERT_TRUE(s->start_stage(ids[1], "build").ok());
  ASSERT_TRUE(s->update_run_status(ids[2], RunStatus::failed, "boom").ok());

  auto all = s->list_runs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().id, ids[4]);  // newest first
  EXPECT_EQ(all->back().id, ids[0]);

  RunFilter prod;
  prod.env = "prod";
  auto in_prod = s->list_runs(prod);
  ASSERT_EQ(in_prod->size(), 3u);
  EXPECT_EQ((*in_prod)[0].id, ids[4]);
  EXPECT_EQ((*in_prod)[1].id, ids[2]);
  EXPECT_EQ((*in_prod)[2].id, ids[0]);

  RunFilter failed;
  failed.status = RunStatus::failed;
  auto failed_runs = s->list_runs(failed);
  ASSERT_EQ(failed_runs->size(), 1u);
  EXPECT_EQ(failed_runs->front().id, ids[2]);

  RunFilter page;
  page.limit = 2;
  page.before_id = ids[3];
  auto paged = s->list_runs(page);
  ASSERT_EQ(paged->size(), 2u);
  EXPECT_EQ((*paged)[0].id, ids[2]);
  EXPECT_EQ((*paged)[1].id, ids[1]);

  auto latest = s->latest_run();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->id, ids[4]);
  auto latest_dev = s->latest_run(std::string("dev"));
  ASSERT_TRUE(latest_dev->has_value());
  EXPECT_EQ((*latest_dev)->id, ids[3]);
  auto latest_qa = s->latest_run(std::string("qa"));
  ASSERT_TRUE(latest_qa.ok());
  EXPECT_FALSE(latest_qa->has_value());
}

TEST(SqliteStoreTest, StagesStartFinishAndListInOrder) {
  TempStore s;
  auto run = s->create_run(new_run());
  auto build = s->start_stage(run->id, "build");
  ASSERT_TRUE(build.ok()) << build.error().message;
  EXPECT_EQ(build->status, StageStatus::running);
  EXPECT_EQ(build->started_at, s.now_ms());
  EXPECT_FALSE(build->env);

  s.clock.advance(std::chrono::seconds(3));
  auto done = s->finish_stage(build->id, StageStatus::succeeded, "sha256:abc");
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->status, StageStatus::succeeded);
  EXPECT_EQ(done->detail, "sha256:abc");
  EXPECT_EQ(done->finished_at, s.now_ms());

  auto rollout = s->start_stage(run->id, "rollout", std::string("dev"));
  ASSERT_TRUE(rollout.ok());
  ASSERT_TRUE(s->finish_stage(rollout->id, StageStatus::failed, "replica 2 unhealthy").ok());

  auto stages = s->list_stages(run->id);
  ASSERT_TRUE(stages.ok());
  ASSERT_EQ(stages->size(), 2u);
  EXPECT_EQ((*stages)[0].name, "build");
  EXPECT_EQ((*stages)[1].name, "rollout");
  EXPECT_EQ((*stages)[1].env, "dev");
  EXPECT_EQ((*stages)[1].status, StageStatus::failed);
  EXPECT_EQ((*stages)[1].detail, "replica 2 unhealthy");

  auto twice = s->finish_stage(build->id, StageStatus::failed);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::conflict);
  auto not_final = s->finish_stage(rollout->id, StageStatus::running);
  ASSERT_FALSE(not_final.ok());
  EXPECT_EQ(not_final.error().code, Errc::invalid);
  auto no_stage = s->finish_stage(9999, StageStatus::succeeded);
  ASSERT_FALSE(no_stage.ok());
  EXPECT_EQ(no_stage.error().code, Errc::not_found);
  auto no_run = s->start_stage(9999, "build");
  ASSERT_FALSE(no_run.ok());
  EXPECT_EQ(no_run.error().code, Errc::not_found);
  EXPECT_TRUE(s->list_stages(9999)->empty());
}

TEST(SqliteStoreTest, SumsUpStageDurationsAndCountsRunsByStatus) {
  TempStore s;
  auto finish = [&](int64_t run, const char* name, std::optional<std::string> env,
                    std::chrono::milliseconds took, StageStatus status) {
    auto st = s->start_stage(run, name, env);
    ASSERT_TRUE(st.ok()) << st.error().message;
    s.clock.advance(took);
    ASSERT_TRUE(s->finish_stage(st->id, status).ok());
  };
  auto a = s->create_run(new_run());
  auto b = s->create_run(new_run());
  ASSERT_TRUE(s->create_run(new_run()).ok());
  ASSERT_TRUE(s->update_run_status(a->id, RunStatus::running).ok());
  ASSERT_TRUE(s->update_run_status(a->id, RunStatus::succeeded).ok());
  finish(a->id, "build", std::nullopt, std::chrono::milliseconds(400), StageStatus::succeeded);
  finish(b->id, "build", std::nullopt, std::chrono::milliseconds(1000), StageStatus::succeeded);
  finish(b->id, "build", std::nullopt, std::chrono::milliseconds(5000), StageStatus::succeeded);
  finish(b->id, "rollout", std::string("dev"), std::chrono::milliseconds(7), StageStatus::failed);
  ASSERT_TRUE(s->start_stage(b->id, "rollout", std::string("qa")).ok());  // not finished

  auto counts = s->count_runs_by_status();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(*counts,
            (std::map<RunStatus, int64_t>{{RunStatus::queued, 2}, {RunStatus::succeeded, 1}}));

  auto d = s->stage_durations({500, 1000, 2500});
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->size(), 2u);  // build/""/succeeded and rollout/dev/failed, in that order
  EXPECT_EQ((*d)[0].name, "build");
  EXPECT_EQ((*d)[0].env, "");
  EXPECT_EQ((*d)[0].status, StageStatus::succeeded);
  EXPECT_EQ((*d)[0].count, 3);
  EXPECT_EQ((*d)[0].total_ms, 6400);
  EXPECT_EQ((*d)[0].at_most, (std::vector<int64_t>{1, 2, 2}));  // a bound counts as within
  EXPECT_EQ((*d)[1].name, "rollout");
  EXPECT_EQ((*d)[1].env, "dev");
  EXPECT_EQ((*d)[1].status, StageStatus::failed);
  EXPECT_EQ((*d)[1].at_most, (std::vector<int64_t>{1, 1, 1}));
}

TEST(SqliteStoreTest, EventsAppendAndFilter) {
  TempStore s;
  auto run = s->create_run(new_run());
  auto first = s->append_event(NewEvent{run->id, std::string("dev"), "rollout.started",
                                        "rolling to revision 3", R"({"revision":3})"});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->at, s.now_ms());
  EXPECT_EQ(nlohmann::json::parse(first->data)["revision"], 3);
  // An event outside a run (ztp deploy) has no run id; data defaults to {}.
  auto deploy = s->append_event(
      NewEvent{std::nullopt, std::string("qa"), "replica.healthy", "replica 1 healthy"});
  ASSERT_TRUE(deploy.ok()) << deploy.error().message;
  EXPECT_FALSE(deploy->run_id);
  EXPECT_EQ(deploy->data, "{}");
  ASSERT_TRUE(s->append_event(NewEvent{run->id, std::string("qa"), "rollout.done", "ok"}).ok());

  auto all = s->list_events();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_LT((*all)[0].id, (*all)[1].id);  // oldest first
  EXPECT_LT((*all)[1].id, (*all)[2].id);

  EventFilter by_run;
  by_run.run_id = run->id;
  EXPECT_EQ(s->list_events(by_run)->size(), 2u);

  EventFilter by_env;
  by_env.env = "qa";
  auto qa = s->list_events(by_env);
  ASSERT_EQ(qa->size(), 2u);
  EXPECT_EQ((*qa)[0].kind, "replica.healthy");

  EventFilter both;
  both.run_id = run->id;
  both.env = "qa";
  EXPECT_EQ(s->list_events(both)->size(), 1u);

  EventFilter after;
  after.after_id = first->id;
  after.limit = 1;
  auto next = s->list_events(after);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().id, deploy->id);

  auto bad_json = s->append_event(NewEvent{run->id, std::nullopt, "x", "y", "{not json"});
  ASSERT_FALSE(bad_json.ok());
  EXPECT_EQ(bad_json.error().code, Errc::invalid);
  auto no_kind = s->append_event(NewEvent{});
  ASSERT_FALSE(no_kind.ok());
  EXPECT_EQ(no_kind.error().code, Errc::invalid);
  auto no_run = s->append_event(NewEvent{9999, std::nullopt, "x", "y"});
  ASSERT_FALSE(no_run.ok());
  EXPECT_EQ(no_run.error().code, Errc::not_found);
  EXPECT_EQ(s->list_events()->size(), 3u);
}

TEST(SqliteStoreTest, AuditAppendsAndListsNewestFirst) {
  TempStore s;
  ASSERT_TRUE(s->append_audit("alice", "approve", "run 1", "looks good").ok());
  s.clock.advance(std::chrono::seconds(1));
  auto second = s->append_audit("controller", "rollback", "env prod");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->at, s.now_ms());
  auto entries = s->list_audit();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].actor, "controller");
  EXPECT_EQ((*entries)[0].target, "env prod");
  EXPECT_EQ((*entries)[1].action, "approve");
  EXPECT_EQ((*entries)[1].detail, "looks good");
  EXPECT_EQ(s->list_audit(1)->size(), 1u);
  auto invalid = s->append_audit("", "approve", "run 1");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, Errc::invalid);
}

// Runs `sql` on the store's file with the schema's CHECK constraints off, as a hand edit or a
// damaged file could leave it.
void corrupt(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  std::string all = "PRAGMA ignore_check_constraints = ON; " + sql;
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// A value the schema does not allow is an error naming the table, the row and the value, not
// a plausible default: a run read as `failed`, or a token read as `viewer`, would be acted on.
TEST(SqliteStoreTest, ADamagedRowIsAnErrorNamingItsTableAndRow) {
  TempStore s;
  auto run = s->create_run(new_run());
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(s->create_token("ci", Role::deployer, "hash-of-ci").ok());
  corrupt(s.db_path, fmt::format("UPDATE runs SET status = 'exploded' WHERE id = {}", run->id));
  corrupt(s.db_path, "UPDATE api_tokens SET role = 'root' WHERE name = 'ci'");

  auto got = s->get_run(run->id);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("the store is damaged: table runs, row " +
                                     std::to_string(run->id) + ": `exploded` is not a run status"),
            std::string::npos)
      << got.error().message;
  EXPECT_FALSE(s->list_runs({}).ok());

  auto token = s->use_token("hash-of-ci");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("table api_tokens, row 1: `root` is not a role"),
            std::string::npos)
      << token.error().message;
}

// The sums of stage durations group rows, and still name one row with the damaged value.
TEST(SqliteStoreTest, ADamagedStageStatusInTheDurationsNamesARow) {
  TempStore s;
  auto run = s->create_run(new_run());
  ASSERT_TRUE(run.ok());
  auto stage = s->start_stage(run->id, "build");
  ASSERT_TRUE(stage.ok());
  ASSERT_TRUE(s->finish_stage(stage->id, StageStatus::succeeded).ok());
  corrupt(s.db_path, fmt::format("UPDATE stages SET status = 'exploded' WHERE id = {}", stage->id));

  auto d = s->stage_durations({1000});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, Errc::internal);
  EXPECT_NE(
      d.error().message.find("the store is damaged: table stages, row " +
                             std::to_string(stage->id) + ": `exploded` is not a stage status"),
      std::string::npos)
      << d.error().message;
}

TEST(SqliteStoreTest, IntegrityCheckReportsDamage) {
  TempStore s;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        s->append_event(NewEvent{std::nullopt, std::nullopt, "k", std::string(200, 'x')}).ok());
  }
  // Drop an index entry behind the store's back: the table and its index disagree.
  ASSERT_EQ(test::raw_exec(s.db_path,
                           "PRAGMA writable_schema = ON; "
                           "UPDATE sqlite_schema SET sql = replace(sql, 'env, id', "
                           "'id, env') WHERE name = 'events_by_env'"),
            "");
  auto reopened = SqliteStore::open(s.db_path, s.clock);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto check = (*reopened)->integrity_check();
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().code, Errc::internal);
  EXPECT_NE(check.error().message.find(s.db_path.string()), std::string::npos);
}

}  // namespace
}  // namespace ztp::store
