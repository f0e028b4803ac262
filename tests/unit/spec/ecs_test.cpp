#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "ecs_test_util.hpp"
#include "spec/json.hpp"

// The ECS model's AWS limits against the API models they come from (botocore's service models
// of ECS, Elastic Load Balancing v2 and CloudWatch Logs, read from the test vectors), the ARN
// reader, and the block's JSON form.
namespace ztp::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::k_full;
using testing::k_listener;
using testing::parse_text;
using testing::problems;

nlohmann::json model(const std::string& service) {
  const std::map<std::string, std::string> k_paths{
      {"ecs", "aws-models/ecs/2014-11-13/service-2.json"},
      {"elbv2", "aws-models/elbv2/2015-12-01/service-2.json"},
      {"logs", "aws-models/logs/2014-03-28/service-2.json"}};
  return nlohmann::json::parse(
      ::ztp::testing::read_text(::ztp::testing::vector_path(k_paths.at(service))));
}

// The whole numbers of `text` from `from` on, up to the first `until` after it.
std::vector<int> numbers_in(const std::string& text, const std::string& from,
                            const std::string& until) {
  std::size_t start = text.find(from);
  std::string part = start == std::string::npos
                         ? ""
                         : text.substr(start + from.size(),
                                       text.find(until, start + from.size()) - start - from.size());
  std::vector<int> out;
  static const std::regex k_number("[0-9]+");
  for (auto it = std::sregex_iterator(part.begin(), part.end(), k_number);
       it != std::sregex_iterator(); ++it) {
    out.push_back(std::stoi(it->str()));
  }
  return out;
}

// RegisterTaskDefinition's `memory` documents the Fargate task sizes as a list of items
// "MEMORY... - Available cpu values: CPU"; each becomes cpu -> memory sizes in MiB.
std::map<int, std::vector<int>> documented_fargate_sizes(const std::string& doc) {
  std::map<int, std::vector<int>> out;
  static const std::regex k_item(R"(<li> <p>([^<]*) - Available <code>cpu</code> values: (\d+))");
  static const std::regex k_mib_range(
      R"(Between (\d+) \(\d+ GB\) and (\d+) \(\d+ GB\) in increments of (\d+))");
  static const std::regex k_gib_range(R"(Between (\d+) ?GB and (\d+) GB in (\d+) GB increments)");
  static const std::regex k_listed(R"((\d+) \(\d+(\.\d+)? GB\))");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), k_item); it != std::sregex_iterator();
       ++it) {
    std::string sizes = (*it)[1].str();
    int cpu = std::stoi((*it)[2].str());
    std::smatch m;
    std::vector<int>& mib = out[cpu];
    bool mib_range = std::regex_search(sizes, m, k_mib_range);
    if (mib_range || std::regex_search(sizes, m, k_gib_range)) {
      int scale = mib_range ? 1 : 1024;  // "Between 16 GB and 60 GB in 4 GB increments"
      for (int v = std::stoi(m[1]) * scale; v <= std::stoi(m[2]) * scale;
           v += std::stoi(m[3]) * scale) {
        mib.push_back(v);
      }
    } else {
      for (auto s = std::sregex_iterator(sizes.begin(), sizes.end(), k_listed);
           s != std::sregex_iterator(); ++s) {
        mib.push_back(std::stoi((*s)[1].str()));
      }
    }
  }
  return out;
}

TEST(SpecEcsModelTest, FargateSizesAreTheDocumentedOnes) {
  auto ecs = model("ecs");
  std::string doc =
      ecs["shapes"]["RegisterTaskDefinitionRequest"]["members"]["memory"]["documentation"];
  auto documented = documented_fargate_sizes(doc);
  ASSERT_EQ(documented.size(), fargate_cpu_units().size());
  std::size_t pairs = 0;
  for (int cpu : fargate_cpu_units()) {
    EXPECT_EQ(fargate_memory_mib(cpu), documented[cpu]) << "cpu " << cpu;
    pairs += documented[cpu].size();
  }
  EXPECT_EQ(pairs, 3u + 4 + 7 + 13 + 23 + 12 + 12);
  EXPECT_TRUE(fargate_memory_mib(128).empty());
  // Beyond Fargate, ECS takes 128 to 196608 CPU units.
  std::string cpu_doc =
      ecs["shapes"]["RegisterTaskDefinitionRequest"]["members"]["cpu"]["documentation"];
  EXPECT_THAT(cpu_doc,
              HasSubstr(fmt::format("between <code>{}</code> CPU units", k_ecs_min_ec2_cpu)));
  EXPECT_THAT(cpu_doc, HasSubstr(fmt::format("and <code>{}</code> CPU units", k_ecs_max_ec2_cpu)));
}

TEST(SpecEcsModelTest, EcsLimitsAreTheModelsOnes) {
  auto ecs = model("ecs");
  const auto& shapes = ecs["shapes"];
  std::set<std::string> launch_types(shapes["LaunchType"]["enum"].begin(),
                                     shapes["LaunchType"]["enum"].end());
  for (const auto& type : ecs_launch_types()) {
    EXPECT_TRUE(launch_types.count(type)) << type;
  }
  EXPECT_EQ(shapes["CapacityProviderStrategyItemWeight"]["min"], 0);
  EXPECT_EQ(shapes["CapacityProviderStrategyItemWeight"]["max"], k_ecs_max_capacity_weight);
  EXPECT_EQ(shapes["CapacityProviderStrategyItemBase"]["min"], 0);
  EXPECT_EQ(shapes["CapacityProviderStrategyItemBase"]["max"], k_ecs_max_capacity_base);
  EXPECT_EQ(shapes["Tags"]["max"], k_aws_max_tags);
  EXPECT_EQ(shapes["TagKey"]["max"], k_aws_max_tag_key);
  EXPECT_EQ(shapes["TagValue"]["max"], k_aws_max_tag_value);
  const auto& create = shapes["CreateServiceRequest"]["members"];
  EXPECT_THAT(create["serviceName"]["documentation"].get<std::string>(),
              HasSubstr("Up to 255 letters (uppercase and lowercase), numbers, underscores, and "
                        "hyphens are allowed"));
  EXPECT_EQ(k_ecs_max_service_prefix + 1 + k_ecs_release_id_length, 255u);
  EXPECT_THAT(
      create["capacityProviderStrategy"]["documentation"].get<std::string>(),
      HasSubstr(fmt::format("maximum of {} capacity providers", k_ecs_max_capacity_providers)));
  EXPECT_THAT(create["platformVersion"]["documentation"].get<std::string>(),
              HasSubstr("only for tasks using the Fargate launch type"));
  const auto& vpc = shapes["AwsVpcConfiguration"]["members"];
  EXPECT_THAT(vpc["subnets"]["documentation"].get<std::string>(),
              HasSubstr(fmt::format("limit of {} subnets", k_ecs_max_subnets)));
  EXPECT_THAT(vpc["securityGroups"]["documentation"].get<std::string>(),
              HasSubstr(fmt::format("limit of {} security groups", k_ecs_max_security_groups)));
  std::string tag_doc = shapes["Tag"]["documentation"];
  EXPECT_THAT(tag_doc, HasSubstr("Do not use <code>aws:</code>, <code>AWS:</code>"));
}

TEST(SpecEcsModelTest, LoadBalancerLimitsAreTheModelsOnes) {
  auto elb = model("elbv2");
  const auto& shapes = elb["shapes"];
  EXPECT_EQ(shapes["HealthCheckIntervalSeconds"]["min"], k_elb_min_interval_s);
  EXPECT_EQ(shapes["HealthCheckIntervalSeconds"]["max"], k_elb_max_interval_s);
  EXPECT_EQ(shapes["HealthCheckTimeoutSeconds"]["min"], k_elb_min_timeout_s);
  EXPECT_EQ(shapes["HealthCheckTimeoutSeconds"]["max"], k_elb_max_timeout_s);
  EXPECT_EQ(shapes["HealthCheckThresholdCount"]["min"], k_elb_min_threshold);
  EXPECT_EQ(shapes["HealthCheckThresholdCount"]["max"], k_elb_max_threshold);
  EXPECT_EQ(shapes["RulePriority"]["min"], 1);
  EXPECT_EQ(shapes["RulePriority"]["max"], k_elb_max_rule_priority);
  EXPECT_EQ(shapes["Path"]["max"], k_elb_max_health_check_path);
  std::string attributes = shapes["TargetGroupAttribute"]["members"]["Key"]["documentation"];
  EXPECT_THAT(attributes, HasSubstr(fmt::format("The range is 0-{} seconds",
                                                k_elb_max_deregistration_delay_s)));
  std::string matcher = shapes["Matcher"]["members"]["HttpCode"]["documentation"];
  EXPECT_THAT(matcher, HasSubstr("For Application Load Balancers, you can specify values "
                                 "between 200 and 499"));
  std::string name = shapes["CreateTargetGroupInput"]["members"]["Name"]["documentation"];
  EXPECT_THAT(name, HasSubstr("maximum of 32 characters, must contain only alphanumeric "
                              "characters or hyphens, and must not begin or end with a hyphen"));
  EXPECT_EQ(k_ecs_max_target_group_prefix + 1 + k_ecs_release_id_length, 32u);
  std::string host = shapes["HostHeaderConditionConfig"]["members"]["Values"]["documentation"];
  EXPECT_THAT(host, HasSubstr("The maximum length of each string is 128 characters"));
  EXPECT_THAT(host, HasSubstr("You can include only alphabetical characters after the final"));
}

TEST(SpecEcsModelTest, LogLimitsAreTheModelsOnes) {
  auto logs = model("logs");
  const auto& shapes = logs["shapes"];
  std::string days_doc = shapes["Days"]["documentation"];
  EXPECT_EQ(numbers_in(days_doc, "Possible values are:", "</p>"), log_retention_days());
  EXPECT_EQ(log_retention_days().size(), 22u);
  EXPECT_EQ(shapes["LogGroupName"]["max"], 512);
  // Every printable character is accepted in a log group name exactly when the model's
  // pattern accepts it.
  std::regex pattern(shapes["LogGroupName"]["pattern"].get<std::string>());
  int accepted = 0;
  for (char c = 0x20; c < 0x7F; ++c) {
    std::string name = std::string("g") + c;
    EXPECT_EQ(is_log_group_name(name), std::regex_match(name, pattern)) << name;
    accepted += is_log_group_name(name) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 26 + 26 + 10 + 5);
  EXPECT_TRUE(is_log_group_name(std::string(512, 'g')));
  EXPECT_FALSE(is_log_group_name(std::string(513, 'g')));
  EXPECT_FALSE(is_log_group_name("aws/ecs"));
  EXPECT_THAT(logs["operations"]["CreateLogGroup"]["documentation"].get<std::string>(),
              HasSubstr("Log group names can't start with the string <code>aws/</code>"));
}

TEST(SpecEcsModelTest, ParseArnSplitsAndChecksEachPart) {
  auto listener = parse_arn(k_listener, ArnKind::listener);
  ASSERT_TRUE(listener.ok()) << listener.error().message;
  EXPECT_EQ(listener->partition, "aws");
  EXPECT_EQ(listener->service, "elasticloadbalancing");
  EXPECT_EQ(listener->region, "eu-west-1");
  EXPECT_EQ(listener->account, "123456789012");
  EXPECT_EQ(listener->resource, "listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2");
  auto role = parse_arn("arn:aws-us-gov:iam::123456789012:role/ops/deploy", ArnKind::role);
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->region, "");
  EXPECT_EQ(role->resource, "role/ops/deploy");
  EXPECT_EQ(parse_arn("arn:aws:ecs:us-gov-west-1:123456789012:cluster/c", ArnKind::cluster)
                .error()
                .message,
            "region us-gov-west-1 is not in partition aws");
  EXPECT_EQ(region_partition("cn-north-1"), "aws-cn");
  EXPECT_EQ(region_partition("us-gov-east-1"), "aws-us-gov");
  EXPECT_EQ(region_partition("us-east-1"), "aws");
  EXPECT_EQ(arn_shape(ArnKind::role), "arn:aws:iam::ACCOUNT:role/NAME");
}

TEST(SpecEcsModelTest, ShortenedTargetGroupPrefixesFit) {
  for (const std::string& prefix :
       {std::string("web"), std::string("web_prod"), std::string(300, 'x'), std::string("--a_"),
        std::string("a") + std::string(18, '-') + "b", std::string("___")}) {
    std::string shortened = shorten_target_group_prefix(prefix);
    EXPECT_EQ(target_group_prefix_problem(shortened), "") << prefix << " -> " << shortened;
  }
  EXPECT_EQ(shorten_target_group_prefix("web_prod"), "web-prod");
  EXPECT_EQ(shorten_target_group_prefix("--a_"), "a");
}

TEST(SpecEcsJsonTest, BlockAppearsResolvedUnderItsEnvironment) {
  auto out = parse_text(k_full);
  ASSERT_TRUE(out.spec) << ::testing::PrintToString(problems(out));
  auto j = to_json(*out.spec);
  const auto& staging = j["environments"][0]["ecs"];
  EXPECT_EQ(staging["region"], nullptr);
  EXPECT_EQ(staging["cluster"], "web-staging");
  EXPECT_EQ(staging["service_prefix"], "web-staging");
  EXPECT_EQ(staging["launch_type"], "FARGATE");
  EXPECT_EQ(staging["fargate"], true);
  EXPECT_EQ(staging["capacity_providers"], nlohmann::json::array());
  EXPECT_EQ(staging["platform_version"], nullptr);
  EXPECT_EQ(staging["task_role"], nullptr);
  EXPECT_EQ(staging["execution_role"], "ecsTaskExecutionRole");
  EXPECT_EQ(staging["cpu"], 256);
  EXPECT_EQ(staging["memory_mib"], 512);
  EXPECT_EQ(staging["network"]["security_groups"], nlohmann::json::array({"sg-01234567"}));
  EXPECT_EQ(staging["network"]["assign_public_ip"], false);
  EXPECT_EQ(staging["logs"], (nlohmann::json{{"group", "/ecs/web-staging"},
                                             {"stream_prefix", "ecs"},
                                             {"create_group", true},
                                             {"retention_days", nullptr}}));
  EXPECT_EQ(staging["load_balancer"], nullptr);
  EXPECT_EQ(staging["tags"], nlohmann::json::object());
  EXPECT_EQ(staging["position"], (nlohmann::json{{"line", 10}, {"column", 5}}));
  EXPECT_EQ(j["environments"][0]["listen"], "");

  const auto& prod = j["environments"][1]["ecs"];
  EXPECT_EQ(prod["region"], "eu-west-1");
  EXPECT_EQ(prod["launch_type"], nullptr);
  EXPECT_EQ(prod["capacity_providers"],
            (nlohmann::json::array({{{"name", "FARGATE_SPOT"}, {"weight", 3}, {"base", 0}},
                                    {{"name", "FARGATE"}, {"weight", 1}, {"base", 1}}})));
  EXPECT_EQ(prod["fargate"], true);
  EXPECT_EQ(prod["memory_mib"], 3072);
  EXPECT_EQ(prod["logs"]["retention_days"], 30);
  EXPECT_EQ(prod["tags"], (nlohmann::json{{"team", "web"}, {"cost-center", "42"}}));
  const auto& lb = prod["load_balancer"];
  EXPECT_EQ(lb["vpc"], "vpc-0123456789abcdef0");
  EXPECT_EQ(lb["listener"], k_listener);
  EXPECT_EQ(lb["rule"],
            (nlohmann::json{{"priority", 10}, {"hosts", {"www.example.com"}}, {"paths", {"/*"}}}));
  EXPECT_EQ(lb["position"], (nlohmann::json{{"line", 35}, {"column", 7}}));
  const auto& group = lb["target_group"];
  EXPECT_EQ(group["name_prefix"], "web-prod");
  EXPECT_EQ(group["deregistration_delay"], "45s");
  EXPECT_EQ(group["deregistration_delay_ms"], 45000);
  EXPECT_EQ(group["health_check"], (nlohmann::json{{"path", "/ready"},
                                                   {"interval", "15s"},
                                                   {"interval_ms", 15000},
                                                   {"timeout", "6s"},
                                                   {"timeout_ms", 6000},
                                                   {"healthy_threshold", 3},
                                                   {"unhealthy_threshold", 4},
                                                   {"matcher", "200,302"}}));
}

TEST(SpecEcsJsonTest, OtherTargetsHaveNoBlock) {
  auto out = parse_text("app: web\nenvironments:\n  - name: dev\n    listen: 127.0.0.1:8081\n");
  ASSERT_TRUE(out.spec);
  EXPECT_EQ(to_json(*out.spec)["environments"][0]["ecs"], nullptr);
  EXPECT_FALSE(out.spec->environments[0].ecs);
}

TEST(SpecEcsJsonTest, DefaultHealthCheckPathIsTheServices) {
  auto out = parse_text(
      "app: web\n"
      "registry: oci://registry.example.com:5000/web\n"
      "service: {health: {path: /healthz}}\n"
      "environments:\n"
      "  - name: prod\n"
      "    target: ecs\n"
      "    ecs:\n" +
      testing::k_fargate_keys + "      load_balancer: {vpc: vpc-01234567, listener: \"" +
      k_listener + "\"}\n");
  ASSERT_TRUE(out.spec) << ::testing::PrintToString(problems(out));
  auto group = to_json(*out.spec)["environments"][0]["ecs"]["load_balancer"]["target_group"];
  EXPECT_EQ(group["health_check"]["path"], "/healthz");
  EXPECT_EQ(group["name_prefix"], "web-prod");
  EXPECT_EQ(group["health_check"]["matcher"], "200-399");
}

}  // namespace
}  // namespace ztp::spec
