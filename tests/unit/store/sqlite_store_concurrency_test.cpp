#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <thread>

#include "store/migrations.hpp"
#include "store/sqlite_store.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::raw_query;

// Child processes that start together: each waits on a pipe until the parent opens the gate.
class Children {
 public:
  Children() {
    if (::pipe(m_gate) != 0) {
      ADD_FAILURE() << "pipe failed";
    }
  }
  ~Children() {
    close_gate();
    for (pid_t pid : m_pids) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  // Forks a child that runs `body` once the gate opens and exits with its return value. The
  // child must not touch the parent's connections: it opens its own.
  void spawn(const std::function<int()>& body) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(m_gate[1]);
      char c = 0;
      while (::read(m_gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      std::fflush(nullptr);
      ::_exit(body());
    }
    ASSERT_GT(pid, 0) << "fork failed";
    m_pids.push_back(pid);
  }

  // Opens the gate (every child reads end-of-file at once) and waits for the children to exit;
  // true when every one exited with 0.
  bool run(std::chrono::seconds timeout) {
    close_gate();
    bool all_ok = true;
    bool done = testing::wait_until(
        [&] {
          for (auto it = m_pids.begin(); it != m_pids.end();) {
            int status = 0;
            if (::waitpid(*it, &status, WNOHANG) == *it) {
              all_ok = all_ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
              it = m_pids.erase(it);
            } else {
              ++it;
            }
          }
          return m_pids.empty();
        },
        timeout);
    return done && all_ok;
  }

 private:
  void close_gate() {
    for (int& fd : m_gate) {
      if (fd >= 0) {
        ::close(fd);
        fd = -1;
      }
    }
  }

  int m_gate[2] = {-1, -1};
  std::vector<pid_t> m_pids;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), message.c_str());
  return 1;
}

// One writer: 300 events and 50 releases of prod, interleaved.
int write_events_and_releases(const std::filesystem::path& path, int writer) {
  auto opened = SqliteStore::open(path);
  if (!opened.ok()) {
    return fail(opened.error().message);
  }
  auto& store = **opened;
  for (int i = 0; i < 300; ++i) {
    NewEvent event{std::nullopt, std::string("prod"), "test.write", "event",
                   "{\"writer\":" + std::to_string(writer) + "}"};
    if (auto r = store.append_event(event); !r.ok()) {
      return fail(r.error().message);
    }
    if (i % 6 == 0) {
      NewRelease release{
          "prod",      "sha256:" + std::to_string(writer * 1000 + i), "ref", "s", "c", 1, "rolling",
          std::nullopt};
      if (auto r = store.create_release(release); !r.ok()) {
        return fail(r.error().message);
      }
    }
  }
  return 0;
}

TEST(SqliteStoreConcurrencyTest, TwoProcessesWritingAtOnceLoseNothing) {
  testing::TempDir dir;
  auto path = dir / "state.db";
  ASSERT_TRUE(migrate_file(path, latest_schema_version()).ok());
  {
    Children children;
    children.spawn([&] { return write_events_and_releases(path, 1); });
    children.spawn([&] { return write_events_and_releases(path, 2); });
    ASSERT_TRUE(children.run(std::chrono::seconds(120)));
  }

  auto opened = SqliteStore::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& store = **opened;
  EventFilter all;
  all.limit = 0;
  auto events = store.list_events(all);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 600u);
  EXPECT_EQ(std::count_if(events->begin(), events->end(),
                          [](const Event& e) { return e.data == "{\"writer\":1}"; }),
            300);

  auto releases = store.list_releases("prod", 0);
  ASSERT_TRUE(releases.ok());
  ASSERT_EQ(releases->size(), 100u);
  std::vector<int64_t> revisions;
  for (const auto& r : *releases) {
    revisions.push_back(r.revision);
  }
  std::sort(revisions.begin(), revisions.end());
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(revisions[i], i + 1);
  }
  EXPECT_EQ(raw_query(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw_query(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteStoreConcurrencyTest, TwoProcessesOpeningAFreshFileMigrateItOnce) {
  testing::TempDir dir;
  auto path = dir / "home" / "state.db";
  {
    Children children;
    for (int i = 0; i < 2; ++i) {
      children.spawn([&] {
        auto opened = SqliteStore::open(path);
        if (!opened.ok()) {
          return fail(opened.error().message);
        }
        auto run = (*opened)->create_run(NewRun{"shop", "abcdef0", "abcdef0", Trigger::poll, ""});
        return run.ok() ? 0 : fail(run.error().message);
      });
    }
    ASSERT_TRUE(children.run(std::chrono::seconds(60)));
  }
  EXPECT_EQ(raw_query(path, "PRAGMA user_version"), std::to_string(latest_schema_version()));
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM schema_migrations"),
            std::to_string(latest_schema_version()));
  EXPECT_EQ(raw_query(path, "SELECT count(*) FROM runs"), "2");
  EXPECT_EQ(raw_query(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreConcurrencyTest, ThreadsShareOneStore) {
  test::TempStore s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(s->append_event(NewEvent{std::nullopt, std::nullopt, "k", "m"}).ok());
        EXPECT_TRUE(s->create_release(
                         NewRelease{"dev", "sha256:x", "r", "s", "c", 1, "rolling", std::nullopt})
                        .ok());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EventFilter all;
  all.limit = 0;
  EXPECT_EQ(s->list_events(all)->size(), 100u);
  EXPECT_EQ(s->list_releases("dev", 0)->front().revision, 100);
}

}  // namespace
}  // namespace ztp::store
