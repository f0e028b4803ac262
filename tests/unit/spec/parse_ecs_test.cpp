#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "ecs_test_util.hpp"
#include "spec/ecs.hpp"
#include "spec/json.hpp"

// The `ecs:` block of ztp.yaml but its load balancer: every key read, every AWS limit at its
// edges (just in and just out) and the checks between keys. Problems are asserted with their
// line:column and the fix their hint offers.
namespace ztp::spec {
namespace {

using namespace std::chrono_literals;
using testing::ecs_of;
using testing::ecs_with;
using ::testing::ElementsAre;
using testing::expect_ecs;
using ::testing::HasSubstr;
using testing::k_fargate_keys;
using testing::k_full;
using testing::k_head;
using testing::k_listener;
using testing::k_test_listener;
using ::testing::Pair;
using testing::parse_text;
using testing::problems;

TEST(SpecParseEcsTest, FullExampleFillsEveryKey) {
  auto out = parse_text(k_full);
  ASSERT_TRUE(out.spec) << ::testing::PrintToString(problems(out));
  const Environment& prod = out.spec->environments[1];
  EXPECT_EQ(prod.listen, "www.example.com:443");
  EXPECT_EQ(prod.replicas, 3);
  const EcsSettings& e = ecs_of(out, 1);
  EXPECT_EQ(e.pos.line, 20);
  EXPECT_EQ(e.pos.column, 5);
  EXPECT_EQ(e.region, "eu-west-1");
  EXPECT_EQ(e.cluster, "arn:aws:ecs:eu-west-1:123456789012:cluster/web-prod");
  EXPECT_EQ(e.service_prefix, "web-prod");
  EXPECT_EQ(e.launch_type, "");
  ASSERT_EQ(e.capacity_providers.size(), 2u);
  EXPECT_EQ(e.capacity_providers[0].name, "FARGATE_SPOT");
  EXPECT_EQ(e.capacity_providers[0].weight, 3);
  EXPECT_EQ(e.capacity_providers[0].base, 0);
  EXPECT_EQ(e.capacity_providers[1].name, "FARGATE");
  EXPECT_EQ(e.capacity_providers[1].weight, 1);
  EXPECT_EQ(e.capacity_providers[1].base, 1);
  EXPECT_TRUE(e.fargate());
  EXPECT_EQ(e.platform_version, "1.4.0");
  ASSERT_TRUE(e.network);
  EXPECT_THAT(e.network->subnets,
              ElementsAre("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"));
  EXPECT_THAT(e.network->security_groups, ElementsAre("sg-0123456789abcdef0"));
  EXPECT_TRUE(e.network->assign_public_ip);
  EXPECT_EQ(e.task_role, "arn:aws:iam::123456789012:role/web-task");
  EXPECT_EQ(e.execution_role, "arn:aws:iam::123456789012:role/service/ecsTaskExecutionRole");
  EXPECT_EQ(e.cpu, 1024);
  EXPECT_EQ(e.memory_mib, 3072);
  EXPECT_EQ(e.logs.group, "/ecs/web");
  EXPECT_EQ(e.logs.stream_prefix, "web");
  EXPECT_FALSE(e.logs.create_group);
  EXPECT_EQ(e.logs.retention_days, 30);
  ASSERT_TRUE(e.load_balancer);
  const EcsLoadBalancer& lb = *e.load_balancer;
  EXPECT_EQ(lb.pos.line, 35);
  EXPECT_EQ(lb.pos.column, 7);
  EXPECT_EQ(lb.vpc, "vpc-0123456789abcdef0");
  EXPECT_EQ(lb.listener, k_listener);
  ASSERT_TRUE(lb.rule);
  EXPECT_EQ(lb.rule->priority, 10);
  EXPECT_THAT(lb.rule->hosts, ElementsAre("www.example.com"));
  EXPECT_THAT(lb.rule->paths, ElementsAre("/*"));
  EXPECT_EQ(lb.test_listener, k_test_listener);
  EXPECT_EQ(lb.target_group.name_prefix, "web-prod");
  const EcsHealthCheck& hc = lb.target_group.health_check;
  EXPECT_EQ(hc.path, "/ready");
  EXPECT_EQ(hc.interval, 15s);
  EXPECT_EQ(hc.timeout, 6s);
  EXPECT_EQ(hc.healthy_threshold, 3);
  EXPECT_EQ(hc.unhealthy_threshold, 4);
  EXPECT_EQ(hc.matcher, "200,302");
  EXPECT_EQ(lb.target_group.deregistration_delay, 45s);
  EXPECT_THAT(e.tags, ElementsAre(Pair("cost-center", "42"), Pair("team", "web")));
}

TEST(SpecParseEcsTest, DefaultsAreFargateSmallestAndDerivedNames) {
  auto out = parse_text(k_full);
  ASSERT_TRUE(out.spec);
  const Environment& staging = out.spec->environments[0];
  EXPECT_EQ(staging.listen, "");  // optional for target ecs
  const EcsSettings& e = *staging.ecs;
  EXPECT_EQ(e.region, "");
  EXPECT_EQ(e.service_prefix, "");
  EXPECT_EQ(e.launch_type, "FARGATE");
  EXPECT_TRUE(e.capacity_providers.empty());
  EXPECT_EQ(e.platform_version, "");
  EXPECT_FALSE(e.network->assign_public_ip);
  EXPECT_EQ(e.task_role, "");
  EXPECT_EQ(e.cpu, 256);
  EXPECT_EQ(e.memory_mib, 512);
  EXPECT_EQ(e.logs.group, "");
  EXPECT_EQ(e.logs.stream_prefix, "ecs");
  EXPECT_TRUE(e.logs.create_group);
  EXPECT_FALSE(e.logs.retention_days);
  EXPECT_FALSE(e.load_balancer);
  EXPECT_TRUE(e.tags.empty());

  EcsSettings resolved = resolve_ecs(*out.spec, staging);
  EXPECT_EQ(resolved.service_prefix, "web-staging");
  EXPECT_EQ(resolved.logs.group, "/ecs/web-staging");
  EXPECT_EQ(ecs_service_name(resolved, "r00000000042"), "web-staging-r00000000042");

  // A load balancer's target group takes the service prefix and service.health.path.
  auto with_lb = ecs_with(
      "      service_prefix: shop\n"
      "      load_balancer: {vpc: vpc-01234567, listener: \"" +
      k_listener + "\"}\n");
  ASSERT_TRUE(with_lb.spec) << ::testing::PrintToString(problems(with_lb));
  EcsSettings r = resolve_ecs(*with_lb.spec, with_lb.spec->environments[0]);
  const EcsTargetGroup& group = r.load_balancer->target_group;
  EXPECT_EQ(group.name_prefix, "shop");
  EXPECT_EQ(group.health_check.path, "/health");
  EXPECT_EQ(group.health_check.interval, 10s);
  EXPECT_EQ(group.health_check.timeout, 5s);
  EXPECT_EQ(group.health_check.healthy_threshold, 2);
  EXPECT_EQ(group.health_check.unhealthy_threshold, 3);
  EXPECT_EQ(group.health_check.matcher, "200-399");
  EXPECT_EQ(group.deregistration_delay, 30s);
  EXPECT_FALSE(r.load_balancer->rule);
  EXPECT_EQ(ecs_target_group_name(r, "r00000000042"), "shop-r00000000042");
  EXPECT_EQ(ecs_target_group_name(r, "r00000000042").size(), 17u);
}

TEST(SpecParseEcsTest, UnknownKeysSuggestTheClosest) {
  expect_ecs("      clustr: web\n", "10:7: unknown key `clustr` in ecs", "did you mean `cluster`?");
  expect_ecs("      logs: {retention: 30}\n", "10:14: unknown key `retention` in logs",
             "known keys: group, stream_prefix, create_group, retention_days");
  expect_ecs("      capacity_providers: [{name: FARGATE, wieght: 2}]\n",
             "10:44: unknown key `wieght` in capacity provider", "did you mean `weight`?");
  auto out = parse_text(k_head +
                        "      cluster: web-prod\n"
                        "      network: {subnet: [subnet-0123456789abcdef0], security_groups: "
                        "[sg-01234567]}\n"
                        "      execution_role: r\n");
  EXPECT_THAT(problems(out),
              ElementsAre("8:16: network is missing required key `subnets` (write subnets: "
                          "[subnet-0123456789abcdef0])",
                          "8:17: unknown key `subnet` in network (did you mean `subnets`?)"));
  expect_ecs("      load_balancer: {vpc: vpc-01234567, listener: \"" + k_listener +
                 "\", target_group: {health_check: {intervall: 5s}}}\n",
             "10:188: unknown key `intervall` in health_check", "did you mean `interval`?");
}

TEST(SpecParseEcsTest, EcsBelongsToTargetEcsAndTargetEcsNeedsIt) {
  auto stray = parse_text(
      "app: web\n"
      "environments:\n"
      "  - name: dev\n"
      "    listen: 127.0.0.1:8081\n"
      "    ecs: {cluster: web}\n");
  EXPECT_THAT(problems(stray),
              ElementsAre("5:5: ecs applies to target: ecs only, and this environment's target is "
                          "local (write `target: ecs` to run it on Amazon ECS, or remove the ecs "
                          "block)"));
  auto missing = parse_text(
      "app: web\n"
      "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web\n"
      "environments:\n"
      "  - name: prod\n"
      "    target: ecs\n");
  ASSERT_EQ(missing.diagnostics.size(), 1u) << ::testing::PrintToString(problems(missing));
  EXPECT_EQ(::ztp::spec::testing::located(missing)[0],
            "4:5: environment is missing required key `ecs`");
  EXPECT_THAT(missing.diagnostics[0].hint, HasSubstr("needs an ecs block"));
  auto empty = parse_text(k_head);
  EXPECT_THAT(problems(empty)[0], HasSubstr("ecs must not be empty"));
}

TEST(SpecParseEcsTest, ListenIsOptionalForEcsOnly) {
  EXPECT_TRUE(ecs_with("").spec);
  auto local = parse_text("app: web\nenvironments:\n  - name: dev\n");
  EXPECT_THAT(::ztp::spec::testing::located(local),
              ElementsAre("3:5: environment is missing required key `listen`"));
  // When written, it is checked like any other listen address.
  auto out = parse_text(k_head + k_fargate_keys + "    listen: www.example.com\n");
  EXPECT_THAT(problems(out), ElementsAre(HasSubstr("10:13: bad listen address `www.example.com`")));
}

TEST(SpecParseEcsTest, ResourcesBelongToPodman) {
  auto out = parse_text(k_head + k_fargate_keys + "    resources: {cpus: 1}\n");
  EXPECT_THAT(problems(out), ElementsAre("10:5: resources does not apply to target ecs (on ECS a "
                                         "task's size is ecs.cpu and ecs.memory)"));
}

TEST(SpecParseEcsTest, RegionAndCluster) {
  expect_ecs("      region: eu-west-1\n", "");
  expect_ecs("      region: us-east-1\n", "");  // ECR pulls across regions of a partition
  expect_ecs("      region: ap-southeast-3\n", "");
  expect_ecs("      region: EU-WEST-1\n", "10:15: region `EU-WEST-1` is not an AWS region code",
             "like eu-west-1");
  expect_ecs("      region: eu-west\n", "10:15: region `eu-west` is not an AWS region code");
  std::string name255(255, 'c');
  auto cluster = [](const std::string& value) {
    return parse_text(k_head + "      cluster: " + value +
                      "\n      network: {subnets: [subnet-01234567], security_groups: "
                      "[sg-01234567]}\n      execution_role: r\n");
  };
  EXPECT_TRUE(cluster(name255).spec);
  EXPECT_TRUE(cluster("Web_prod-2").spec);
  EXPECT_THAT(problems(cluster(name255 + "c")),
              ElementsAre(HasSubstr("7:16: cluster name `" + name255 +
                                    "c` must be 1-255 letters, digits, `-` and `_`")));
  EXPECT_THAT(problems(cluster("web.prod")),
              ElementsAre(HasSubstr("(write a cluster name, or arn:aws:ecs:")));
  EXPECT_TRUE(cluster("arn:aws-cn:ecs:cn-north-1:123456789012:cluster/web").spec);
  struct Bad {
    std::string arn;
    std::string why;
  };
  for (const auto& [arn, why] : std::vector<Bad>{
           {"arn:aws:ecs:eu-west-1:12345678901:cluster/web",
            "the account `12345678901` is not "
            "12 digits"},
           {"arn:aws:ecs::123456789012:cluster/web", "the region is missing"},
           {"arn:aws-cn:ecs:eu-west-1:123456789012:cluster/web",
            "region eu-west-1 is not in partition aws-cn"},
           {"arn:aws-eu:ecs:eu-west-1:123456789012:cluster/web",
            "unknown partition `aws-eu` (aws, aws-cn or aws-us-gov)"},
           {"arn:aws:eks:eu-west-1:123456789012:cluster/web",
            "it is an ARN of service `eks`, not ecs"},
           {"arn:aws:ecs:eu-west-1:123456789012:service/web", "its resource is not cluster/NAME"},
           {"arn:aws:ecs:eu-west-1", "an ARN is arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"},
       }) {
    auto out = cluster(arn);
    EXPECT_THAT(problems(out),
                ElementsAre(HasSubstr("7:16: cluster `" + arn + "` is not a cluster ARN: " + why)))
        << arn;
    EXPECT_THAT(problems(out),
                ElementsAre(HasSubstr("write arn:aws:ecs:REGION:ACCOUNT:cluster/NAME")));
  }
}

TEST(SpecParseEcsTest, ServicePrefixLeavesRoomForTheReleaseId) {
  expect_ecs("      service_prefix: " + std::string(242, 's') + "\n", "");
  expect_ecs("      service_prefix: " + std::string(243, 's') + "\n",
             "10:23: service_prefix `" + std::string(243, 's') +
                 "` must be 1-242 letters, digits, `-` and `_`",
             "at most 255 characters with a release id of 12");
  expect_ecs("      service_prefix: web.prod\n",
             "10:23: service_prefix `web.prod` must be 1-242 letters, digits, `-` and `_`");
}

TEST(SpecParseEcsTest, LaunchTypeAndCapacityProviders) {
  expect_ecs("      launch_type: FARGATE\n", "");
  expect_ecs("      launch_type: EC2\n", "");
  expect_ecs("      launch_type: EXTERNAL\n",
             "8:7: network (awsvpc) is not available with "
             "launch_type EXTERNAL",
             "remove network");
  expect_ecs("      launch_type: fargate\n", "10:20: unknown launch_type `fargate`",
             "launch types are written in capitals: FARGATE");
  expect_ecs("      launch_type: FARGAT\n", "10:20: unknown launch_type `FARGAT`",
             "did you mean `FARGATE`?");
  expect_ecs("      launch_type: MANAGED_INSTANCES\n",
             "10:20: launch_type `MANAGED_INSTANCES` cannot be named as a launch type",
             "chosen through capacity_providers");
  expect_ecs("      launch_type: EC2\n      capacity_providers: [{name: FARGATE}]\n",
             "11:7: launch_type and capacity_providers exclude each other", "ECS takes one");

  auto providers = [](const std::string& list) {
    return "      capacity_providers: " + list + "\n";
  };
  expect_ecs(providers("[{name: FARGATE}]"), "");
  expect_ecs(providers("[{name: FARGATE, weight: 0, base: 100000}, {name: FARGATE_SPOT, weight: "
                       "1000}]"),
             "");
  expect_ecs(providers("[{name: FARGATE, weight: 1001}]"),
             "10:52: weight must be between 0 and 1000");
  expect_ecs(providers("[{name: FARGATE, weight: -1}]"),
             "10:52: weight must be between 0 and 1000");
  expect_ecs(providers("[{name: FARGATE, base: 100001}]"),
             "10:50: base must be between 0 and 100000");
  expect_ecs(providers("[]"), "10:27: capacity_providers must list 1 to 20 providers, not 0");
  std::string twenty;
  for (int i = 0; i < 20; ++i) {
    twenty += fmt::format("{}{{name: asg-{}}}", i == 0 ? "" : ", ", i);
  }
  auto ec2 = [&](const std::string& list) {
    return parse_text(k_head + "      cluster: web\n" + providers(list));
  };
  EXPECT_TRUE(ec2("[" + twenty + "]").spec)
      << ::testing::PrintToString(problems(ec2("[" + twenty + "]")));
  EXPECT_THAT(
      problems(ec2("[" + twenty + ", {name: asg-20}]")),
      ElementsAre(HasSubstr("8:27: capacity_providers must list 1 to 20 providers, not 21")));
  expect_ecs(providers("[{name: FARGATE}, {name: FARGATE}]"),
             "10:52: capacity provider `FARGATE` is listed twice");
  expect_ecs(providers("[{name: FARGATE, base: 1}, {name: FARGATE_SPOT, base: 2}]"),
             "10:81: only one capacity provider may have a base", "then shares the rest by weight");
  expect_ecs(providers("[{name: FARGATE, weight: 0}, {name: FARGATE_SPOT, weight: 0}]"),
             "10:27: every capacity provider has weight 0", "weight above 0");
  expect_ecs(providers("[{name: FARGATE}, {name: my-asg}]"),
             "10:27: capacity_providers mixes FARGATE or FARGATE_SPOT with other providers",
             "not both");
  expect_ecs(providers("[{name: \"fargate spot\"}]"),
             "10:35: capacity provider `fargate spot` must be 1-255 letters, digits, `-` and `_`");
  // Providers other than Fargate's are EC2 capacity: no network or execution role needed.
  EXPECT_TRUE(ec2("[{name: my-asg}]").spec);
  EXPECT_FALSE(ecs_of(ec2("[{name: my-asg}]")).fargate());
}

TEST(SpecParseEcsTest, FargateNeedsNetworkAndExecutionRole) {
  auto out = parse_text(k_head + "      cluster: web\n");
  EXPECT_THAT(problems(out),
              ElementsAre(HasSubstr("7:7: ecs is missing required key `network` (Fargate tasks "
                                    "use awsvpc networking"),
                          HasSubstr("7:7: ecs is missing required key `execution_role` (Fargate "
                                    "pulls the image and sends the logs")));
  EXPECT_TRUE(parse_text(k_head + "      cluster: web\n      launch_type: EC2\n").spec);
}

TEST(SpecParseEcsTest, NetworkIdsAndCounts) {
  auto network = [](const std::string& subnets, const std::string& groups,
                    const std::string& more = "") {
    return parse_text(k_head + "      cluster: web\n      execution_role: r\n" +
                      "      network:\n        subnets: " + subnets +
                      "\n        security_groups: " + groups + "\n" + more);
  };
  std::string sixteen = "[";
  for (int i = 0; i < 16; ++i) {
    sixteen += fmt::format("{}subnet-{:08x}", i == 0 ? "" : ", ", i);
  }
  EXPECT_TRUE(network(sixteen + "]",
                      "[sg-01234567, sg-0123456789abcdef0, sg-01234568, "
                      "sg-01234569, sg-0123456a]")
                  .spec);
  EXPECT_THAT(problems(network(sixteen + ", subnet-ffffffff]", "[sg-01234567]")),
              ElementsAre("10:18: subnets must list 1 to 16 IDs, not 17 ()"));
  EXPECT_THAT(problems(network("[subnet-01234567]",
                               "[sg-01234567, sg-01234568, sg-01234569, sg-0123456a, sg-0123456b, "
                               "sg-0123456c]")),
              ElementsAre("11:26: security_groups must list 1 to 5 IDs, not 6 ()"));
  EXPECT_THAT(problems(network("[]", "[sg-01234567]")),
              ElementsAre("10:18: subnets must list 1 to 16 IDs, not 0 ()"));
  for (const auto& bad : {"subnet-0123456", "subnet-012345678", "subnet-0123456789ABCDEF0",
                          "subnet-0123456789abcdef", "sg-01234567", "subnet_01234567"}) {
    EXPECT_THAT(problems(network(fmt::format("[{}]", bad), "[sg-01234567]")),
                ElementsAre(fmt::format("10:19: `{}` in subnets is not a subnet- ID (IDs are "
                                        "subnet- and 8 or 17 lower-case hexadecimal digits, like "
                                        "subnet-0123456789abcdef0)",
                                        bad)));
  }
  EXPECT_THAT(problems(network("[subnet-01234567]", "[sg-01234567, sg-01234567]")),
              ElementsAre("11:40: `sg-01234567` is listed twice in security_groups ()"));
  EXPECT_THAT(problems(network("[subnet-01234567]", "[sg-xyz]")),
              ElementsAre(HasSubstr("11:27: `sg-xyz` in security_groups is not a sg- ID")));
  auto ec2_public = parse_text(k_head +
                               "      cluster: web\n      launch_type: EC2\n"
                               "      network: {subnets: [subnet-01234567], security_groups: "
                               "[sg-01234567], assign_public_ip: true}\n");
  EXPECT_THAT(problems(ec2_public),
              ElementsAre("9:95: assign_public_ip applies to Fargate tasks only (tasks on EC2 "
                          "instances get no public address of their own; use a NAT gateway)"));
}

TEST(SpecParseEcsTest, RolesAreArnsOrNames) {
  auto role = [](const std::string& value) {
    return parse_text(k_head +
                      "      cluster: web\n      network: {subnets: [subnet-01234567], "
                      "security_groups: [sg-01234567]}\n      execution_role: " +
                      value + "\n");
  };
  EXPECT_TRUE(role(std::string(64, 'r')).spec);
  EXPECT_TRUE(role("ecs+Task=Exec,Role.@_-").spec);
  EXPECT_TRUE(role("arn:aws:iam::123456789012:role/a/b/" + std::string(64, 'r')).spec);
  EXPECT_TRUE(role("arn:aws-us-gov:iam::123456789012:role/exec").spec);
  EXPECT_THAT(problems(role(std::string(65, 'r'))),
              ElementsAre(HasSubstr("9:23: execution_role `" + std::string(65, 'r') +
                                    "` is neither a role ARN nor a role name (write "
                                    "arn:aws:iam::ACCOUNT:role/NAME, or the role's name")));
  EXPECT_THAT(problems(role("my role")), ElementsAre(HasSubstr("is neither a role ARN nor")));
  EXPECT_THAT(problems(role("arn:aws:iam:eu-west-1:123456789012:role/exec")),
              ElementsAre(HasSubstr("is not a role ARN: IAM ARNs name no region")));
  EXPECT_THAT(problems(role("arn:aws:iam::123456789012:user/exec")),
              ElementsAre(HasSubstr("is not a role ARN: its resource is not role/NAME")));
  EXPECT_THAT(problems(role("arn:aws:iam::123456789012:role/" + std::string(65, 'r'))),
              ElementsAre(HasSubstr("is not a role ARN: its resource is not role/NAME")));
  EXPECT_THAT(problems(role("arn:aws:sts::123456789012:role/exec")),
              ElementsAre(HasSubstr("it is an ARN of service `sts`, not iam")));
  expect_ecs("      task_role: web-task\n", "");
  expect_ecs("      task_role: \"arn:aws:iam::12345678901x:role/t\"\n",
             "10:18: task_role `arn:aws:iam::12345678901x:role/t` is not a role ARN: the account "
             "`12345678901x` is not 12 digits",
             "write arn:aws:iam::ACCOUNT:role/NAME");
}

// AWS's Fargate task sizes: each cpu with its least and greatest memory, a size inside its
// steps, and the sizes just outside (below, above, between steps).
TEST(SpecParseEcsTest, FargateCpuMemoryPairsAtTheirEdges) {
  struct Pair {
    int cpu;
    std::vector<std::string> good;
    std::vector<std::string> bad;
    std::string takes;
  };
  const std::vector<Pair> table{
      {256, {"512Mi", "1Gi", "2Gi"}, {"1536Mi", "3Gi"}, "512Mi, 1Gi or 2Gi"},
      {512, {"1Gi", "2Gi", "4Gi"}, {"512Mi", "5Gi"}, "1Gi, 2Gi, 3Gi or 4Gi"},
      {1024, {"2Gi", "5Gi", "8Gi"}, {"1Gi", "9Gi", "2560Mi"}, "from 2Gi to 8Gi in 1Gi steps"},
      {2048, {"4Gi", "9Gi", "16Gi"}, {"3Gi", "17Gi", "4608Mi"}, "from 4Gi to 16Gi in 1Gi steps"},
      {4096, {"8Gi", "17Gi", "30Gi"}, {"7Gi", "31Gi"}, "from 8Gi to 30Gi in 1Gi steps"},
      {8192, {"16Gi", "20Gi", "60Gi"}, {"12Gi", "18Gi", "64Gi"}, "from 16Gi to 60Gi in 4Gi steps"},
      {16384,
       {"32Gi", "40Gi", "120Gi"},
       {"24Gi", "36Gi", "128Gi"},
       "from 32Gi to 120Gi in 8Gi steps"},
  };
  int good = 0;
  int bad = 0;
  for (const auto& [cpu, goods, bads, takes] : table) {
    for (const auto& memory : goods) {
      expect_ecs(fmt::format("      cpu: {}\n      memory: {}\n", cpu, memory), "");
      ++good;
    }
    for (const auto& memory : bads) {
      auto out = ecs_with(fmt::format("      cpu: {}\n      memory: {}\n", cpu, memory));
      ASSERT_EQ(out.diagnostics.size(), 1u) << cpu << " " << memory;
      const Diagnostic& d = out.diagnostics[0];
      EXPECT_EQ(d.line, 11);
      EXPECT_EQ(d.column, 15);
      EXPECT_THAT(d.message, HasSubstr(memory)) << d.message;
      EXPECT_THAT(d.hint + d.message,
                  ::testing::AnyOf(HasSubstr(fmt::format("cpu {} takes memory {}", cpu, takes)),
                                   HasSubstr("is not a Fargate task size")))
          << d.hint;
      ++bad;
    }
  }
  EXPECT_EQ(good, 21);
  EXPECT_EQ(bad, 18);
  expect_ecs("      cpu: 256\n      memory: 3Gi\n",
             "11:15: memory 3Gi does not go with cpu 256 on Fargate",
             "cpu 256 takes memory 512Mi, 1Gi or 2Gi; memory 3Gi goes with cpu 512 or 1024");
  expect_ecs("      cpu: 1024\n      memory: 2560Mi\n",
             "11:15: memory 2560Mi is not a Fargate task size", "whole Gi up to 30Gi");
  expect_ecs("      cpu: 128\n", "10:12: cpu 128 is not a Fargate task size",
             "256, 512, 1024, 2048, 4096, 8192 or 16384");
  expect_ecs("      cpu: 32768\n", "10:12: cpu 32768 is not a Fargate task size");
}

TEST(SpecParseEcsTest, FargateSizesFillEachOther) {
  EXPECT_EQ(ecs_of(ecs_with("      cpu: 4096\n")).memory_mib, 8192);
  EXPECT_EQ(ecs_of(ecs_with("      memory: 3Gi\n")).cpu, 512);
  EXPECT_EQ(ecs_of(ecs_with("      memory: 40Gi\n")).cpu, 8192);
  auto out = ecs_with("      memory: 2Gi\n");
  EXPECT_EQ(ecs_of(out).cpu, 256);
  EXPECT_EQ(ecs_of(out).memory_mib, 2048);
}

TEST(SpecParseEcsTest, MemoryIsWholeMebibytes) {
  expect_ecs("      memory: 512\n", "10:15: memory `512` is not a whole number of MiB",
             "a number without a unit is bytes");
  expect_ecs("      memory: 1G\n", "10:15: memory `1G` is not a whole number of MiB", "512Mi");
  expect_ecs("      memory: 536870912\n", "");  // 512 MiB in bytes
  expect_ecs("      memory: 8192Ki\n", "10:15: memory 8Mi is not a Fargate task size");
  expect_ecs("      memory: 5Mi\n", "10:15: memory `5Mi` is below 6Mi", "at least 6Mi");
  expect_ecs("      memory: lots\n", "10:15: memory `lots` is not a size", "256Mi, 1Gi");
  expect_ecs("      memory: 999999999999Gi\n", "10:15: memory `999999999999Gi` is too large");
}

TEST(SpecParseEcsTest, Ec2SizesWithinEcsLimits) {
  auto ec2 = [](const std::string& extra) {
    return parse_text(k_head + "      cluster: web\n      launch_type: EC2\n" + extra);
  };
  EXPECT_EQ(ecs_of(ec2("      cpu: 128\n      memory: 6Mi\n")).memory_mib, 6);
  EXPECT_EQ(ecs_of(ec2("      cpu: 196608\n      memory: 1000Mi\n")).cpu, 196608);
  EXPECT_THAT(problems(ec2("      cpu: 127\n")),
              ElementsAre("9:12: cpu must be between 128 and 196608 ()"));
  EXPECT_THAT(problems(ec2("      cpu: 196609\n")),
              ElementsAre("9:12: cpu must be between 128 and 196608 ()"));
  EXPECT_THAT(problems(ec2("      memory: 5Mi\n")),
              ElementsAre("9:15: memory `5Mi` is below 6Mi (a container needs at least 6Mi)"));
  EXPECT_THAT(problems(ec2("      memory: 2097152Gi\n")),
              ElementsAre("9:15: memory `2097152Gi` is above 2147483647Mi ()"));
}

TEST(SpecParseEcsTest, PlatformVersionIsFargateOnly) {
  expect_ecs("      platform_version: LATEST\n", "");
  expect_ecs("      platform_version: 1.3.0\n", "");
  expect_ecs("      platform_version: latest\n",
             "10:25: platform_version `latest` is not LATEST or a version", "like 1.4.0");
  expect_ecs("      cpu: 8192\n      platform_version: 1.4.0\n", "");
  expect_ecs("      cpu: 16384\n      platform_version: 1.3.0\n",
             "11:25: cpu 16384 needs Fargate platform version 1.4.0 or later",
             "write platform_version: LATEST or 1.4.0");
  expect_ecs("      cpu: 4096\n      platform_version: 1.3.0\n", "");
  auto ec2 = parse_text(k_head +
                        "      cluster: web\n      launch_type: EC2\n      platform_version: "
                        "LATEST\n");
  EXPECT_THAT(problems(ec2), ElementsAre(HasSubstr("9:7: platform_version applies to Fargate "
                                                   "only")));
}

TEST(SpecParseEcsTest, LogsFollowCloudWatchRules) {
  expect_ecs("      logs: {group: " + std::string(512, 'g') + "}\n", "");
  expect_ecs("      logs: {group: /ecs/web_prod-2.0#a}\n", "");
  expect_ecs("      logs: {group: " + std::string(513, 'g') + "}\n",
             "10:21: log group `" + std::string(513, 'g') + "` is not a log group name",
             "1-512 letters, digits and _ - / . #, not starting with aws/");
  expect_ecs("      logs: {group: aws/ecs}\n",
             "10:21: log group `aws/ecs` is not a log group name");
  expect_ecs("      logs: {group: \"/ecs/web prod\"}\n",
             "10:21: log group `/ecs/web prod` is not a log group name");
  expect_ecs("      logs: {stream_prefix: " + std::string(128, 'p') + "}\n", "");
  expect_ecs("      logs: {stream_prefix: " + std::string(129, 'p') + "}\n",
             "10:29: stream_prefix `" + std::string(129, 'p') +
                 "` must be 1-128 characters without : or *",
             "PREFIX/CONTAINER/TASK-ID");
  expect_ecs("      logs: {stream_prefix: \"web:1\"}\n",
             "10:29: stream_prefix `web:1` must be 1-128 characters without : or *");
  expect_ecs("      logs: {create_group: yes}\n", "10:28: create_group must be true or false");
  for (int days : log_retention_days()) {
    expect_ecs(fmt::format("      logs: {{retention_days: {}}}\n", days), "");
  }
  for (int days : {0, 2, 366, 3654}) {
    expect_ecs(
        fmt::format("      logs: {{retention_days: {}}}\n", days),
        fmt::format("10:30: retention_days {} is not a retention CloudWatch Logs takes", days),
        "use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
        "1827, 2192, 2557, 2922, 3288, 3653");
  }
}

TEST(SpecParseEcsTest, TagsFollowAwsRules) {
  std::string fifty;
  for (int i = 0; i < 50; ++i) {
    fifty += fmt::format("{}k{}: v", i == 0 ? "" : ", ", i);
  }
  expect_ecs("      tags: {" + fifty + "}\n", "");
  expect_ecs("      tags: {" + fifty + ", k50: v}\n",
             "10:13: tags has 51 entries; AWS takes at most 50");
  expect_ecs("      tags: {" + std::string(128, 'k') + ": v}\n", "");
  expect_ecs("      tags: {" + std::string(129, 'k') + ": v}\n",
             "10:14: tag key `" + std::string(129, 'k') +
                 "` cannot be used: it is 129 characters, more than 128",
             "tag keys are at most 128 letters");
  expect_ecs("      tags: {k: " + std::string(256, 'v') + "}\n", "");
  expect_ecs("      tags: {k: " + std::string(257, 'v') + "}\n",
             "10:17: tag value `" + std::string(257, 'v') +
                 "` cannot be used: it is 257 characters, more than 256");
  // Characters, not bytes: 128 two-byte letters make a valid key.
  std::string e_acute;
  for (int i = 0; i < 128; ++i) {
    e_acute += "\xC3\xA9";
  }
  expect_ecs("      tags: {" + e_acute + ": \"a b+c=d.e/f:g@h-i_j\"}\n", "");
  expect_ecs("      tags: {\"aws:team\": web}\n",
             "10:14: tag key `aws:team` cannot be used: it starts with `aws:`, which AWS reserves",
             "not starting with aws:");
  expect_ecs(
      "      tags: {team: \"AWS:web\"}\n",
      "10:20: tag value `AWS:web` cannot be used: it starts with `aws:`, which AWS reserves");
  expect_ecs("      tags: {team: \"a*b\"}\n",
             "10:20: tag value `a*b` cannot be used: it holds `*`; tags take letters, digits, "
             "spaces and _ . : / = + - @");
  expect_ecs("      tags: {team: }\n", "");
}

}  // namespace
}  // namespace ztp::spec
