// /metrics rendered from a real state database and the proxy's bucket layout passes
// `promtool check metrics` (Debian's prometheus package) and the rules of the text format
// 0.0.4 (../shared/vectors/prometheus/spec/exposition_formats.md).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "proxy/histogram.hpp"
#include "server/metrics.hpp"
#include "support/support.hpp"
#include "unit/store/store_test_util.hpp"

namespace ztp {
namespace {

using namespace std::chrono_literals;

// A state database with runs of every outcome, stages, checks, rollbacks and releases.
void fill(store::SqliteStore& s, testing::FakeClock& clock) {
  int n = 0;
  for (auto status :
       {store::RunStatus::succeeded, store::RunStatus::failed, store::RunStatus::rolled_back,
        store::RunStatus::cancelled, store::RunStatus::awaiting_approval}) {
    std::string sha = std::string(7, static_cast<char>('a' + n++));
    auto run = s.create_run({"shop", sha + "123", sha, store::Trigger::webhook, ""});
    ASSERT_TRUE(run.ok());
    for (const char* stage : {"build", "push"}) {
      auto st = s.start_stage(run->id, stage);
      clock.advance(std::chrono::milliseconds(700 * n));
      ASSERT_TRUE(s.finish_stage(st->id, store::StageStatus::succeeded).ok());
    }
    auto gate = s.start_stage(run->id, "rollout", std::string("prod \"main\""));
    clock.advance(42s);
    ASSERT_TRUE(s.finish_stage(gate->id, status == store::RunStatus::succeeded
                                             ? store::StageStatus::succeeded
                                             : store::StageStatus::failed)
                    .ok());
    ASSERT_TRUE(s.update_run_status(run->id, store::RunStatus::running).ok());
    ASSERT_TRUE(s.update_run_status(run->id, status, "reason").ok());
  }
  auto ev = [&](const std::string& env, const std::string& kind, const std::string& data) {
    ASSERT_TRUE(s.append_event({std::nullopt, env, kind, "m", data}).ok());
  };
  ev("qa", "check.passed", R"({"suite":"smoke","name":"about page"})");
  ev("qa", "check.failed", R"({"suite":"smoke","name":"path with \\ and \"quotes\""})");
  ev("qa", "rollout.failed", R"({"code":"timeout"})");
  ev("qa", "rollout.rolled_back", "{}");
  ev("qa", "rollback.succeeded", "{}");
  ev("qa", "reconcile.restored", "{}");
  store::NewRelease nr;
  nr.env = "qa";
  nr.digest = "sha256:" + std::string(64, 'c');
  nr.short_sha = "ccccccc";
  auto rel = s.create_release(nr);
  ASSERT_TRUE(s.set_release_status("qa", rel->revision, store::ReleaseStatus::active).ok());
}

// The proxy's real bucket layout (0.1 ms .. 60 s, +Inf), with some traffic.
target::ReleaseMetrics proxy_counters(const std::string& release) {
  target::ReleaseMetrics m;
  m.release = release;
  for (size_t i = 0; i < proxy::k_latency_buckets; ++i) {
    m.bucket_bounds_ms.push_back(proxy::bucket_upper_ms(i));
    m.bucket_counts.push_back(i % 5);
    m.requests += i % 5;
  }
  m.errors = 3;
  return m;
}

std::string render(testing::TempDir& dir) {
  testing::FakeClock clock;
  auto s = store::SqliteStore::open(dir / "state.db", clock);
  EXPECT_TRUE(s.ok());
  fill(**s, clock);
  spec::Spec sp;
  sp.app = "shop";
  for (const char* name : {"qa", "prod \"main\""}) {
    spec::Environment e;
    e.name = name;
    sp.environments.push_back(e);
  }
  server::TrafficSource traffic =
      [](const std::string& env) -> Result<std::vector<target::ReleaseMetrics>> {
    if (env == "qa") {
      return std::vector<target::ReleaseMetrics>{proxy_counters("1"), proxy_counters("2")};
    }
    return make_error(Errc::unavailable, "no proxy");
  };
  auto text = server::render_metrics(**s, sp, traffic);
  EXPECT_TRUE(text.ok()) << text.error().message;
  return text.ok() ? *text : "";
}

testing::ProcessResult promtool(const std::filesystem::path& file) {
  return testing::run_process({"sh", "-c", "promtool check metrics < '" + file.string() + "'"});
}

TEST(MetricsPromtool, RenderedMetricsPassPromtool) {
  REQUIRE_TOOL("promtool", "prometheus");
  testing::TempDir dir;
  auto text = render(dir);
  ASSERT_FALSE(text.empty());
  auto file = dir / "metrics.txt";
  std::ofstream(file) << text;
  auto r = promtool(file);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n" << text;
  EXPECT_EQ(r.out + r.err, "") << "promtool's lint found problems";

  // The check can fail: a counter without _total and a duplicated HELP are reported.
  auto bad = dir / "bad.txt";
  std::ofstream(bad) << text << "# HELP ztp_runs_total again\n# TYPE ztp_bad counter\nztp_bad 1\n";
  EXPECT_NE(promtool(bad).exit_code, 0);
}

TEST(MetricsPromtool, FollowsTheTextFormatRules) {
  testing::TempDir dir;
  auto text = render(dir);
  std::istringstream lines(text);
  std::string line;
  std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$)");
  std::regex type_line(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, std::string> types;
  std::set<std::string> finished;  // families whose group ended
  std::set<std::string> seen;      // name+labels
  std::string current;
  std::map<std::string, double> inf_bucket;
  std::map<std::string, double> counts;
  for (int n = 1; std::getline(lines, line); ++n) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      continue;
    }
    if (std::regex_match(line, m, type_line)) {
      ASSERT_FALSE(types.count(m[1])) << "second TYPE for " << m[1];
      types[m[1]] = m[2];
      if (!current.empty()) {
        finished.insert(current);
      }
      current = m[1];
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "line " << n << ": " << line;
    std::string name = m[1];
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (types.count(family) == 0 && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        family = name.substr(0, name.size() - s.size());
      }
    }
    EXPECT_EQ(family, current) << "line " << n << " is outside its family's group";
    EXPECT_FALSE(finished.count(family)) << family << " appears in two groups";
    EXPECT_TRUE(seen.insert(name + m[2].str()).second) << "duplicate " << line;
    double value = m[5] == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(m[5]);
    std::string series = m[2].str();
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0 &&
        series.find("le=\"+Inf\"") != std::string::npos) {
      std::string key = std::regex_replace(series, std::regex(R"(,?le="\+Inf")"), "");
      inf_bucket[family + key] = value;
    }
    if (types[family] == "histogram" && name == family + "_count") {
      counts[family + series] = value;
    }
  }
  ASSERT_FALSE(counts.empty());
  EXPECT_EQ(inf_bucket, counts) << "every histogram has a +Inf bucket equal to its _count";
  for (const char* family : {"ztp_runs_total", "ztp_stage_duration_seconds", "ztp_rollouts_total",
                             "ztp_rollbacks_total", "ztp_check_results_total", "ztp_release_info",
                             "ztp_proxy_requests_total", "ztp_proxy_request_duration_seconds"}) {
    EXPECT_TRUE(types.count(family)) << family;
  }
}

}  // namespace
}  // namespace ztp
