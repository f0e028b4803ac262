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

}  // namespace
}  // namespace ztp::engine
