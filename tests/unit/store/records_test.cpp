#include "store/records.hpp"

#include <gtest/gtest.h>

namespace ztp::store {
namespace {

TEST(RecordsTest, NamesRoundTrip) {
  for (auto v :
       {RunStatus::queued, RunStatus::running, RunStatus::awaiting_approval, RunStatus::succeeded,
        RunStatus::failed, RunStatus::rolled_back, RunStatus::cancelled}) {
    EXPECT_EQ(parse_run_status(to_string(v)), v);
  }
  for (auto v : {Trigger::manual, Trigger::poll, Trigger::webhook, Trigger::deploy}) {
    EXPECT_EQ(parse_trigger(to_string(v)), v);
  }
  for (auto v : {StageStatus::pending, StageStatus::running, StageStatus::succeeded,
                 StageStatus::failed, StageStatus::skipped}) {
    EXPECT_EQ(parse_stage_status(to_string(v)), v);
  }
  for (auto v : {ReleaseStatus::pending, ReleaseStatus::deploying, ReleaseStatus::active,
                 ReleaseStatus::failed, ReleaseStatus::rolled_back, ReleaseStatus::superseded}) {
    EXPECT_EQ(parse_release_status(to_string(v)), v);
  }
  for (auto v : {ApprovalStatus::pending, ApprovalStatus::approved, ApprovalStatus::rejected}) {
    EXPECT_EQ(parse_approval_status(to_string(v)), v);
  }
  EXPECT_EQ(to_string(RunStatus::awaiting_approval), "awaiting_approval");
  EXPECT_FALSE(parse_run_status("done"));
  EXPECT_FALSE(parse_trigger(""));
}

TEST(RecordsTest, FinalStatuses) {
  EXPECT_FALSE(is_final(RunStatus::awaiting_approval));
  EXPECT_TRUE(is_final(RunStatus::cancelled));
  EXPECT_TRUE(is_final(RunStatus::rolled_back));
  EXPECT_FALSE(is_final(StageStatus::pending));
  EXPECT_TRUE(is_final(StageStatus::skipped));
}

}  // namespace
}  // namespace ztp::store
