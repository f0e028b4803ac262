#include "verify/analysis.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace ztp::verify {
namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

target::ReleaseMetrics reading(const std::string& release, uint64_t requests, uint64_t errors,
                               std::vector<uint64_t> counts = {}) {
  target::ReleaseMetrics m;
  m.release = release;
  m.requests = requests;
  m.errors = errors;
  if (!counts.empty()) {
    m.bucket_bounds_ms = {10, 100, 500, 1000, k_inf};
    m.bucket_counts = std::move(counts);
  }
  return m;
}

Window window(uint64_t requests, uint64_t errors, std::vector<uint64_t> counts = {}) {
  auto m = reading("x", requests, errors, std::move(counts));
  return Window{m.requests, m.errors, m.bucket_bounds_ms, m.bucket_counts};
}

spec::Analysis limits() {
  spec::Analysis a;
  a.max_error_rate = 0.01;
  a.max_p95 = std::chrono::milliseconds(500);
  a.min_requests = 20;
  return a;
}

TEST(AnalysisWindowTest, IsTheDifferenceOfTwoReadings) {
  Window w = window_between(reading("7", 100, 4, {50, 40, 10, 0, 0}),
                            reading("7", 160, 9, {80, 60, 20, 0, 0}));
  EXPECT_EQ(w.requests, 60u);
  EXPECT_EQ(w.errors, 5u);
  EXPECT_EQ(w.bucket_counts, (std::vector<uint64_t>{30, 20, 10, 0, 0}));
}

TEST(AnalysisWindowTest, CountersThatWentBackMeanTheRouterRestarted) {
  Window w = window_between(reading("7", 1000, 40, {900, 100, 0, 0, 0}),
                            reading("7", 30, 1, {30, 0, 0, 0, 0}));
  EXPECT_EQ(w.requests, 30u);
  EXPECT_EQ(w.errors, 1u);
  EXPECT_EQ(w.bucket_counts, (std::vector<uint64_t>{30, 0, 0, 0, 0}));
}

TEST(AnalysisP95Test, InterpolatesInsideTheBucketOfTheRank) {
  // 100 observations: rank 95 is the 5th of 10 in (100, 500] → 100 + 400 × 5/10.
  EXPECT_DOUBLE_EQ(p95_ms(window(100, 0, {60, 30, 10, 0, 0})), 300);
  // Rank 95 is the last of the first bucket: its upper bound.
  EXPECT_DOUBLE_EQ(p95_ms(window(100, 0, {95, 5, 0, 0, 0})), 10);
  // One observation: rank 1, the whole of its bucket.
  EXPECT_DOUBLE_EQ(p95_ms(window(1, 0, {0, 0, 0, 1, 0})), 1000);
  EXPECT_DOUBLE_EQ(p95_ms(window(0, 0, {0, 0, 0, 0, 0})), 0);
}

TEST(AnalysisP95Test, OverflowBucketGivesTheLastFiniteBound) {
  EXPECT_DOUBLE_EQ(p95_ms(window(100, 0, {50, 0, 0, 0, 50})), 1000);
}

TEST(AnalysisP95Test, ComesFromTheBucketDeltasNotTheTotals) {
  // Slow before the step, fast during it: only the window counts.
  auto start = reading("7", 1000, 0, {0, 0, 0, 0, 1000});
  auto now = reading("7", 1100, 0, {100, 0, 0, 0, 1000});
  Judgement j = analyse({start}, {now}, "7", limits());
  EXPECT_EQ(j.verdict, Verdict::pass) << j.reason;
  EXPECT_DOUBLE_EQ(j.measured.p95_ms, 9.5);
}

TEST(AnalysisJudgeTest, BelowMinimumRequestsIsInconclusive) {
  Judgement j = judge(window(7, 7, {7, 0, 0, 0, 0}), window(1000, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::inconclusive);
  EXPECT_EQ(j.reason, "inconclusive: 7 requests, need 20");
  EXPECT_EQ(j.measured.requests, 7u);
}

TEST(AnalysisJudgeTest, ExactlyMinimumRequestsIsJudged) {
  Judgement j = judge(window(20, 0, {20, 0, 0, 0, 0}), window(0, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::pass) << j.reason;
}

TEST(AnalysisJudgeTest, ErrorRateAboveTheAbsoluteLimitFails) {
  Judgement j = judge(window(40, 5, {40, 0, 0, 0, 0}), window(400, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason, "canary error rate 12.5% (5 of 40) above max 1.0%");
  EXPECT_DOUBLE_EQ(j.measured.error_rate, 0.125);
  EXPECT_EQ(j.measured.errors, 5u);
}

TEST(AnalysisJudgeTest, ErrorRateAtTheLimitPasses) {
  Judgement j = judge(window(100, 1, {100, 0, 0, 0, 0}), window(0, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::pass) << j.reason;
}

TEST(AnalysisJudgeTest, ErrorRateClearlyAboveTheStableSetsFails) {
  // 0.8% is under the 1% limit, but the stable set makes 0.1%.
  Judgement j = judge(window(500, 4, {500, 0, 0, 0, 0}), window(2000, 2), limits());
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason,
            "canary error rate 0.8% (4 of 500) above the stable set's 0.1% (2 of 2000) by more "
            "than 0.5%");
  EXPECT_DOUBLE_EQ(j.measured.stable_error_rate, 0.001);
}

TEST(AnalysisJudgeTest, ErrorRateNearTheStableSetsPasses) {
  // 0.8% against 0.6%: not twice the stable rate.
  EXPECT_EQ(judge(window(500, 4, {500, 0, 0, 0, 0}), window(2000, 12), limits()).verdict,
            Verdict::pass);
  // 0.4% against 0%: twice as bad, but within half the budget.
  EXPECT_EQ(judge(window(1000, 4, {1000, 0, 0, 0, 0}), window(2000, 0), limits()).verdict,
            Verdict::pass);
}

TEST(AnalysisJudgeTest, TooFewErrorsOrStableRequestsSkipTheComparison) {
  // Two errors are too few to call the canary worse.
  EXPECT_EQ(judge(window(250, 2, {250, 0, 0, 0, 0}), window(5000, 0), limits()).verdict,
            Verdict::pass);
  // A stable set below min_requests is no reference.
  EXPECT_EQ(judge(window(500, 4, {500, 0, 0, 0, 0}), window(19, 0), limits()).verdict,
            Verdict::pass);
}

TEST(AnalysisJudgeTest, P95AboveTheLimitFails) {
  // Rank 95 of 100 is the 5th of 10 in (500, 1000] → 750 ms.
  Judgement j = judge(window(100, 0, {90, 0, 0, 10, 0}), window(100, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason, "canary p95 750 ms above max 500 ms (100 requests)");
  EXPECT_DOUBLE_EQ(j.measured.p95_ms, 750);
}

TEST(AnalysisJudgeTest, ErrorRateIsJudgedBeforeLatency) {
  Judgement j = judge(window(100, 50, {0, 0, 0, 100, 0}), window(100, 0), limits());
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason.rfind("canary error rate 50.0% (50 of 100)", 0), 0u) << j.reason;
}

TEST(AnalysisJudgeTest, PassSaysWhatWasMeasured) {
  Judgement j = judge(window(200, 1, {190, 10, 0, 0, 0}), window(1800, 2), limits());
  EXPECT_EQ(j.verdict, Verdict::pass);
  EXPECT_EQ(j.reason,
            "canary error rate 0.5% (1 of 200), p95 10 ms; stable error rate 0.1% (2 of 1800)");
}

TEST(AnalysisJudgeTest, ReasonNamesTheSubject) {
  EXPECT_EQ(judge(window(100, 0, {90, 0, 0, 10, 0}), window(0, 0), limits(), "release 8").reason,
            "release 8 p95 750 ms above max 500 ms (100 requests)");
  EXPECT_EQ(judge(window(40, 5), window(0, 0), limits(), "release 8").reason,
            "release 8 error rate 12.5% (5 of 40) above max 1.0%");
  std::vector<target::ReleaseMetrics> start{reading("8", 10, 0, {10, 0, 0, 0, 0})};
  std::vector<target::ReleaseMetrics> now{reading("8", 110, 0, {110, 0, 0, 0, 0})};
  EXPECT_EQ(analyse(start, now, "8", limits(), "release 8").reason,
            "release 8 error rate 0.0% (0 of 100), p95 9.5 ms; stable error rate 0.0% (0 of 0)");
}

TEST(AnalysisTest, MergesEveryOtherReleaseIntoTheStableSet) {
  std::vector<target::ReleaseMetrics> start{reading("5", 100, 0), reading("6", 100, 0)};
  // Release 7 appears only in the later reading: it counts from zero.
  std::vector<target::ReleaseMetrics> now{reading("5", 1100, 1), reading("6", 1100, 1),
                                          reading("7", 300, 3, {300, 0, 0, 0, 0})};
  Judgement j = analyse(start, now, "7", limits());
  EXPECT_EQ(j.measured.requests, 300u);
  EXPECT_EQ(j.measured.stable_requests, 2000u);
  EXPECT_EQ(j.measured.stable_errors, 2u);
  // 1% is within the limit, but ten times the stable 0.1%.
  EXPECT_EQ(j.verdict, Verdict::fail) << j.reason;
}

TEST(AnalysisTest, CanaryMissingFromTheReadingsIsInconclusive) {
  Judgement j = analyse({reading("6", 0, 0)}, {reading("6", 500, 0)}, "7", limits());
  EXPECT_EQ(j.verdict, Verdict::inconclusive);
  EXPECT_EQ(j.reason, "inconclusive: 0 requests, need 20");
}

TEST(AnalysisTest, FormatsPercentagesForPeople) {
  EXPECT_EQ(format_percent(0.125), "12.5%");
  EXPECT_EQ(format_percent(0.01), "1.0%");
  EXPECT_EQ(format_percent(0), "0.0%");
  EXPECT_EQ(format_percent(0.0004), "0.04%");
  EXPECT_EQ(format_percent(1), "100.0%");
}

}  // namespace
}  // namespace ztp::verify
