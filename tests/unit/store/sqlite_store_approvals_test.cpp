#include <gtest/gtest.h>

#include "store/sqlite_store.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::TempStore;

int64_t make_run(TempStore& s) {
  return s->create_run(NewRun{"shop", "abcdef0123", "abcdef0", Trigger::manual, ""})->id;
}

TEST(SqliteStoreApprovalsTest, RequestIsPendingUntilDecided) {
  TempStore s;
  int64_t run = make_run(s);
  auto asked = s->request_approval(run, "prod");
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(asked->status, ApprovalStatus::pending);
  EXPECT_EQ(asked->requested_at, s.now_ms());
  EXPECT_FALSE(asked->decided_at);

  // Asking again (a resumed run) returns the same pending approval.
  s.clock.advance(std::chrono::seconds(1));
  auto again = s->request_approval(run, "prod");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, asked->id);
  EXPECT_EQ(again->requested_at, asked->requested_at);

  auto pending = s->list_pending_approvals();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().run_id, run);
  EXPECT_EQ(pending->front().env, "prod");

  s.clock.advance(std::chrono::minutes(2));
  auto decided = s->decide_approval(run, ApprovalStatus::approved, "alice", "ship it");
  ASSERT_TRUE(decided.ok()) << decided.error().message;
  EXPECT_EQ(decided->status, ApprovalStatus::approved);
  EXPECT_EQ(decided->decided_by, "alice");
  EXPECT_EQ(decided->comment, "ship it");
  EXPECT_EQ(decided->decided_at, s.now_ms());
  EXPECT_TRUE(s->list_pending_approvals()->empty());

  auto read = s->get_approval(run, std::string("prod"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, ApprovalStatus::approved);
  EXPECT_EQ(s->get_approval(run)->id, asked->id);
}

TEST(SqliteStoreApprovalsTest, DecidingTwiceIsAConflict) {
  TempStore s;
  int64_t run = make_run(s);
  ASSERT_TRUE(s->request_approval(run, "prod").ok());
  ASSERT_TRUE(s->decide_approval(run, ApprovalStatus::rejected, "bob", "not today").ok());
  auto twice = s->decide_approval(run, ApprovalStatus::approved, "alice");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::conflict);
  EXPECT_NE(twice.error().message.find("rejected by bob"), std::string::npos)
      << twice.error().message;
  EXPECT_EQ(s->get_approval(run)->status, ApprovalStatus::rejected);
}

TEST(SqliteStoreApprovalsTest, DecidingWithoutARequestIsNotFound) {
  TempStore s;
  int64_t run = make_run(s);
  auto none = s->decide_approval(run, ApprovalStatus::approved, "alice");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  auto get = s->get_approval(run);
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, Errc::not_found);
  auto no_run = s->request_approval(9999, "prod");
  ASSERT_FALSE(no_run.ok());
  EXPECT_EQ(no_run.error().code, Errc::not_found);
  ASSERT_TRUE(s->request_approval(run, "prod").ok());
  auto pending_decision = s->decide_approval(run, ApprovalStatus::pending, "alice");
  ASSERT_FALSE(pending_decision.ok());
  EXPECT_EQ(pending_decision.error().code, Errc::invalid);
}

TEST(SqliteStoreApprovalsTest, PendingRequestWinsOverAnEarlierDecision) {
  TempStore s;
  int64_t run = make_run(s);
  // qa was approved earlier; prod now waits: deciding the run answers prod.
  ASSERT_TRUE(s->request_approval(run, "qa").ok());
  ASSERT_TRUE(s->decide_approval(run, ApprovalStatus::approved, "alice").ok());
  ASSERT_TRUE(s->request_approval(run, "prod").ok());
  auto decided = s->decide_approval(run, ApprovalStatus::approved, "bob");
  ASSERT_TRUE(decided.ok()) << decided.error().message;
  EXPECT_EQ(decided->env, "prod");
  EXPECT_EQ(decided->decided_by, "bob");
  // Scoped to an environment, an answered gate is a conflict.
  auto qa = s->decide_approval(run, ApprovalStatus::rejected, "carol", "", std::string("qa"));
  ASSERT_FALSE(qa.ok());
  EXPECT_EQ(qa.error().code, Errc::conflict);
  EXPECT_EQ(s->get_approval(run, std::string("qa"))->decided_by, "alice");
}

TEST(SqliteStoreApprovalsTest, AskingAgainKeepsTheAnswer) {
  TempStore s;
  int64_t run = make_run(s);
  ASSERT_TRUE(s->request_approval(run, "prod").ok());
  ASSERT_TRUE(s->decide_approval(run, ApprovalStatus::approved, "alice").ok());
  // A run resumed after a crash asks again and finds its answer.
  auto again = s->request_approval(run, "prod");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, ApprovalStatus::approved);
  EXPECT_TRUE(s->list_pending_approvals()->empty());
}

TEST(SqliteStoreApprovalsTest, ListsPendingOldestFirst) {
  TempStore s;
  int64_t first = make_run(s);
  int64_t second = make_run(s);
  int64_t third = make_run(s);
  ASSERT_TRUE(s->request_approval(second, "prod").ok());
  ASSERT_TRUE(s->request_approval(first, "prod").ok());
  ASSERT_TRUE(s->request_approval(third, "qa").ok());
  ASSERT_TRUE(s->decide_approval(third, ApprovalStatus::rejected, "bob").ok());
  auto pending = s->list_pending_approvals();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].run_id, second);
  EXPECT_EQ((*pending)[1].run_id, first);
}

}  // namespace
}  // namespace ztp::store
