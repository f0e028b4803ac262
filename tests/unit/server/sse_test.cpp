#include "server/sse.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"
#include "support/support.hpp"

namespace ztp::server {
namespace {

class SseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(dir / "state.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
    auto run = db->create_run({"app", "abc", "abc", store::Trigger::manual, ""});
    ASSERT_TRUE(run.ok());
    run_id = run->id;
  }

  int64_t append(std::optional<int64_t> run, const std::string& kind) {
    auto e = db->append_event({run, std::string("dev"), kind, kind + " happened", R"({"n":1})"});
    EXPECT_TRUE(e.ok());
    return e.ok() ? e->id : 0;
  }

  testing::TempDir dir;
  testing::FakeClock clock;
  std::unique_ptr<store::SqliteStore> db;
  int64_t run_id = 0;
};

TEST_F(SseTest, FramesCarryIdKindAndTheEventAsJson) {
  store::Event e;
  e.id = 7;
  e.run_id = 3;
  e.env = "prod";
  e.kind = "rollout.started";
  e.message = "line one\nline two";
  e.data = R"({"weight":10})";
  e.at = 1000;
  std::string frame = sse_frame(e);
  EXPECT_EQ(frame.rfind("id: 7\nevent: rollout.started\ndata: {", 0), 0u) << frame;
  EXPECT_TRUE(frame.ends_with("}\n\n"));
  // One data line: the message's newline is escaped inside the JSON.
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
  auto j = nlohmann::json::parse(frame.substr(frame.find("data: ") + 6));
  EXPECT_EQ(j["data"]["weight"], 10);
  EXPECT_EQ(j["run_id"], 3);
  EXPECT_EQ(j["env"], "prod");
}

TEST_F(SseTest, FollowsNewEventsAfterTheGivenId) {
  int64_t first = append(run_id, "run.started");
  int64_t second = append(run_id, "build.started");
  EventStream stream(*db, clock, {.after_id = first});
  auto out = stream.next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->rfind("retry: ", 0), 0u);
  EXPECT_EQ(out->find("run.started"), std::string::npos);
  EXPECT_NE(out->find("id: " + std::to_string(second) + "\n"), std::string::npos);
  EXPECT_EQ(stream.last_id(), second);

  EXPECT_EQ(stream.next(), std::string());
  int64_t third = append(run_id, "build.succeeded");
  auto later = stream.next();
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->rfind("id: " + std::to_string(third) + "\nevent: build.succeeded\n", 0), 0u);
}

TEST_F(SseTest, FiltersByRun) {
  append(std::nullopt, "deploy.started");
  append(run_id, "run.started");
  EventStream stream(*db, clock, {.after_id = 0, .run_id = run_id});
  auto out = stream.next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->find("deploy.started"), std::string::npos);
  EXPECT_NE(out->find("run.started"), std::string::npos);
}

TEST_F(SseTest, SendsAHeartbeatWhenQuiet) {
  EventStream stream(*db, clock, {.heartbeat = std::chrono::seconds(15)});
  ASSERT_TRUE(stream.next().has_value());
  clock.advance(std::chrono::seconds(14));
  EXPECT_EQ(stream.next(), std::string());
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(stream.next(), std::string(": heartbeat\n\n"));
  EXPECT_EQ(stream.next(), std::string());
}

}  // namespace
}  // namespace ztp::server
