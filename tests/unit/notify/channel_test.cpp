#include "notify/channel.hpp"

#include <gtest/gtest.h>

#include "notify_test_util.hpp"

namespace ztp::notify {
namespace {

using namespace std::chrono_literals;
using spec::Notifier;

Notice notice(NoticeKind kind, std::optional<std::string> env = std::nullopt) {
  Notice n;
  n.kind = kind;
  n.app = "shop";
  n.env = std::move(env);
  n.at = 1'800'000'000'000;
  return n;
}

std::chrono::steady_clock::time_point soon() { return std::chrono::steady_clock::now() + 10s; }

TEST(Channel, RetriesAnswersWorthRetryingThenRecordsTheDelivery) {
  store::test::TempStore s;
  test::FakePoster fake;
  fake.script = {test::answer(503, "busy"),
                 Result<sys::HttpResponse>(make_error(Errc::unavailable, "connection refused"))};
  Channel c(test::notifier(Notifier::Kind::slack), *s.store, test::quick_delivery(), fake.poster());
  c.submit(notice(NoticeKind::run_started));
  ASSERT_TRUE(c.wait_idle(soon()));
  EXPECT_EQ(fake.requests().size(), 3u);
  auto rows = s->list_notifications();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_TRUE(rows->front().delivered);
  EXPECT_EQ(rows->front().attempts, 3);
  EXPECT_EQ(rows->front().channel, "slack");
  EXPECT_EQ(rows->front().event, "run_started");
  EXPECT_EQ(rows->front().error, "connection refused");  // the last failure before it went
}

TEST(Channel, GivesUpAtOnceOnARefusedPayloadAndAfterTheLastAttempt) {
  store::test::TempStore s;
  test::FakePoster fake;
  fake.script = {test::answer(400, "invalid_payload"), test::answer(500, "a"),
                 test::answer(500, "b"), test::answer(500, "c")};
  Channel c(test::notifier(Notifier::Kind::slack), *s.store, test::quick_delivery(), fake.poster());
  c.submit(notice(NoticeKind::run_started));
  c.submit(notice(NoticeKind::run_succeeded));
  ASSERT_TRUE(c.wait_idle(soon()));
  auto rows = *s->list_notifications();  // newest first
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[1].delivered);
  EXPECT_EQ(rows[1].attempts, 1);
  EXPECT_EQ(rows[1].error, "HTTP 400: invalid_payload");
  EXPECT_FALSE(rows[0].delivered);
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(rows[0].error, "HTTP 500: c");
}

TEST(Channel, SendsOnlyTheEventsOfItsFilter) {
  store::test::TempStore s;
  test::FakePoster fake;
  Channel c(test::notifier(Notifier::Kind::webhook, {"run_failed"}), *s.store,
            test::quick_delivery(), fake.poster());
  c.submit(notice(NoticeKind::run_started));
  c.submit(notice(NoticeKind::run_failed, "prod"));
  ASSERT_TRUE(c.wait_idle(soon()));
  auto sent = fake.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(sent[0].body)["event"], "run_failed");
}

TEST(Channel, PagerDutyTriggersOnFailureAndResolvesOnTheNextSuccessOnly) {
  store::test::TempStore s;
  test::FakePoster fake;
  Channel c(test::notifier(Notifier::Kind::pagerduty), *s.store, test::quick_delivery(),
            fake.poster());
  auto success = notice(NoticeKind::run_succeeded);
  success.environments = {"dev", "prod"};
  c.submit(notice(NoticeKind::run_started));  // not paged
  c.submit(notice(NoticeKind::rolled_back, "prod"));
  c.submit(success);
  c.submit(success);  // nothing open any more
  ASSERT_TRUE(c.wait_idle(soon()));
  auto sent = fake.requests();
  ASSERT_EQ(sent.size(), 2u);
  auto trigger = nlohmann::json::parse(sent[0].body);
  auto resolve = nlohmann::json::parse(sent[1].body);
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["dedup_key"], "ztp/shop/prod");
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], "ztp/shop/prod");
  auto rows = *s->list_notifications();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(rows[1].payload)["routing_key"], "(set)");
  EXPECT_FALSE(*incident_open(*s.store, "ztp/shop/prod"));
}

// An operator's rollback pages only in production, unless page_manual_rollbacks names the
// environment; the pipeline's own rollbacks page everywhere.
TEST(Channel, PagerDutyPagesForAManualRollbackOnlyWhereItShould) {
  auto manual = [](const std::string& env, bool production) {
    auto n = notice(NoticeKind::rolled_back, env);
    n.manual = true;
    n.production = production;
    n.actor = "alice";
    n.reason = "manual rollback to revision 3";
    return n;
  };
  auto paged_envs = [&](const Notifier& pd) {
    store::test::TempStore s;
    std::vector<std::string> envs;
    for (const auto& [env, production] :
         {std::pair{"dev", false}, std::pair{"qa", false}, std::pair{"prod", true}}) {
      auto out = deliveries_for(pd, manual(env, production), *s.store);
      EXPECT_TRUE(out.ok());
      for (const auto& d : *out) {
        auto body = nlohmann::json::parse(d.request.body);
        EXPECT_EQ(body["event_action"], "trigger");
        EXPECT_NE(body["payload"]["severity"], "error");
        envs.push_back(*d.env);
      }
    }
    auto automatic = deliveries_for(pd, notice(NoticeKind::rolled_back, "dev"), *s.store);
    EXPECT_EQ(automatic->size(), 1u) << "a failed rollout's rollback pages in every environment";
    return envs;
  };
  auto pd = test::notifier(Notifier::Kind::pagerduty);
  EXPECT_EQ(paged_envs(pd), std::vector<std::string>{"prod"});
  pd.page_manual_rollbacks = std::vector<std::string>{"dev"};
  EXPECT_EQ(paged_envs(pd), std::vector<std::string>{"dev"});
  pd.page_manual_rollbacks = std::vector<std::string>{};
  EXPECT_TRUE(paged_envs(pd).empty());
}

TEST(Channel, AFailedTriggerOpensNoIncident) {
  store::test::TempStore s;
  test::FakePoster fake;
  fake.script = {test::answer(400, "bad")};
  Channel c(test::notifier(Notifier::Kind::pagerduty), *s.store, test::quick_delivery(),
            fake.poster());
  c.submit(notice(NoticeKind::run_failed, "qa"));
  ASSERT_TRUE(c.wait_idle(soon()));
  EXPECT_FALSE(*incident_open(*s.store, "ztp/shop/qa"));
}

TEST(Channel, StopCancelsAHangingAttemptAndRecordsWhatWasGivenUp) {
  store::test::TempStore s;
  test::FakePoster fake;
  fake.hang = true;
  Channel c(test::notifier(Notifier::Kind::slack), *s.store, test::quick_delivery(), fake.poster());
  c.submit(notice(NoticeKind::run_started));
  c.submit(notice(NoticeKind::run_failed));
  ASSERT_TRUE(testing::wait_until([&] { return !fake.requests().empty(); }));
  EXPECT_FALSE(c.wait_idle(std::chrono::steady_clock::now() + 20ms));
  c.stop("given up for the test");
  auto rows = *s->list_notifications();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) {
    EXPECT_FALSE(r.delivered);
    EXPECT_NE(r.error.find("given up for the test"), std::string::npos) << r.error;
  }
  EXPECT_EQ(fake.requests().size(), 1u);  // the queued one was never sent
}

}  // namespace
}  // namespace ztp::notify
