#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "ecs_test_util.hpp"

// `load_balancer:` of the `ecs:` block: the listener ARNs, the rule, the test listener, the
// target group and its health check at the edges of Elastic Load Balancing's limits, and the
// checks between environments that share a cluster or a listener.
namespace ztp::spec {
namespace {

using namespace std::chrono_literals;
using testing::ecs_of;
using ::testing::ElementsAre;
using testing::expect_ecs;
using ::testing::HasSubstr;
using testing::k_fargate_keys;
using testing::k_head;
using testing::k_listener;
using testing::k_test_listener;
using testing::parse_text;
using testing::problems;

// A load balancer (lines 10-12: the key, vpc, listener) and `more` of its keys from line 13.
std::string lb(const std::string& more) {
  return "      load_balancer:\n"
         "        vpc: vpc-0123456789abcdef0\n"
         "        listener: " +
         k_listener + "\n" + more;
}

// A health check of the target group on line 13, its first key at column 39.
std::string health(const std::string& keys) {
  return lb("        target_group: {health_check: {" + keys + "}}\n");
}

// The listener on line 12 (value at column 19) replaced by `arn`.
ParseOutcome with_listener(const std::string& arn, const std::string& before = "") {
  return parse_text(k_head + k_fargate_keys + before +
                    "      load_balancer:\n        vpc: vpc-01234567\n        listener: \"" + arn +
                    "\"\n");
}

TEST(SpecParseEcsLoadBalancerTest, VpcAndListener) {
  expect_ecs(lb(""), "");
  expect_ecs("      load_balancer:\n        vpc: vpc-xyz\n        listener: " + k_listener + "\n",
             "11:14: vpc `vpc-xyz` is not a vpc- ID", "like vpc-0123456789abcdef0");
  expect_ecs("      load_balancer: {vpc: vpc-01234567}\n",
             "10:22: load_balancer is missing required key `listener`",
             "write listener: arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID");
  std::string alb32(32, 'a');
  EXPECT_TRUE(with_listener("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/" +
                            alb32 + "/50dc6c495c0c9188/f2f7dc8efc522ab2")
                  .spec);
  struct Bad {
    std::string resource;
    std::string why;
  };
  for (const auto& [resource, why] : std::vector<Bad>{
           {"listener/net/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "it is a Network Load Balancer's listener, not an Application Load Balancer's"},
           {"listener/gwy/web/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "it is a Gateway Load Balancer's listener, not an Application Load Balancer's"},
           {"listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
            "it names a listener rule; name the listener and write the rule under `rule`"},
           {"targetgroup/web/0123456789abcdef", "its resource is not listener/app/NAME/ID/ID"},
           {"listener/app/web/50dc6c495c0c918/f2f7dc8efc522ab2",
            "its resource is not listener/app/NAME/ID/ID"},
           {"listener/app/" + alb32 + "a/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "its resource is not listener/app/NAME/ID/ID"},
           {"listener/app/-web/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "its resource is not listener/app/NAME/ID/ID"},
       }) {
    std::string arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:" + resource;
    EXPECT_THAT(problems(with_listener(arn)),
                ElementsAre(fmt::format("12:19: listener `{}` is not an Application Load "
                                        "Balancer listener ARN: {} (releases are switched by "
                                        "weighted target groups of an Application Load "
                                        "Balancer's listener: write "
                                        "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/"
                                        "NAME/ID/ID)",
                                        arn, why)));
  }
}

TEST(SpecParseEcsLoadBalancerTest, ArnsShareRegionAccountAndPartition) {
  std::string other_region =
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/"
      "f2f7dc8efc522ab2";
  EXPECT_THAT(problems(with_listener(other_region, "      region: eu-west-1\n")),
              ElementsAre("13:19: listener is in region us-east-1, but region is eu-west-1 (line "
                          "10) (the cluster and the load balancer are in the environment's "
                          "region)"));
  std::string other_account =
      "arn:aws:elasticloadbalancing:eu-west-1:210987654321:listener/app/web/50dc6c495c0c9188/"
      "f2f7dc8efc522ab2";
  auto accounts = parse_text(k_head +
                             "      cluster: arn:aws:ecs:eu-west-1:123456789012:cluster/web\n"
                             "      launch_type: EC2\n"
                             "      load_balancer: {vpc: vpc-01234567, listener: \"" +
                             other_account + "\"}\n");
  EXPECT_THAT(problems(accounts),
              ElementsAre(HasSubstr("9:52: listener is in eu-west-1 of account 210987654321, but "
                                    "cluster (line 7) is in eu-west-1 of account 123456789012 (an "
                                    "ECS service and its load balancer are in one region and one "
                                    "account)")));
  auto partitions = parse_text(k_head +
                               "      region: cn-north-1\n"
                               "      cluster: web\n"
                               "      launch_type: EC2\n"
                               "      task_role: arn:aws:iam::123456789012:role/web\n");
  EXPECT_THAT(problems(partitions),
              ElementsAre(HasSubstr("2:11: target ecs (environment `prod`) needs a registry ECS "
                                    "can pull from"),
                          HasSubstr("10:18: task_role is in partition aws, but region cn-north-1 "
                                    "(line 7) is in aws-cn")));
  auto roles = parse_text(k_head +
                          "      cluster: web\n"
                          "      launch_type: EC2\n"
                          "      task_role: arn:aws:iam::123456789012:role/web\n"
                          "      execution_role: arn:aws-cn:iam::123456789012:role/exec\n");
  EXPECT_THAT(problems(roles),
              ElementsAre("10:23: execution_role is in partition aws-cn, but task_role (line 9) "
                          "is in aws (AWS partitions share no resources: use ARNs of one "
                          "partition)"));
}

TEST(SpecParseEcsLoadBalancerTest, RulePriorityAndConditions) {
  expect_ecs(lb("        rule: {priority: 1, hosts: [www.example.com]}\n"), "");
  expect_ecs(lb("        rule: {priority: 50000, paths: [/api/*]}\n"), "");
  expect_ecs(lb("        rule: {priority: 0, hosts: [www.example.com]}\n"),
             "13:26: priority must be between 1 and 50000");
  expect_ecs(lb("        rule: {priority: 50001, hosts: [www.example.com]}\n"),
             "13:26: priority must be between 1 and 50000");
  expect_ecs(lb("        rule: {hosts: [www.example.com]}\n"),
             "13:15: rule is missing required key `priority`", "unique on the listener");
  expect_ecs(lb("        rule: {priority: 3}\n"), "13:15: rule needs hosts, paths or both",
             "omit rule to drive the listener's default action");
  for (const auto& host :
       {"www.example.com", "*.example.com", "api-?.example.org", "a.b.c.example.travel"}) {
    expect_ecs(lb(fmt::format("        rule: {{priority: 3, hosts: [\"{}\"]}}\n", host)), "");
  }
  std::string host128 = std::string(124, 'h') + ".com";
  expect_ecs(lb("        rule: {priority: 3, hosts: [" + host128 + "]}\n"), "");
  for (const std::string& host :
       std::vector<std::string>{"localhost", "example.com1", "example.c?m", "exa_mple.com",
                                "example.com.", std::string(125, 'h') + ".com"}) {
    expect_ecs(lb(fmt::format("        rule: {{priority: 3, hosts: [\"{}\"]}}\n", host)),
               fmt::format("13:37: `{}` in hosts is not a host-header condition", host),
               "with a `.` and only letters after the last one");
  }
  for (const auto& path : {"/", "/api/*", "/a?c", "/$x~'@:+&_-.\"y"}) {
    expect_ecs(lb(fmt::format("        rule: {{priority: 3, paths: ['{}']}}\n",
                              std::string(path) == "/$x~'@:+&_-.\"y" ? "/$x~''@:+&_-.\"y" : path)),
               "");
  }
  expect_ecs(lb("        rule: {priority: 3, paths: [/" + std::string(127, 'p') + "]}\n"), "");
  for (const std::string& path :
       std::vector<std::string>{"/a b", "/a%20", "/a#b", "/" + std::string(128, 'p')}) {
    expect_ecs(lb(fmt::format("        rule: {{priority: 3, paths: [\"{}\"]}}\n", path)),
               fmt::format("13:37: `{}` in paths is not a path-pattern condition", path),
               "like /api/*");
  }
  expect_ecs(lb("        rule: {priority: 3, hosts: [a.example.com, b.example.com], paths: [/a, "
                "/b, /c]}\n"),
             "");
  expect_ecs(lb("        rule: {priority: 3, hosts: [a.example.com, b.example.com], paths: [/a, "
                "/b, /c, /d]}\n"),
             "13:15: rule has 6 condition values; a rule holds at most 5",
             "rule holds 5 condition values (hosts and paths)");
}

TEST(SpecParseEcsLoadBalancerTest, StrategiesThatShiftTrafficNeedTheListeners) {
  std::string canary = "    strategy: {canary: {steps: [{weight: 50}]}}\n";
  std::string blue_green =
      "    strategy: {blue_green: {preview_listen: preview.example.com:8443}}\n";
  auto no_lb = parse_text(k_head + k_fargate_keys + canary);
  EXPECT_THAT(problems(no_lb),
              ElementsAre("7:7: ecs is missing required key `load_balancer` (blue_green and "
                          "canary shift traffic between releases on a load balancer's listener)"));
  EXPECT_TRUE(parse_text(k_head + k_fargate_keys + lb("") + canary).spec);
  auto no_test = parse_text(k_head + k_fargate_keys + lb("") + blue_green);
  EXPECT_THAT(problems(no_test),
              ElementsAre(HasSubstr("11:9: load_balancer is missing required key `test_listener` "
                                    "(blue_green previews the new release through a second "
                                    "listener")));
  auto with_test = parse_text(k_head + k_fargate_keys +
                              lb("        test_listener: " + k_test_listener + "\n") + blue_green);
  ASSERT_TRUE(with_test.spec) << ::testing::PrintToString(problems(with_test));
  EXPECT_EQ(ecs_of(with_test).load_balancer->test_listener, k_test_listener);
  expect_ecs(lb("        test_listener: " + k_listener + "\n"),
             "13:24: test_listener is the same listener as listener",
             "previews need a listener of their own");
  auto external = parse_text(k_head +
                             "      cluster: web\n      launch_type: EXTERNAL\n"
                             "      load_balancer: {vpc: vpc-01234567, listener: \"" +
                             k_listener + "\"}\n");
  EXPECT_THAT(problems(external),
              ElementsAre("9:7: load_balancer is not available with launch_type EXTERNAL (ECS "
                          "Anywhere services cannot register with Elastic Load Balancing)"));
}

TEST(SpecParseEcsLoadBalancerTest, TargetGroupNamePrefixLeavesRoomForTheReleaseId) {
  expect_ecs(lb("        target_group: {name_prefix: " + std::string(19, 'w') + "}\n"), "");
  expect_ecs(lb("        target_group: {name_prefix: Web-2}\n"), "");
  expect_ecs(lb("        target_group: {name_prefix: " + std::string(20, 'w') + "}\n"),
             "13:37: name_prefix `" + std::string(20, 'w') +
                 "` cannot start a target group name: it is 20 characters, and 1 to 19 leave "
                 "room for `-` and a 12-character release id in the 32 of a target group name",
             "write 1-19 letters, digits and `-`, like " + std::string(19, 'w'));
  expect_ecs(lb("        target_group: {name_prefix: web_prod}\n"),
             "13:37: name_prefix `web_prod` cannot start a target group name: target group "
             "names are letters, digits and `-`, not starting or ending with `-`",
             "like web-prod");
  expect_ecs(lb("        target_group: {name_prefix: -web}\n"),
             "13:37: name_prefix `-web` cannot start a target group name: target group names "
             "are letters, digits and `-`, not starting or ending with `-`");
  // Without name_prefix the service prefix is used, and must fit.
  std::string prefix19 = "web-production-eu-1";
  expect_ecs("      service_prefix: " + prefix19 + "\n" + lb(""), "");
  expect_ecs("      service_prefix: " + prefix19 + "x\n" + lb(""),
             "11:7: target group names are PREFIX-RELEASE, and the service prefix `" + prefix19 +
                 "x` cannot be their PREFIX: it is 20 characters, and 1 to 19 leave room for `-` "
                 "and a 12-character release id in the 32 of a target group name",
             "set load_balancer.target_group.name_prefix, like name_prefix: web-production-eu-1");
  expect_ecs("      service_prefix: web_prod\n" + lb(""),
             "11:7: target group names are PREFIX-RELEASE, and the service prefix `web_prod` "
             "cannot be their PREFIX: target group names are letters, digits and `-`, not "
             "starting or ending with `-`",
             "like name_prefix: web-prod");
  expect_ecs(
      "      service_prefix: web_prod\n" + lb("        target_group: {name_prefix: web-prod}\n"),
      "");
  // The default service prefix, "<app>-<env>", is checked the same way.
  auto long_names = parse_text(
      "app: a-rather-long-application\n"
      "registry: oci://registry.example.com/web\n"
      "environments:\n"
      "  - name: prod\n"
      "    target: ecs\n"
      "    ecs:\n" +
      k_fargate_keys + lb(""));
  EXPECT_THAT(problems(long_names),
              ElementsAre(HasSubstr("10:7: target group names are PREFIX-RELEASE, and the "
                                    "service prefix `a-rather-long-application-prod` cannot be "
                                    "their PREFIX: it is 30 characters")));
  EXPECT_THAT(long_names.diagnostics[0].hint, HasSubstr("name_prefix: a-rather-long-appli"));
}

TEST(SpecParseEcsLoadBalancerTest, HealthCheckWithinElbLimits) {
  expect_ecs(health("interval: 5s, timeout: 2s"), "");
  expect_ecs(health("interval: 300s, timeout: 120s"), "");
  expect_ecs(health("interval: 5m"), "");
  expect_ecs(health("interval: 4s, timeout: 2s"), "13:49: interval must be between 5s and 300s");
  expect_ecs(health("interval: 301s"), "13:49: interval must be between 5s and 300s");
  expect_ecs(health("interval: 5500ms"), "13:49: interval must be whole seconds",
             "write 10s, not 10500ms");
  expect_ecs(health("timeout: 1s"), "13:48: timeout must be between 2s and 120s");
  expect_ecs(health("interval: 300s, timeout: 121s"), "13:64: timeout must be between 2s and 120s");
  expect_ecs(health("interval: 6s, timeout: 6s"),
             "13:62: health check timeout 6s must be less than its interval 6s",
             "time out before the next one starts");
  expect_ecs(health("interval: 5s"),
             "13:49: health check timeout 5s must be less than its "
             "interval 5s");
  for (const auto& key : {"healthy_threshold", "unhealthy_threshold"}) {
    int column = 39 + static_cast<int>(std::string(key).size()) + 2;
    expect_ecs(health(fmt::format("{}: 2", key)), "");
    expect_ecs(health(fmt::format("{}: 10", key)), "");
    expect_ecs(health(fmt::format("{}: 1", key)),
               fmt::format("13:{}: {} must be between 2 and 10", column, key));
    expect_ecs(health(fmt::format("{}: 11", key)),
               fmt::format("13:{}: {} must be between 2 and 10", column, key));
  }
  for (const auto& matcher :
       {"200", "499", "200,302", "200,202,204", "200-399", "200-499", "302-302"}) {
    expect_ecs(health(fmt::format("matcher: \"{}\"", matcher)), "");
  }
  for (const auto& matcher :
       {"199", "500", "200-500", "399-200", "200;302", "2000", "20x", "200,300-399", "200,"}) {
    expect_ecs(health(fmt::format("matcher: \"{}\"", matcher)),
               fmt::format("13:48: matcher `{}` is not HTTP codes from 200 to 499", matcher),
               "write one code (200), a list (200,302) or a range (200-399)");
  }
  expect_ecs(health("path: /" + std::string(1023, 'p')), "");
  expect_ecs(health("path: /" + std::string(1024, 'p')),
             "13:45: health check path `/" + std::string(1024, 'p') +
                 "` must start with `/` and be at most 1024 characters",
             "like /health");
  expect_ecs(health("path: health"),
             "13:45: health check path `health` must start with `/` and be at most 1024 "
             "characters");
}

TEST(SpecParseEcsLoadBalancerTest, DeregistrationDelayWithinElbLimits) {
  auto delay = [](const std::string& value) {
    return lb("        target_group: {deregistration_delay: " + value + "}\n");
  };
  auto zero = testing::ecs_with(delay("0s"));
  ASSERT_TRUE(zero.spec);
  EXPECT_EQ(ecs_of(zero).load_balancer->target_group.deregistration_delay, 0s);
  expect_ecs(delay("1h"), "");
  expect_ecs(delay("3601s"), "13:46: deregistration_delay must be between 0s and 3600s");
  expect_ecs(delay("1h1s"), "13:46: deregistration_delay must be between 0s and 3600s");
  expect_ecs(delay("1500ms"), "13:46: deregistration_delay must be whole seconds");
}

}  // namespace
}  // namespace ztp::spec
