#include <gtest/gtest.h>

#include "store/sqlite_store.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::TempStore;

TEST(SqliteStoreTokensTest, TokensAuthenticateUntilRevoked) {
  TempStore s;
  auto made = s->create_token("ci", Role::deployer, "hash-ci");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->role, Role::deployer);
  EXPECT_EQ(made->created_at, s.now_ms());
  EXPECT_FALSE(made->last_used_at);

  s.clock.advance(std::chrono::seconds(5));
  auto used = s->use_token("hash-ci");
  ASSERT_TRUE(used.ok());
  ASSERT_TRUE(*used);
  EXPECT_EQ((*used)->name, "ci");
  EXPECT_EQ((*used)->last_used_at, s.now_ms());
  EXPECT_FALSE(*s->use_token("hash-unknown"));

  auto same_name = s->create_token("ci", Role::admin, "hash-other");
  ASSERT_FALSE(same_name.ok());
  EXPECT_EQ(same_name.error().code, Errc::conflict);

  auto revoked = s->revoke_token("ci");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->revoked_at);
  EXPECT_FALSE(*s->use_token("hash-ci"));
  EXPECT_EQ(s->revoke_token("ci").error().code, Errc::conflict);
  EXPECT_EQ(s->revoke_token("nobody").error().code, Errc::not_found);
  ASSERT_EQ(s->list_tokens()->size(), 1u);
  EXPECT_EQ(s->create_token("", Role::viewer, "h").error().code, Errc::invalid);
}

TEST(SqliteStoreTokensTest, RoleNamesRoundTrip) {
  for (Role r : {Role::viewer, Role::deployer, Role::admin}) {
    EXPECT_EQ(parse_role(to_string(r)), r);
  }
  EXPECT_FALSE(parse_role("root"));
}

TEST(SqliteStoreNotificationsTest, AnEventIsClaimedOncePerNotifierAcrossConnections) {
  TempStore s;
  auto other = SqliteStore::open(s.db_path, s.clock);
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(*s->claim_notification(7, "slack:a"));
  EXPECT_FALSE(*(*other)->claim_notification(7, "slack:a"));
  EXPECT_FALSE(*s->claim_notification(7, "slack:a"));
  EXPECT_TRUE(*(*other)->claim_notification(7, "webhook:b"));
  EXPECT_TRUE(*(*other)->claim_notification(8, "slack:a"));
  EXPECT_EQ(s->claim_notification(9, "").error().code, Errc::invalid);
}

TEST(SqliteStoreWebhooksTest, ASecondDeliveryWithTheSameIdIsAReplay) {
  TempStore s;
  EXPECT_TRUE(*s->record_webhook_delivery("d-1", "push"));
  EXPECT_FALSE(*s->record_webhook_delivery("d-1", "push"));
  EXPECT_TRUE(*s->record_webhook_delivery("d-2", "ping"));
  ASSERT_TRUE(s->set_webhook_outcome("d-1", "ignored: branch dev").ok());
  EXPECT_EQ(s->set_webhook_outcome("d-9", "x").error().code, Errc::not_found);
  auto list = s->list_webhook_deliveries();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->back().delivery_id, "d-1");
  EXPECT_EQ(list->back().outcome, "ignored: branch dev");
  EXPECT_EQ(s->record_webhook_delivery("", "push").error().code, Errc::invalid);
}

TEST(SqliteStoreNotificationsTest, RecordsAndFiltersByChannelAndEnv) {
  TempStore s;
  NewNotification n{"pagerduty",
                    "run.failed",
                    std::string("prod"),
                    std::nullopt,
                    true,
                    1,
                    "",
                    R"({"event_action":"trigger"})"};
  ASSERT_TRUE(s->record_notification(n).ok());
  n.channel = "slack";
  n.delivered = false;
  n.attempts = 4;
  n.error = "connection refused";
  auto failed = s->record_notification(n);
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->delivered);
  EXPECT_EQ(failed->attempts, 4);

  auto pd = s->list_notifications(NotificationFilter{10, std::string("pagerduty"), std::nullopt});
  ASSERT_EQ(pd->size(), 1u);
  EXPECT_TRUE(pd->front().delivered);
  EXPECT_EQ(pd->front().payload, R"({"event_action":"trigger"})");
  EXPECT_EQ(s->list_notifications()->size(), 2u);
  EXPECT_TRUE(
      s->list_notifications(NotificationFilter{10, std::nullopt, std::string("qa")})->empty());

  n.payload = "{not json";
  EXPECT_EQ(s->record_notification(n).error().code, Errc::invalid);
}

TEST(SqliteStoreHoldsTest, FreezeAndIsolationAreKeptApart) {
  TempStore s;
  EXPECT_FALSE(*s->get_freeze("prod"));
  auto frozen = s->set_freeze("prod", "incident 42", "alice");
  ASSERT_TRUE(frozen.ok());
  EXPECT_EQ(frozen->reason, "incident 42");
  // Freezing again replaces the reason.
  s.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s->set_freeze("prod", "release week", "bob").ok());
  auto read = s->get_freeze("prod");
  ASSERT_TRUE(*read);
  EXPECT_EQ((*read)->reason, "release week");
  EXPECT_EQ((*read)->actor, "bob");
  EXPECT_EQ((*read)->at, s.now_ms());
  EXPECT_FALSE(*s->get_isolation("prod"));

  ASSERT_TRUE(s->set_isolation("qa", "forensics", "carol").ok());
  EXPECT_EQ(s->list_isolations()->size(), 1u);
  EXPECT_EQ(s->list_freezes()->size(), 1u);

  EXPECT_TRUE(*s->clear_freeze("prod"));
  EXPECT_FALSE(*s->clear_freeze("prod"));
  EXPECT_TRUE(*s->clear_isolation("qa"));
  EXPECT_EQ(s->set_freeze("prod", "", "x").error().code, Errc::invalid);
}

TEST(SqliteStoreDriftTest, ReportsAreKeptNewestFirst) {
  TempStore s;
  ASSERT_TRUE(
      s->save_drift_report(NewDriftReport{"qa", true, 0, false, "schedule", "{}", ""}).ok());
  s.clock.advance(std::chrono::seconds(1));
  auto saved = s->save_drift_report(
      NewDriftReport{"prod", false, 2, true, "manual", R"({"findings":[1,2]})", "# prod\n"});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_FALSE(saved->in_sync);
  EXPECT_TRUE(saved->fixed);
  EXPECT_EQ(saved->findings, 2);
  auto all = s->list_drift_reports();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->front().env, "prod");
  auto qa = s->list_drift_reports(std::string("qa"));
  ASSERT_EQ(qa->size(), 1u);
  EXPECT_EQ(qa->front().trigger, "schedule");
  EXPECT_EQ(
      s->save_drift_report(NewDriftReport{"qa", true, 0, false, "manual", "[", ""}).error().code,
      Errc::invalid);
}

TEST(SqliteStoreEventsTest, LatestEventIdIsWhereAFollowerStarts) {
  TempStore s;
  EXPECT_EQ(*s->latest_event_id(), 0);
  auto first = s->append_event(NewEvent{std::nullopt, std::string("dev"), "drift.found", "", "{}"});
  auto second =
      s->append_event(NewEvent{std::nullopt, std::string("dev"), "drift.fixed", "", "{}"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*s->latest_event_id(), second->id);
  EXPECT_GT(second->id, first->id);
}

}  // namespace
}  // namespace ztp::store
