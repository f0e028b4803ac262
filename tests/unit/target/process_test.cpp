#include "target/local/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;

TEST(ProcStatTest, ParsesACommandNameWithSpacesAndParentheses) {
  std::string text =
      "1234 (my (odd) app) S 1 1200 1200 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "5551234 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  auto stat = parse_proc_stat(text);
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->pgrp, 1200);
  EXPECT_EQ(stat->start_time, 5551234U);
}

TEST(ProcStatTest, RejectsTruncatedText) {
  EXPECT_FALSE(parse_proc_stat("1234 (app) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("garbage"));
}

TEST(ProcStatTest, ReadsThisProcess) {
  auto stat = read_proc_stat(::getpid());
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->pgrp, ::getpgrp());
  EXPECT_GT(stat->start_time, 0U);
}

}  // namespace
}  // namespace ztp::target::local
