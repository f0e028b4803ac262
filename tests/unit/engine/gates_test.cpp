#include "engine/gates.hpp"

#include <gtest/gtest.h>

#include "../store/store_test_util.hpp"

namespace ztp::engine {
namespace {

using store::ApprovalStatus;
using store::test::TempStore;

int64_t waiting_run(TempStore& s, const std::string& env) {
  int64_t id =
      s->create_run(store::NewRun{"shop", "abcdef0123", "abcdef0", store::Trigger::manual, ""})->id;
  EXPECT_TRUE(s->request_approval(id, env).ok());
  return id;
}

TEST(Gates, AnAnswerIsRecordedAndAudited) {
  TempStore s;
  int64_t run = waiting_run(s, "prod");
  auto answered = answer_gate(*s.store, run, ApprovalStatus::rejected, "alice", "not on a Friday");
  ASSERT_TRUE(answered.ok()) << answered.error().message;
  EXPECT_EQ(answered->status, ApprovalStatus::rejected);
  EXPECT_EQ(answered->decided_by, "alice");
  EXPECT_EQ(s->get_approval(run)->status, ApprovalStatus::rejected);
  auto audit = s->list_audit();
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].actor, "alice");
  EXPECT_EQ((*audit)[0].action, "reject");
  EXPECT_EQ((*audit)[0].target, "run " + std::to_string(run));
  EXPECT_EQ((*audit)[0].detail, "prod not on a Friday");
}

TEST(Gates, AGateIsAnsweredOnceAndARunWithoutOneIsNotFound) {
  TempStore s;
  int64_t run = waiting_run(s, "prod");
  ASSERT_TRUE(answer_gate(*s.store, run, ApprovalStatus::approved, "alice", "").ok());
  auto again = answer_gate(*s.store, run, ApprovalStatus::rejected, "bob", "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::conflict);
  auto none = answer_gate(*s.store, run + 1, ApprovalStatus::approved, "bob", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(s->list_audit()->size(), 1u);  // only the answer that counted
}

TEST(Gates, ASupersededRunIsRefusedBeforeAnythingIsWritten) {
  TempStore s;
  int64_t run = waiting_run(s, "prod");
  // What create_run does to a run waiting at a gate when a newer one starts.
  ASSERT_TRUE(
      s->update_run_status(run, store::RunStatus::cancelled, "superseded by run 7 (commit 1234567)")
          .ok());
  auto answered = answer_gate(*s.store, run, ApprovalStatus::approved, "alice", "ship it");
  ASSERT_FALSE(answered.ok());
  EXPECT_EQ(answered.error().code, Errc::conflict);
  EXPECT_NE(answered.error().message.find("superseded by run 7"), std::string::npos)
      << answered.error().message;
  EXPECT_NE(answered.error().message.find("can no longer be answered"), std::string::npos)
      << answered.error().message;
  // No approval recorded, no audit line.
  EXPECT_EQ(s->get_approval(run)->status, ApprovalStatus::pending);
  EXPECT_TRUE(s->list_audit()->empty());
}

TEST(Gates, ARunThatDoesNotExistIsNamed) {
  TempStore s;
  auto none = answer_gate(*s.store, 999, ApprovalStatus::approved, "alice", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message.rfind("there is no run 999", 0), 0u) << none.error().message;
  EXPECT_TRUE(s->list_audit()->empty());
}

TEST(Gates, ARunNotWaitingAtAGateIsAConflictSayingWhereItIs) {
  TempStore s;
  int64_t run =
      s->create_run(store::NewRun{"shop", "abcdef0123", "abcdef0", store::Trigger::manual, ""})->id;
  ASSERT_TRUE(s->update_run_status(run, store::RunStatus::running).ok());
  auto answered = answer_gate(*s.store, run, ApprovalStatus::approved, "alice", "");
  ASSERT_FALSE(answered.ok());
  EXPECT_EQ(answered.error().code, Errc::conflict);
  EXPECT_NE(answered.error().message.find("is running, not waiting at an approval gate"),
            std::string::npos)
      << answered.error().message;
  EXPECT_TRUE(s->list_audit()->empty());
}

}  // namespace
}  // namespace ztp::engine
