#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

// One broken spec of tests/fuzz/spec per rule of docs/ztp-yaml.md, with the exact position and
// message of every diagnostic it must produce.
namespace ztp::spec {
namespace {

using ::testing::ElementsAre;
using testing::located;
using testing::parse_corpus;

std::string hint_of(const ParseOutcome& outcome, size_t i = 0) {
  return i < outcome.diagnostics.size() ? outcome.diagnostics[i].hint : "<none>";
}

TEST(SpecRulesTest, UnknownKeySuggestsTheClosestKnownKey) {
  auto out = parse_corpus("unknown_key_typo.yaml");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(located(out), ElementsAre("5:5: unknown key `replica` in environment"));
  EXPECT_EQ(hint_of(out), "did you mean `replicas`?");
}

TEST(SpecRulesTest, UnknownKeyFarFromAnyListsTheKnownKeys) {
  auto out = parse_corpus("unknown_key_top.yaml");
  EXPECT_THAT(located(out), ElementsAre("2:1: unknown key `colour` in ztp.yaml"));
  EXPECT_EQ(hint_of(out),
            "known keys: app, source, build, registry, service, checks, environments, notify");
}

TEST(SpecRulesTest, MergeKeysAreUnknownKeys) {
  auto out = parse_corpus("merge_key.yaml");
  EXPECT_THAT(located(out), ElementsAre("2:1: unknown key `defaults` in ztp.yaml",
                                        "5:5: unknown key `<<` in environment"));
}

TEST(SpecRulesTest, ReplicasMustBeAnInteger) {
  auto out = parse_corpus("replicas_not_integer.yaml");
  EXPECT_THAT(located(out), ElementsAre("5:15: replicas must be an integer"));
}

TEST(SpecRulesTest, ReplicasMustBeAtLeastOne) {
  EXPECT_THAT(located(parse_corpus("replicas_zero.yaml")),
              ElementsAre("5:15: replicas must be at least 1"));
}

TEST(SpecRulesTest, WrongTypesAreReportedAtTheValue) {
  EXPECT_THAT(located(parse_corpus("wrong_type_mapping.yaml")),
              ElementsAre("2:9: source must be a mapping"));
  EXPECT_THAT(located(parse_corpus("wrong_type_list.yaml")),
              ElementsAre("5:13: verify must be a list"));
  EXPECT_THAT(located(parse_corpus("wrong_type_bool.yaml")),
              ElementsAre("5:23: jitter must be true or false"));
  EXPECT_THAT(located(parse_corpus("wrong_type_string.yaml")),
              ElementsAre("1:6: app must be a string"));
  EXPECT_THAT(located(parse_corpus("environments_not_list.yaml")),
              ElementsAre("3:3: environments must be a list"));
  EXPECT_THAT(located(parse_corpus("not_a_mapping.yaml")),
              ElementsAre("1:1: the document must be a mapping"));
}

TEST(SpecRulesTest, RequiredKeysAreReportedAtTheirMapping) {
  EXPECT_THAT(located(parse_corpus("missing_app.yaml")),
              ElementsAre("2:1: ztp.yaml is missing required key `app`"));
  EXPECT_THAT(located(parse_corpus("missing_environments.yaml")),
              ElementsAre("1:1: ztp.yaml is missing required key `environments`"));
  EXPECT_THAT(located(parse_corpus("missing_environment_name.yaml")),
              ElementsAre("3:5: environment is missing required key `name`"));
  EXPECT_THAT(located(parse_corpus("missing_listen.yaml")),
              ElementsAre("3:5: environment is missing required key `listen`"));
  EXPECT_THAT(located(parse_corpus("environments_empty.yaml")),
              ElementsAre("2:15: environments must list at least one environment"));
}

TEST(SpecRulesTest, EmptyFilesAreReported) {
  EXPECT_THAT(located(parse_corpus("empty.yaml")), ElementsAre("1:1: the file is empty"));
  EXPECT_THAT(located(parse_corpus("comments_only.yaml")), ElementsAre("1:1: the file is empty"));
  EXPECT_THAT(located(parse_corpus("two_documents.yaml")),
              ElementsAre("6:1: ztp.yaml holds more than one YAML document"));
}

TEST(SpecRulesTest, DuplicateKeysAreReported) {
  auto out = parse_corpus("duplicate_key.yaml");
  EXPECT_THAT(located(out), ElementsAre("2:1: duplicate key `app` in ztp.yaml"));
  EXPECT_EQ(hint_of(out), "it is first set on line 1; keep one");
}

TEST(SpecRulesTest, EnvironmentNamesAreUnique) {
  auto out = parse_corpus("duplicate_environment_name.yaml");
  EXPECT_THAT(located(out), ElementsAre("5:11: duplicate environment name `dev`"));
  EXPECT_EQ(hint_of(out), "it is first used on line 3; environment names must be unique");
}

TEST(SpecRulesTest, NamesAreDnsLabels) {
  EXPECT_THAT(
      located(parse_corpus("bad_app_name.yaml")),
      ElementsAre("1:6: app name `Sample_Site` must be lower-case letters, digits and `-`"));
  EXPECT_THAT(
      located(parse_corpus("bad_environment_name.yaml")),
      ElementsAre("3:11: environment name `Dev-` must be lower-case letters, digits and `-`"));
}

TEST(SpecRulesTest, ListenAddressesAreUnique) {
  EXPECT_THAT(located(parse_corpus("duplicate_listen.yaml")),
              ElementsAre("6:13: listen address `127.0.0.1:8081` conflicts with `127.0.0.1:8081`, "
                          "the listen of environment `dev` on line 4"));
  EXPECT_THAT(located(parse_corpus("duplicate_listen_wildcard.yaml")),
              ElementsAre("6:13: listen address `127.0.0.1:8081` conflicts with `0.0.0.0:8081`, "
                          "the listen of environment `dev` on line 4"));
}

TEST(SpecRulesTest, PreviewListenersCountAsListenAddresses) {
  EXPECT_THAT(located(parse_corpus("duplicate_preview_listen.yaml")),
              ElementsAre("8:36: preview_listen address `127.0.0.1:8081` conflicts with "
                          "`127.0.0.1:8081`, the listen of environment `dev` on line 4"));
}

TEST(SpecRulesTest, ListenPortsStayOutOfTheReplicaPortRange) {
  EXPECT_THAT(located(parse_corpus("listen_in_port_range.yaml")),
              ElementsAre("6:13: listen port 8081 is inside service.port_range 8000-8999"));
}

TEST(SpecRulesTest, ReplicasMustFitThePortRangeAtTheirPeak) {
  auto out = parse_corpus("replicas_beyond_port_range.yaml");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(
      located(out),
      ElementsAre("7:15: environments.prod.replicas: 1000000 replicas need 2000000 ports at "
                  "peak but port_range 18000-18799 holds 800; raise the range or lower "
                  "replicas"));
  EXPECT_EQ(hint_of(out),
            "rolling runs 2 × replicas at peak: a rollback restarts the old replicas beside the "
            "new ones");
}

TEST(SpecRulesTest, EnvironmentsSharingThePortRangeAddUp) {
  // dev 2 × 100 + qa 3 × 100 (blue-green with a warm previous set) + prod 2 × 151 = 802.
  auto out = parse_corpus("shared_port_range_overflow.yaml");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(located(out),
              ElementsAre("15:15: environments.prod.replicas: 151 replicas need 302 ports at peak "
                          "(802 with dev 200, qa 300, which share the range) but port_range "
                          "18000-18799 holds 800; raise the range or lower replicas"));
  EXPECT_EQ(hint_of(out),
            "canary runs 2 × replicas at peak: the canary at full size beside the stable set");
  // One replica fewer in prod fills the range exactly.
  auto full = parse_corpus("valid_port_range_full.yaml");
  EXPECT_TRUE(full.spec);
  EXPECT_TRUE(full.diagnostics.empty());
}

TEST(SpecRulesTest, ListenAddressesNeedAHostAndAValidPort) {
  EXPECT_THAT(located(parse_corpus("bad_listen_port.yaml")),
              ElementsAre("4:13: bad listen address `127.0.0.1:70000`: port `70000` is not a "
                          "number from 1 to 65535"));
  auto out = parse_corpus("bad_listen_no_port.yaml");
  EXPECT_THAT(located(out),
              ElementsAre("4:13: bad listen address `localhost`: the port is missing"));
  EXPECT_EQ(hint_of(out), "write HOST:PORT, like 127.0.0.1:8081");
}

TEST(SpecRulesTest, CanaryWeightsStrictlyIncrease) {
  EXPECT_THAT(located(parse_corpus("canary_weights_not_increasing.yaml")),
              ElementsAre("9:22: canary weights must increase: 20 comes after 50"));
}

TEST(SpecRulesTest, CanaryWeightsAreFromOneToHundred) {
  EXPECT_THAT(located(parse_corpus("canary_weight_out_of_range.yaml")),
              ElementsAre("7:26: weight must be between 1 and 100",
                          "7:39: weight must be between 1 and 100"));
}

TEST(SpecRulesTest, CanaryNeedsStepsAndASaneAnalysis) {
  EXPECT_THAT(located(parse_corpus("canary_without_steps.yaml")),
              ElementsAre("6:15: canary is missing required key `steps`"));
  EXPECT_THAT(located(parse_corpus("canary_bad_analysis.yaml")),
              ElementsAre("8:36: max_error_rate must be between 0 and 1",
                          "8:53: unknown inconclusive verdict `maybe`"));
}

TEST(SpecRulesTest, WatchTakesAWindowAndTheAnalysisLimits) {
  auto out = parse_corpus("watch_bad.yaml");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(
      located(out),
      ElementsAre("5:21: bad duration for window: `2x` has the unknown unit `x`; use ms, "
                  "s, m or h",
                  "5:41: max_error_rate must be between 0 and 1",
                  "5:55: max_p95 must be more than 0s", "5:74: min_requests must be at least 0",
                  "5:78: unknown key `deadline` in watch"));
  EXPECT_THAT(located(parse_corpus("watch_not_mapping.yaml")),
              ElementsAre("5:12: watch must be a mapping"));
}

TEST(SpecRulesTest, OnlyOneStrategy) {
  auto out = parse_corpus("two_strategies.yaml");
  EXPECT_THAT(located(out), ElementsAre("7:7: more than one strategy: `rolling` and `canary`"));
  EXPECT_EQ(hint_of(out), "keep exactly one of rolling, blue_green, canary");
  EXPECT_THAT(located(parse_corpus("empty_strategy.yaml")),
              ElementsAre("5:15: strategy must name one of rolling, blue_green, canary"));
}

TEST(SpecRulesTest, StrategiesNeedWhatTheyRunOn) {
  EXPECT_THAT(located(parse_corpus("rolling_without_room.yaml")),
              ElementsAre("6:16: max_surge and max_unavailable cannot both be 0"));
  EXPECT_THAT(located(parse_corpus("blue_green_without_preview.yaml")),
              ElementsAre("6:19: blue_green is missing required key `preview_listen`"));
}

TEST(SpecRulesTest, AProblemReachedThroughAliasesIsReportedOnce) {
  EXPECT_THAT(located(parse_corpus("alias_reported_once.yaml")),
              ElementsAre("5:28: max_surge and max_unavailable cannot both be 0"));
}

TEST(SpecRulesTest, VerifyNamesKnownSuites) {
  auto out = parse_corpus("verify_unknown_suite.yaml");
  EXPECT_THAT(located(out), ElementsAre("8:21: unknown check suite `smoek` in verify",
                                        "8:28: unknown check suite `nothing_like_it` in verify"));
  EXPECT_EQ(hint_of(out, 0), "did you mean `smoke`?");
  EXPECT_EQ(hint_of(out, 1),
            "define it under `checks`, or use one of: security_headers, error_pages, smoke");
}

TEST(SpecRulesTest, BuiltInSuitesCannotBeRedefined) {
  EXPECT_THAT(
      located(parse_corpus("builtin_suite_redefined.yaml")),
      ElementsAre("3:3: check suite `security_headers` is built in and cannot be redefined"));
  EXPECT_THAT(located(parse_corpus("empty_suite.yaml")),
              ElementsAre("3:10: check suite `smoke` has no checks"));
}

TEST(SpecRulesTest, GlobsAreChecked) {
  EXPECT_THAT(located(parse_corpus("bad_glob_paths.yaml")),
              ElementsAre("3:21: paths: bad glob `src/[a`: `[` is not closed by `]`; write `\\[` "
                          "for a literal `[`"));
  EXPECT_THAT(located(parse_corpus("bad_glob_exclude.yaml")),
              ElementsAre("4:7: exclude: bad glob `docs/***`: `***` means nothing; use `**` for "
                          "any depth or `*` within a name"));
}

TEST(SpecRulesTest, DurationsAreChecked) {
  auto out = parse_corpus("bad_duration_no_unit.yaml");
  EXPECT_THAT(located(out), ElementsAre("3:18: bad duration for poll_interval: `30` has no unit; "
                                        "write 30s for seconds, or use ms, m or h"));
  EXPECT_EQ(hint_of(out), "durations look like 500ms, 10s, 5m, 1h or 1m30s");
  EXPECT_THAT(located(parse_corpus("bad_duration_unit.yaml")),
              ElementsAre("3:18: bad duration for start_timeout: `5x` has the unknown unit `x`; "
                          "use ms, s, m or h"));
  EXPECT_THAT(located(parse_corpus("bad_duration_negative.yaml")),
              ElementsAre("3:22: bad duration for interval: `-2s` is negative; durations are 0 "
                          "or more"));
}

TEST(SpecRulesTest, PortsAndPortRangesAreChecked) {
  EXPECT_THAT(located(parse_corpus("bad_port_range.yaml")),
              ElementsAre("3:15: bad port_range: `30000-20000` ends before it starts; write the "
                          "lower port first"));
  EXPECT_THAT(located(parse_corpus("bad_service_port.yaml")),
              ElementsAre("3:9: port must be between 1 and 65535"));
}

TEST(SpecRulesTest, RegistryUrlsAreChecked) {
  auto out = parse_corpus("bad_registry_scheme.yaml");
  EXPECT_THAT(
      located(out),
      ElementsAre("2:11: bad registry `s3://bucket/site`: unknown registry scheme `s3://`"));
  EXPECT_EQ(hint_of(out),
            "use local, oci://host[:port]/repo or ecr://ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo");
  EXPECT_THAT(located(parse_corpus("bad_registry_ecr.yaml")),
              ElementsAre("2:11: bad registry `ecr://123.dkr.ecr.eu-west-1.amazonaws.com/site`: "
                          "`123.dkr.ecr.eu-west-1.amazonaws.com` is not an ECR host: "
                          "ACCOUNT.dkr.ecr.REGION.amazonaws.com with a 12-digit account"));
  EXPECT_THAT(located(parse_corpus("bad_registry_port.yaml")),
              ElementsAre("2:11: bad registry `oci://registry.example.com:99999/site`: registry "
                          "host `registry.example.com:99999`: port `99999` is not a number from 1 "
                          "to 65535"));
}

TEST(SpecRulesTest, UnknownGateTargetAndNotifyTypeAreReported) {
  auto gate = parse_corpus("unknown_gate.yaml");
  EXPECT_THAT(located(gate), ElementsAre("5:11: unknown gate `aproval`"));
  EXPECT_EQ(hint_of(gate), "did you mean `approval`?");
  auto target = parse_corpus("unknown_target.yaml");
  EXPECT_THAT(located(target), ElementsAre("5:13: unknown target `nomad`"));
  EXPECT_EQ(hint_of(target), "use one of: local, podman, ecs, kubernetes");
  EXPECT_THAT(located(parse_corpus("unknown_notify_type.yaml")),
              ElementsAre("6:11: unknown notify type `email`"));
}

TEST(SpecRulesTest, NotifiersNeedTheirFields) {
  EXPECT_THAT(located(parse_corpus("notify_missing_fields.yaml")),
              ElementsAre("6:5: notifier is missing required key `url`",
                          "7:5: notifier is missing required key `routing_key`",
                          "9:10: url `ftp://example.com/x` is not an http:// or https:// URL"));
}

TEST(SpecRulesTest, UnsetVariableIsReportedAtItsScalar) {
  auto out = parse_corpus("unset_variable.yaml");
  EXPECT_THAT(located(out),
              ElementsAre("7:10: url: environment variable `ZTP_TEST_UNSET_TOKEN` is not set"));
  EXPECT_EQ(hint_of(out),
            "export ZTP_TEST_UNSET_TOKEN=... before running ztp, or write "
            "${ZTP_TEST_UNSET_TOKEN:-default}");
  EXPECT_THAT(located(parse_corpus("unterminated_variable.yaml")),
              ElementsAre("3:19: GREETING: `${` is not closed by `}`"));
}

TEST(SpecRulesTest, YamlSyntaxErrorsAreDiagnostics) {
  EXPECT_THAT(located(parse_corpus("yaml_syntax_error.yaml")),
              ElementsAre("5:9: YAML syntax error: end of sequence flow not found"));
  EXPECT_THAT(located(parse_corpus("yaml_bad_indentation.yaml")),
              ElementsAre("4:4: YAML syntax error: end of sequence not found"));
}

TEST(SpecRulesTest, ChecksAreChecked) {
  EXPECT_THAT(
      located(parse_corpus("bad_check.yaml")),
      ElementsAre("4:13: check path `health` must start with `/`", "5:15: unknown method `FETCH`",
                  "8:28: header `X-Frame-Options` has both equals and matches"));
  EXPECT_THAT(
      located(parse_corpus("bad_status.yaml")),
      ElementsAre("5:30: status must be between 100 and 599", "5:34: status must be an integer"));
  auto regex = parse_corpus("bad_regex.yaml");
  ASSERT_EQ(regex.diagnostics.size(), 1u);
  EXPECT_EQ(regex.diagnostics[0].line, 6);
  EXPECT_EQ(regex.diagnostics[0].column, 21);
  EXPECT_THAT(regex.diagnostics[0].message,
              ::testing::StartsWith("body_regex is not a valid regular expression: "));
}

TEST(SpecRulesTest, PathsStayInsideTheRepository) {
  EXPECT_THAT(
      located(parse_corpus("context_escapes.yaml")),
      ElementsAre("3:12: context `../elsewhere` must be a relative path inside the repository",
                  "4:15: template `/etc/passwd` must be a relative path inside the repository"));
  EXPECT_THAT(located(parse_corpus("bad_health_path.yaml")),
              ElementsAre("3:18: health path `health` must start with `/`"));
  EXPECT_THAT(located(parse_corpus("bad_env_var_name.yaml")),
              ElementsAre("3:8: `1BAD` in env is not a valid environment variable name"));
}

TEST(SpecRulesTest, EveryProblemIsReportedAtOnceInFileOrder) {
  auto out = parse_corpus("many_errors.yaml");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(
      located(out),
      ElementsAre(
          "1:6: app name `Demo` must be lower-case letters, digits and `-`",
          "4:18: bad duration for poll_interval: `soon` has `s` where a number was expected",
          "5:11: bad registry `oci://`: `oci://` names no repository after the host",
          "7:9: port must be an integer", "11:15: replicas must be an integer",
          "12:5: unknown key `gatee` in environment", "13:11: duplicate environment name `dev`",
          "14:13: listen address `127.0.0.1:8081` conflicts with `127.0.0.1:8081`, the listen "
          "of environment `dev` on line 10",
          "15:14: unknown check suite `smoke` in verify"));
}

}  // namespace
}  // namespace ztp::spec
