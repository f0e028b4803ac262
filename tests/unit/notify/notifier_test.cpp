#include "notify/notifier.hpp"

#include <gtest/gtest.h>

#include <map>

#include "notify_test_util.hpp"

namespace ztp::notify {
namespace {

using namespace std::chrono_literals;
using spec::Notifier;

EventNotifier::Options quick_options() {
  EventNotifier::Options o;
  o.poll_interval = 10ms;
  o.delivery = test::quick_delivery();
  return o;
}

std::vector<std::string> events_sent(test::FakePoster& fake) {
  std::vector<std::string> out;
  for (const auto& r : fake.requests()) {
    out.push_back(nlohmann::json::parse(r.body)["event"]);
  }
  return out;
}

TEST(EventNotifier, AnnouncesOnlyWhatIsAppendedAfterItStarts) {
  store::test::TempStore s;
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {test::notifier(Notifier::Kind::webhook)};
  test::FakePoster fake;
  ASSERT_TRUE(s->append_event({std::nullopt, std::nullopt, "run.started", "old", "{}"}).ok());
  EventNotifier n(sp, *s.store, quick_options(), fake.poster());
  ASSERT_TRUE(n.start().ok());
  ASSERT_TRUE(s->append_event({std::nullopt, std::string("qa"), "drift.found", "d", "{}"}).ok());
  ASSERT_TRUE(testing::wait_until([&] { return fake.requests().size() == 1; }));
  ASSERT_TRUE(s->append_event({std::nullopt, std::string("qa"), "replica.healthy", "", "{}"}).ok());
  ASSERT_TRUE(s->append_event({std::nullopt, std::nullopt, "run.succeeded", "ok", "{}"}).ok());
  EXPECT_TRUE(n.flush(std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(events_sent(fake), (std::vector<std::string>{"drift_found", "run_succeeded"}));
  EXPECT_EQ(s->list_notifications()->size(), 2u);
}

TEST(EventNotifier, FlushGivesUpAtItsDeadlineAndRecordsIt) {
  store::test::TempStore s;
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {test::notifier(Notifier::Kind::slack)};
  test::FakePoster fake;
  fake.hang = true;
  auto options = quick_options();
  options.after_id = 0;
  EventNotifier n(sp, *s.store, options, fake.poster());
  ASSERT_TRUE(s->append_event({std::nullopt, std::nullopt, "run.started", "go", "{}"}).ok());
  ASSERT_TRUE(n.start().ok());
  EXPECT_FALSE(n.flush(std::chrono::steady_clock::now() + 50ms));
  auto rows = *s->list_notifications();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].delivered);
  EXPECT_NE(rows[0].error.find("exited before the receiver answered"), std::string::npos)
      << rows[0].error;
}

// `ztp serve` and a `ztp approve` beside it both follow the same state database: each event
// is announced once, by whichever claims it first.
TEST(EventNotifier, TwoNotifiersFollowingOneStoreAnnounceEachEventOnce) {
  store::test::TempStore s;
  auto other = store::SqliteStore::open(s.db_path, s.clock);
  ASSERT_TRUE(other.ok()) << other.error().message;
  spec::Spec sp;
  sp.app = "shop";
  sp.notify = {test::notifier(Notifier::Kind::webhook), test::notifier(Notifier::Kind::slack)};
  test::FakePoster serve_fake;
  test::FakePoster approve_fake;
  auto options = quick_options();
  options.after_id = 0;
  EventNotifier serve(sp, *s.store, options, serve_fake.poster());
  EventNotifier approve(sp, **other, options, approve_fake.poster());
  ASSERT_TRUE(serve.start().ok());
  ASSERT_TRUE(approve.start().ok());
  constexpr int k_events = 20;
  for (int i = 0; i < k_events; ++i) {
    auto& writer = i % 2 == 0 ? *s.store : **other;
    ASSERT_TRUE(writer
                    .append_event({std::nullopt, std::string("qa"), "drift.found",
                                   "d" + std::to_string(i), "{}"})
                    .ok());
  }
  EXPECT_TRUE(serve.flush(std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(approve.flush(std::chrono::steady_clock::now() + 10s));
  std::map<std::string, int> sent;  // per channel and message
  for (auto* fake : {&serve_fake, &approve_fake}) {
    for (const auto& r : fake->requests()) {
      auto body = nlohmann::json::parse(r.body);
      auto what = body.contains("headline") ? "webhook " + body["headline"].get<std::string>()
                                            : "slack " + body["text"].get<std::string>();
      ++sent[what];
    }
  }
  EXPECT_EQ(sent.size(), 2u * k_events);
  for (const auto& [what, times] : sent) {
    EXPECT_EQ(times, 1) << what;
  }
  EXPECT_EQ(s->list_notifications()->size(), 2u * k_events);
}

TEST(EventNotifier, WithoutNotifiersItDoesNothing) {
  store::test::TempStore s;
  spec::Spec sp;
  test::FakePoster fake;
  EventNotifier n(sp, *s.store, quick_options(), fake.poster());
  ASSERT_TRUE(n.start().ok());
  ASSERT_TRUE(s->append_event({std::nullopt, std::nullopt, "run.started", "go", "{}"}).ok());
  EXPECT_TRUE(n.flush(std::chrono::steady_clock::now() + 1s));
  EXPECT_TRUE(fake.requests().empty());
}

}  // namespace
}  // namespace ztp::notify
