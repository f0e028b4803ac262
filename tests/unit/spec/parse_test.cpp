#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "spec/json.hpp"
#include "spec/parse.hpp"
#include "spec_test_util.hpp"

namespace ztp::spec {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::located;
using ::testing::Pair;
using testing::parse_corpus;
using testing::parse_text;

const char* k_minimal =
    "app: demo\n"
    "environments:\n"
    "  - name: dev\n"
    "    listen: 127.0.0.1:8081\n";

TEST(SpecParseTest, FullSpecFillsEveryField) {
  auto out = parse_corpus("valid_full.yaml");
  ASSERT_TRUE(out.spec) << (out.diagnostics.empty() ? "" : to_string(out.diagnostics[0]));
  const Spec& s = *out.spec;
  EXPECT_EQ(s.file, "ztp.yaml");
  EXPECT_EQ(s.app, "sample-site");

  EXPECT_EQ(s.source.repo, ".");
  EXPECT_EQ(s.source.branch, "main");
  EXPECT_THAT(s.source.paths, ElementsAre("src/**", "conf/**", "nginx*.conf", "ztp.yaml"));
  EXPECT_EQ(s.source.poll_interval, 30s);

  EXPECT_EQ(s.build.context, ".");
  EXPECT_THAT(s.build.exclude, ElementsAre("*.md"));
  EXPECT_TRUE(s.build.entrypoint.empty());
  EXPECT_THAT(s.build.command,
              ElementsAre("nginx", "-p", "{{replica_dir}}", "-c",
                          "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"));
  EXPECT_THAT(s.build.env, ElementsAre(Pair("KEY", "value")));
  EXPECT_THAT(s.build.templates, ElementsAre("nginx.local.conf"));

  EXPECT_EQ(s.registry.kind, Registry::Kind::local);
  EXPECT_EQ(s.registry.url, "local");
  EXPECT_EQ(s.registry.pos.line, 14);
  EXPECT_EQ(s.registry.pos.column, 11);

  EXPECT_EQ(s.service.port, 80);
  EXPECT_EQ(s.service.port_range_first, 20000);
  EXPECT_EQ(s.service.port_range_last, 29999);
  EXPECT_EQ(s.service.health.path, "/health");
  EXPECT_EQ(s.service.health.interval, 2s);
  EXPECT_EQ(s.service.health.timeout, 1s);
  EXPECT_EQ(s.service.health.healthy_threshold, 1);
  EXPECT_EQ(s.service.health.unhealthy_threshold, 3);
  EXPECT_EQ(s.service.start_timeout, 60s);
  EXPECT_EQ(s.service.stop_timeout, 10s);
  EXPECT_EQ(s.service.drain_timeout, 30s);

  ASSERT_EQ(s.checks.size(), 1u);
  const CheckSuite& smoke = s.checks[0];
  EXPECT_EQ(smoke.name, "smoke");
  EXPECT_EQ(smoke.pos.line, 23);
  ASSERT_EQ(smoke.checks.size(), 1u);
  const Check& c = smoke.checks[0];
  EXPECT_EQ(c.name, "home page");
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/");
  EXPECT_THAT(c.headers, ElementsAre(Pair("Accept", "text/html")));
  EXPECT_EQ(c.body, "");
  EXPECT_THAT(c.expect_status, ElementsAre(200));
  EXPECT_THAT(c.body_contains, ElementsAre("AWS ECS Demo"));
  EXPECT_EQ(c.body_regex, "<title>.*</title>");
  ASSERT_EQ(c.expect_headers.size(), 3u);
  EXPECT_EQ(c.expect_headers[0].name, "X-Frame-Options");
  EXPECT_EQ(c.expect_headers[0].equals, "SAMEORIGIN");
  EXPECT_FALSE(c.expect_headers[0].matches);
  EXPECT_EQ(c.expect_headers[1].name, "Content-Security-Policy");
  EXPECT_FALSE(c.expect_headers[1].equals);
  EXPECT_FALSE(c.expect_headers[1].matches);
  EXPECT_TRUE(c.expect_headers[1].present);
  EXPECT_EQ(c.expect_headers[2].name, "Cache-Control");
  EXPECT_EQ(c.expect_headers[2].matches, "max-age=\\d+");
  EXPECT_EQ(c.max_latency, 2s);
  EXPECT_EQ(c.min_cert_days, 14);
  EXPECT_EQ(c.retry.attempts, 3);
  EXPECT_EQ(c.retry.interval, 1s);
  EXPECT_DOUBLE_EQ(c.retry.backoff, 2.0);
  EXPECT_EQ(c.retry.max_interval, 10s);
  EXPECT_TRUE(c.retry.jitter);
  EXPECT_EQ(c.retry.deadline, 60s);
  EXPECT_EQ(c.retry.circuit_breaker, 5);
  EXPECT_EQ(c.pos.line, 24);
  EXPECT_EQ(c.pos.column, 7);

  ASSERT_EQ(s.environments.size(), 3u);
  const Environment& dev = s.environments[0];
  EXPECT_EQ(dev.name, "dev");
  EXPECT_EQ(dev.target, "local");
  EXPECT_EQ(dev.listen, "127.0.0.1:8081");
  EXPECT_EQ(dev.replicas, 2);
  EXPECT_EQ(dev.gate, Gate::automatic);
  EXPECT_EQ(dev.strategy.kind, Strategy::Kind::rolling);
  EXPECT_EQ(dev.strategy.rolling.max_surge, 1);
  EXPECT_EQ(dev.strategy.rolling.max_unavailable, 0);
  EXPECT_THAT(dev.verify, ElementsAre("smoke", "security_headers"));
  EXPECT_THAT(dev.env, ElementsAre(Pair("GREETING", "hello")));
  EXPECT_EQ(dev.pos.line, 41);
  EXPECT_EQ(dev.pos.column, 5);

  const Environment& qa = s.environments[1];
  EXPECT_EQ(qa.name, "qa");
  EXPECT_EQ(qa.replicas, 1);
  EXPECT_EQ(qa.strategy.kind, Strategy::Kind::blue_green);
  EXPECT_EQ(qa.strategy.blue_green.preview_listen, "127.0.0.1:9082");
  EXPECT_EQ(qa.strategy.blue_green.keep_previous, 10min);
  EXPECT_THAT(qa.verify, ElementsAre("smoke", "error_pages"));

  const Environment& prod = s.environments[2];
  EXPECT_EQ(prod.gate, Gate::approval);
  EXPECT_EQ(prod.replicas, 3);
  EXPECT_EQ(prod.strategy.kind, Strategy::Kind::canary);
  const Canary& canary = prod.strategy.canary;
  ASSERT_EQ(canary.steps.size(), 3u);
  EXPECT_EQ(canary.steps[0].weight, 10);
  EXPECT_EQ(canary.steps[0].pause, 30s);
  EXPECT_EQ(canary.steps[1].weight, 50);
  EXPECT_EQ(canary.steps[1].pause, 90s);
  EXPECT_EQ(canary.steps[2].weight, 100);
  EXPECT_EQ(canary.steps[2].pause, 30s);
  EXPECT_DOUBLE_EQ(canary.analysis.max_error_rate, 0.01);
  EXPECT_EQ(canary.analysis.max_p95, 500ms);
  EXPECT_EQ(canary.analysis.min_requests, 20);
  EXPECT_EQ(canary.analysis.deadline, 5min);
  EXPECT_TRUE(canary.analysis.pass_when_inconclusive);
  EXPECT_TRUE(prod.watch.enabled());
  EXPECT_EQ(prod.watch.window, 5min);
  EXPECT_DOUBLE_EQ(prod.watch.limits.max_error_rate, 0.02);
  EXPECT_EQ(prod.watch.limits.max_p95, 800ms);
  EXPECT_EQ(prod.watch.limits.min_requests, 50);
  EXPECT_FALSE(dev.watch.enabled());

  ASSERT_EQ(s.notify.size(), 3u);
  EXPECT_EQ(s.notify[0].kind, Notifier::Kind::slack);
  EXPECT_EQ(s.notify[0].url, "https://hooks.slack.com/services/T0/B0/secret");
  EXPECT_THAT(s.notify[0].events, ElementsAre("run_failed", "rolled_back"));
  EXPECT_EQ(s.notify[1].kind, Notifier::Kind::pagerduty);
  EXPECT_EQ(s.notify[1].routing_key, "abc123");
  EXPECT_TRUE(s.notify[1].events.empty());
  EXPECT_EQ(s.notify[2].kind, Notifier::Kind::webhook);
  EXPECT_EQ(s.notify[2].url, "https://hooks.example.com/ztp");
  EXPECT_EQ(s.notify[2].secret, "s3cr$t");
}

TEST(SpecParseTest, MinimalSpecGetsDefaults) {
  auto out = parse_text(k_minimal);
  ASSERT_TRUE(out.spec);
  const Spec& s = *out.spec;
  EXPECT_EQ(s.source.repo, ".");
  EXPECT_EQ(s.source.branch, "main");
  EXPECT_TRUE(s.source.paths.empty());
  EXPECT_EQ(s.source.poll_interval, 30s);
  EXPECT_EQ(s.registry.kind, Registry::Kind::local);
  EXPECT_EQ(s.service.port, 8080);
  EXPECT_EQ(s.service.port_range_first, 20000);
  EXPECT_EQ(s.service.health.path, "/health");
  EXPECT_TRUE(s.checks.empty());
  ASSERT_EQ(s.environments.size(), 1u);
  const Environment& dev = s.environments[0];
  EXPECT_EQ(dev.target, "local");
  EXPECT_EQ(dev.replicas, 1);
  // The post-deploy watch is off unless a window is written; its limits are the analysis's.
  EXPECT_FALSE(dev.watch.enabled());
  EXPECT_EQ(dev.watch.window, 0ms);
  EXPECT_DOUBLE_EQ(dev.watch.limits.max_error_rate, 0.01);
  EXPECT_EQ(dev.watch.limits.max_p95, 500ms);
  EXPECT_EQ(dev.watch.limits.min_requests, 20);
  EXPECT_EQ(dev.gate, Gate::automatic);
  EXPECT_EQ(dev.strategy.kind, Strategy::Kind::rolling);
  EXPECT_EQ(dev.strategy.rolling.max_surge, 1);
  EXPECT_TRUE(dev.verify.empty());
  EXPECT_TRUE(s.notify.empty());
}

TEST(SpecParseTest, CheckDefaultsAndShorthands) {
  auto out = parse_text(std::string(k_minimal) +
                        "checks:\n"
                        "  smoke:\n"
                        "    - path: /about\n"
                        "      expect:\n"
                        "        status: [200, 301]\n"
                        "        body_contains: [a, b]\n"
                        "        headers: {Server: nginx, X-Powered-By: {present: false}}\n"
                        "      retry: {interval: 20s}\n");
  ASSERT_TRUE(out.spec) << located(out).front();
  const Check& c = out.spec->checks[0].checks[0];
  EXPECT_EQ(c.name, "GET /about");
  EXPECT_THAT(c.expect_status, ElementsAre(200, 301));
  EXPECT_THAT(c.body_contains, ElementsAre("a", "b"));
  ASSERT_EQ(c.expect_headers.size(), 2u);
  EXPECT_EQ(c.expect_headers[0].equals, "nginx");
  EXPECT_FALSE(c.expect_headers[1].present);
  EXPECT_FALSE(c.max_latency);
  EXPECT_FALSE(c.min_cert_days);
  EXPECT_EQ(c.retry.interval, 20s);
  EXPECT_EQ(c.retry.max_interval, 20s);  // raised to the interval when not given
}

TEST(SpecParseTest, ExpandsVariablesDefaultsAndDollars) {
  auto out = parse_text(
      "app: demo\n"
      "build:\n"
      "  env:\n"
      "    A: ${SLACK_WEBHOOK_URL}\n"
      "    B: ${MISSING:-fallback}\n"
      "    C: ${EMPTY_VAR:-was-empty}\n"
      "    D: cost $$5 and $HOME stays\n"
      "    E: ${EMPTY_VAR}\n"
      "environments:\n"
      "  - name: dev\n"
      "    listen: 127.0.0.1:8081\n"
      "    replicas: ${REPLICAS}\n");
  ASSERT_TRUE(out.spec) << located(out).front();
  const auto& env = out.spec->build.env;
  EXPECT_EQ(env.at("A"), "https://hooks.slack.com/services/T0/B0/secret");
  EXPECT_EQ(env.at("B"), "fallback");
  EXPECT_EQ(env.at("C"), "was-empty");
  EXPECT_EQ(env.at("D"), "cost $5 and $HOME stays");
  EXPECT_EQ(env.at("E"), "");
  EXPECT_EQ(out.spec->environments[0].replicas, 4);
}

TEST(SpecParseTest, ValueProblemsAfterExpansionPointAtTheScalar) {
  auto out = parse_text(
      "app: demo\n"
      "environments:\n"
      "  - name: dev\n"
      "    listen: 127.0.0.1:8081\n"
      "    replicas: ${NOT_SET:-zero}\n");
  EXPECT_THAT(located(out), ElementsAre("5:15: replicas must be an integer"));
}

TEST(SpecParseTest, PageManualRollbacksNamesEnvironmentsOfAPagerDutyNotifier) {
  const std::string head = std::string(k_minimal) +
                           "  - name: prod\n"
                           "    listen: 127.0.0.1:8083\n"
                           "notify:\n";
  auto out = parse_text(head +
                        "  - type: pagerduty\n"
                        "    routing_key: k\n"
                        "    page_manual_rollbacks: [dev]\n"
                        "  - type: pagerduty\n"
                        "    routing_key: k\n");
  ASSERT_TRUE(out.spec) << located(out).front();
  EXPECT_EQ(out.spec->notify[0].page_manual_rollbacks, std::vector<std::string>{"dev"});
  EXPECT_FALSE(out.spec->notify[1].page_manual_rollbacks) << "unset: production only";
  EXPECT_THAT(located(parse_text(head + "  - type: pagerduty\n"
                                        "    routing_key: k\n"
                                        "    page_manual_rollbacks: [qa]\n")),
              ElementsAre("10:29: unknown environment `qa` in page_manual_rollbacks"));
  EXPECT_THAT(located(parse_text(head + "  - type: slack\n"
                                        "    url: https://hooks.example.com/x\n"
                                        "    page_manual_rollbacks: [dev]\n")),
              ElementsAre("10:28: page_manual_rollbacks applies to pagerduty notifiers only"));
}

TEST(SpecParseTest, DiagnosticPrintsFileLineColumnAndHint) {
  Diagnostic d{"app/ztp.yaml", 12, 5, "unknown key `replica` in environment",
               "did you mean `replicas`?"};
  EXPECT_EQ(to_string(d),
            "app/ztp.yaml:12:5: unknown key `replica` in environment (did you mean `replicas`?)");
  d.hint.clear();
  EXPECT_EQ(to_string(d), "app/ztp.yaml:12:5: unknown key `replica` in environment");
}

// yaml-cpp's LoadAll never ends on a stream that starts with ",": it returns empty documents
// at the same place until memory runs out (found by fuzz_spec).
TEST(SpecParseTest, AStreamThatStartsWithACommaIsASyntaxError) {
  for (const std::string& text :
       std::vector<std::string>{",", ", app: demo\n", std::string(",\0- a", 5)}) {
    auto out = parse_spec(text, "ztp.yaml", testing::fake_env);
    EXPECT_FALSE(out.spec);
    ASSERT_EQ(out.diagnostics.size(), 1u) << text;
    EXPECT_EQ(to_string(out.diagnostics[0]),
              "ztp.yaml:1:1: YAML syntax error: unexpected character (check the indentation and "
              "quoting around this point)");
  }
}

TEST(SpecParseTest, DiagnosticsNameTheFileAsGiven) {
  auto out = parse_spec("app: demo\n", "deploy/ztp.yaml", testing::fake_env);
  ASSERT_EQ(out.diagnostics.size(), 1u);
  EXPECT_EQ(out.diagnostics[0].file, "deploy/ztp.yaml");
}

TEST(SpecParseTest, LoadSpecReportsAMissingFile) {
  ztp::testing::TempDir dir;
  auto spec = load_spec(dir / "ztp.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code, Errc::not_found);
  EXPECT_THAT(spec.error().message, ::testing::HasSubstr("ztp init"));
  EXPECT_THAT(spec.error().message, ::testing::HasSubstr("-f"));
}

TEST(SpecParseTest, LoadSpecFoldsEveryDiagnosticIntoOneError) {
  ztp::testing::TempDir dir;
  auto path = dir / "ztp.yaml";
  std::ofstream(path) << "app: Demo\nenvironments:\n  - name: dev\n    replicas: many\n";
  auto spec = load_spec(path);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code, Errc::invalid);
  std::string file = path.string();
  EXPECT_EQ(spec.error().message,
            file +
                ":1:6: app name `Demo` must be lower-case letters, digits and `-` (at most 63 "
                "characters, not starting or ending with `-`, like sample-site)\n" +
                file +
                ":3:5: environment is missing required key `listen` (write HOST:PORT, "
                "like 127.0.0.1:8081)\n" +
                file + ":4:15: replicas must be an integer");
}

TEST(SpecParseTest, LoadSpecMakesTheFileAbsolute) {
  ztp::testing::TempDir dir;
  auto path = dir / "ztp.yaml";
  std::ofstream(path) << k_minimal;
  auto spec = load_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_TRUE(spec->file.is_absolute());
  EXPECT_EQ(spec->base_dir(), dir.path());
}

TEST(SpecParseTest, FindsEnvironmentsAndSuitesByName) {
  auto out = parse_corpus("valid_full.yaml");
  ASSERT_TRUE(out.spec);
  ASSERT_NE(out.spec->find_environment("qa"), nullptr);
  EXPECT_EQ(out.spec->find_environment("qa")->listen, "127.0.0.1:8082");
  EXPECT_EQ(out.spec->find_environment("staging"), nullptr);
  ASSERT_NE(out.spec->find_suite("smoke"), nullptr);
  EXPECT_EQ(out.spec->find_suite("security_headers"), nullptr);
  EXPECT_THAT(builtin_suite_names(), ElementsAre("security_headers", "error_pages"));
  EXPECT_TRUE(is_builtin_suite("error_pages"));
  EXPECT_FALSE(is_builtin_suite("smoke"));
}

TEST(SpecParseTest, RegistriesAreSplitIntoTheirParts) {
  auto oci = parse_text(std::string(k_minimal) + "registry: oci://localhost:5000/team/site\n");
  ASSERT_TRUE(oci.spec);
  EXPECT_EQ(oci.spec->registry.kind, Registry::Kind::oci);
  EXPECT_EQ(oci.spec->registry.host, "localhost:5000");
  EXPECT_EQ(oci.spec->registry.repository, "team/site");
  auto ecr = parse_text(std::string(k_minimal) +
                        "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/site\n");
  ASSERT_TRUE(ecr.spec);
  EXPECT_EQ(ecr.spec->registry.kind, Registry::Kind::ecr);
  EXPECT_EQ(ecr.spec->registry.account, "123456789012");
  EXPECT_EQ(ecr.spec->registry.region, "eu-west-1");
  EXPECT_EQ(ecr.spec->registry.repository, "site");
}

TEST(SpecParseTest, GithubRepositoryIsOwnerSlashName) {
  auto good = parse_text(std::string(k_minimal) + "source: {github_repository: Octo/site.web}\n");
  ASSERT_TRUE(good.spec);
  EXPECT_EQ(good.spec->source.github_repository, "Octo/site.web");
  EXPECT_EQ(to_json(*good.spec)["source"]["github_repository"], "Octo/site.web");
  for (const auto& bad : {"octo", "octo/site/x", "https://github.com/octo/site", "octo/ site"}) {
    auto out =
        parse_text(std::string(k_minimal) + "source: {github_repository: \"" + bad + "\"}\n");
    EXPECT_FALSE(out.spec) << bad;
    ASSERT_FALSE(out.diagnostics.empty()) << bad;
    EXPECT_NE(out.diagnostics[0].message.find("is not owner/name"), std::string::npos)
        << out.diagnostics[0].message;
  }
}

TEST(SpecJsonTest, ResolvedModelHasDurationsAsTextAndMilliseconds) {
  auto out = parse_corpus("valid_full.yaml");
  ASSERT_TRUE(out.spec);
  auto j = to_json(*out.spec);
  EXPECT_EQ(j["app"], "sample-site");
  EXPECT_EQ(j["source"]["poll_interval"], "30s");
  EXPECT_EQ(j["source"]["poll_interval_ms"], 30000);
  EXPECT_EQ(j["service"]["health"]["interval"], "2s");
  EXPECT_EQ(j["service"]["port_range"], "20000-29999");
  EXPECT_EQ(j["environments"][1]["strategy"]["blue_green"]["keep_previous"], "10m");
  EXPECT_EQ(j["environments"][2]["strategy"]["canary"]["steps"][1]["pause"], "1m30s");
  EXPECT_EQ(j["environments"][2]["strategy"]["canary"]["steps"][1]["pause_ms"], 90000);
  EXPECT_EQ(j["environments"][2]["gate"], "approval");
  EXPECT_EQ(j["environments"][2]["watch"]["window"], "5m");
  EXPECT_EQ(j["environments"][2]["watch"]["window_ms"], 300000);
  EXPECT_EQ(j["environments"][2]["watch"]["max_p95_ms"], 800);
  EXPECT_EQ(j["environments"][2]["watch"]["min_requests"], 50);
  EXPECT_EQ(j["environments"][0]["watch"]["window"], "0s");
  EXPECT_EQ(j["checks"]["smoke"][0]["expect"]["headers"]["X-Frame-Options"]["equals"],
            "SAMEORIGIN");
  EXPECT_EQ(j["notify"][2]["secret"], "(set)");
  EXPECT_EQ(j["registry"]["kind"], "local");
}

TEST(SpecJsonTest, DiagnosticHasEveryField) {
  auto j = to_json(Diagnostic{"ztp.yaml", 3, 7, "msg", "hint"});
  EXPECT_EQ(
      j,
      (nlohmann::json{
          {"file", "ztp.yaml"}, {"line", 3}, {"column", 7}, {"message", "msg"}, {"hint", "hint"}}));
}

}  // namespace
}  // namespace ztp::spec
