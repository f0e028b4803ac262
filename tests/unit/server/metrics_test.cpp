#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include "unit/store/store_test_util.hpp"

namespace ztp::server {
namespace {

using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

spec::Spec two_envs() {
  spec::Spec sp;
  sp.app = "shop";
  for (const char* name : {"qa", "prod"}) {
    spec::Environment e;
    e.name = name;
    sp.environments.push_back(e);
  }
  return sp;
}

target::ReleaseMetrics counters(const std::string& release, uint64_t requests, uint64_t errors) {
  target::ReleaseMetrics m;
  m.release = release;
  m.requests = requests;
  m.errors = errors;
  m.bucket_bounds_ms = {1, 10, 100, std::numeric_limits<double>::infinity()};
  m.bucket_counts = {requests / 2, requests / 4, requests / 4, 0};
  return m;
}

TEST(Exposition, EscapesLabelsAndWritesCumulativeHistograms) {
  Exposition out;
  out.family("x_seconds", "histogram", "A help\nline with \\.");
  out.histogram("x_seconds", {{"a", "q\"u\\o\nte"}}, {0.5, 1}, {2, 3}, 4.25);
  EXPECT_EQ(out.text(),
            "# HELP x_seconds A help\\nline with \\\\.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{a=\"q\\\"u\\\\o\\nte\",le=\"0.5\"} 2\n"
            "x_seconds_bucket{a=\"q\\\"u\\\\o\\nte\",le=\"1\"} 5\n"
            "x_seconds_bucket{a=\"q\\\"u\\\\o\\nte\",le=\"+Inf\"} 5\n"
            "x_seconds_sum{a=\"q\\\"u\\\\o\\nte\"} 4.25\n"
            "x_seconds_count{a=\"q\\\"u\\\\o\\nte\"} 5\n");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(12), "12");
}

TEST(RenderMetrics, CountsRunsStagesRollbacksChecksAndTheCurrentRelease) {
  store::test::TempStore s;
  auto ok = s->create_run({"shop", "abcdef1234", "abcdef1", store::Trigger::manual, ""});
  auto build = s->start_stage(ok->id, "build");
  s.clock.advance(3s);
  ASSERT_TRUE(s->finish_stage(build->id, store::StageStatus::succeeded).ok());
  ASSERT_TRUE(s->update_run_status(ok->id, store::RunStatus::running).ok());
  ASSERT_TRUE(s->update_run_status(ok->id, store::RunStatus::succeeded).ok());
  auto bad = s->create_run({"shop", "bbbbbb1234", "bbbbbb1", store::Trigger::webhook, ""});
  ASSERT_TRUE(s->update_run_status(bad->id, store::RunStatus::rolled_back, "no").ok());
  ASSERT_TRUE(s->create_run({"shop", "cccccc1234", "cccccc1", store::Trigger::poll, ""}).ok());

  auto event = [&](const std::string& env, const std::string& kind, const std::string& data) {
    ASSERT_TRUE(s->append_event({std::nullopt, env, kind, "", data}).ok());
  };
  event("prod", "check.passed", R"({"suite":"smoke","name":"home"})");
  event("prod", "check.failed", R"({"suite":"smoke","name":"home"})");
  event("prod", "check.failed", R"({"suite":"smoke","name":"home"})");
  event("prod", "rollout.failed", R"({"code":"unhealthy"})");
  event("prod", "rollout.rolled_back", "{}");
  event("qa", "rollback.succeeded", "{}");

  store::NewRelease nr;
  nr.env = "prod";
  nr.digest = "sha256:" + std::string(64, 'a');
  nr.short_sha = "abcdef1";
  nr.strategy = "canary";
  auto rel = s->create_release(nr);
  ASSERT_TRUE(s->set_release_status("prod", rel->revision, store::ReleaseStatus::active).ok());
  auto failed = s->create_release(nr);
  ASSERT_TRUE(
      s->set_release_status("prod", failed->revision, store::ReleaseStatus::rolled_back).ok());

  auto spec = two_envs();
  TrafficSource traffic =
      [](const std::string& env) -> Result<std::vector<target::ReleaseMetrics>> {
    if (env == "qa") {
      return make_error(Errc::unavailable, "no proxy");
    }
    return std::vector<target::ReleaseMetrics>{counters("1", 8, 1)};
  };
  auto text = render_metrics(*s.store, spec, traffic);
  ASSERT_TRUE(text.ok()) << text.error().message;
  const std::string& t = *text;
  EXPECT_TRUE(has_line(t, "ztp_runs_total{outcome=\"succeeded\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "ztp_runs_total{outcome=\"rolled_back\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_runs_total{outcome=\"failed\"} 0"));
  EXPECT_TRUE(has_line(t, "ztp_runs_in_progress{status=\"queued\"} 1"));
  EXPECT_TRUE(has_line(t,
                       "ztp_stage_duration_seconds_bucket{stage=\"build\",env=\"\",status="
                       "\"succeeded\",le=\"2.5\"} 0"));
  EXPECT_TRUE(has_line(t,
                       "ztp_stage_duration_seconds_bucket{stage=\"build\",env=\"\",status="
                       "\"succeeded\",le=\"5\"} 1"));
  EXPECT_TRUE(has_line(
      t, "ztp_stage_duration_seconds_sum{stage=\"build\",env=\"\",status=\"succeeded\"} 3"));
  EXPECT_TRUE(has_line(t, "ztp_rollbacks_total{env=\"prod\",reason=\"unhealthy\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_rollbacks_total{env=\"qa\",reason=\"manual\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_rollouts_total{env=\"prod\",outcome=\"succeeded\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_rollouts_total{env=\"prod\",outcome=\"rolled_back\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_rollouts_total{env=\"qa\",outcome=\"succeeded\"} 0"));
  EXPECT_TRUE(has_line(
      t,
      "ztp_check_results_total{env=\"prod\",suite=\"smoke\",check=\"home\",result=\"failed\"} 2"));
  EXPECT_TRUE(has_line(t, "ztp_release_info{app=\"shop\",env=\"prod\",revision=\"1\",digest=\"" +
                              nr.digest + "\",short_sha=\"abcdef1\",strategy=\"canary\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_proxy_up{env=\"qa\"} 0"));
  EXPECT_TRUE(has_line(t, "ztp_proxy_up{env=\"prod\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_proxy_requests_total{env=\"prod\",release=\"1\"} 8"));
  EXPECT_TRUE(has_line(t, "ztp_proxy_errors_total{env=\"prod\",release=\"1\"} 1"));
  EXPECT_TRUE(has_line(
      t, "ztp_proxy_request_duration_seconds_bucket{env=\"prod\",release=\"1\",le=\"0.01\"} 6"));
  EXPECT_TRUE(has_line(
      t, "ztp_proxy_request_duration_seconds_bucket{env=\"prod\",release=\"1\",le=\"+Inf\"} 8"));
  EXPECT_TRUE(
      has_line(t, "ztp_proxy_request_duration_seconds_count{env=\"prod\",release=\"1\"} 8"));
}

TEST(RenderMetrics, ARendererCarriesItsTotalsFromScrapeToScrape) {
  store::test::TempStore s;
  auto event = [&](const std::string& env, const std::string& kind, const std::string& data) {
    ASSERT_TRUE(s->append_event({std::nullopt, env, kind, "", data}).ok());
  };
  auto spec = two_envs();
  MetricsRenderer renderer(*s.store, spec);
  event("prod", "check.failed", R"({"suite":"smoke","name":"home"})");
  event("prod", "rollout.failed", R"({"code":"timeout"})");
  auto first = renderer.render();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->find("ztp_rollbacks_total{env=\"prod\""), std::string::npos) << *first;

  // The rollback's reason comes from the failure folded in the scrape before.
  event("prod", "rollout.rolled_back", "{}");
  event("prod", "check.failed", R"({"suite":"smoke","name":"home"})");
  auto run = s->create_run({"shop", "abcdef1234", "abcdef1", store::Trigger::manual, ""});
  auto build = s->start_stage(run->id, "build");
  s.clock.advance(2500ms);  // on a bucket's bound: counted in it
  ASSERT_TRUE(s->finish_stage(build->id, store::StageStatus::succeeded).ok());
  auto second = renderer.render();
  ASSERT_TRUE(second.ok()) << second.error().message;
  const std::string& t = *second;
  EXPECT_TRUE(has_line(t, "ztp_rollbacks_total{env=\"prod\",reason=\"timeout\"} 1")) << t;
  EXPECT_TRUE(has_line(
      t,
      "ztp_check_results_total{env=\"prod\",suite=\"smoke\",check=\"home\",result=\"failed\"} 2"));
  EXPECT_TRUE(has_line(t,
                       "ztp_stage_duration_seconds_bucket{stage=\"build\",env=\"\",status="
                       "\"succeeded\",le=\"1\"} 0"));
  EXPECT_TRUE(has_line(t,
                       "ztp_stage_duration_seconds_bucket{stage=\"build\",env=\"\",status="
                       "\"succeeded\",le=\"2.5\"} 1"));
  EXPECT_TRUE(has_line(t,
                       "ztp_stage_duration_seconds_bucket{stage=\"build\",env=\"\",status="
                       "\"succeeded\",le=\"+Inf\"} 1"));
  EXPECT_TRUE(has_line(t, "ztp_runs_in_progress{status=\"queued\"} 1"));
  // Scrape after scrape says what one scrape of the whole history says.
  auto fresh = render_metrics(*s.store, spec);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(t, *fresh);
}

TEST(RenderMetrics, WithoutATrafficSourceLeavesTheProxyOut) {
  store::test::TempStore s;
  auto text = render_metrics(*s.store, two_envs());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("ztp_proxy_"), std::string::npos);
  EXPECT_NE(text->find("# TYPE ztp_release_info gauge"), std::string::npos);
}

}  // namespace
}  // namespace ztp::server
