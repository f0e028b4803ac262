#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ecs_test_util.hpp"

// The checks of ECS environments against the rest of the spec: a registry ECS can pull from,
// and no service prefix, target group prefix or listener rule shared by two environments.
namespace ztp::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::k_fargate_keys;
using testing::k_head;
using testing::k_listener;
using testing::parse_text;
using testing::problems;

TEST(SpecCheckEcsTest, RegistryMustBeOneEcsCanPullFrom) {
  auto with_registry = [](const std::string& registry) {
    return parse_text("app: web\n" + registry +
                      "environments:\n"
                      "  - name: prod\n"
                      "    target: ecs\n"
                      "    ecs:\n" +
                      k_fargate_keys);
  };
  const std::string hint =
      "(write registry: ecr://ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO, or oci://HOST/REPO on a "
      "host the tasks reach)";
  // Not written: reported at the first ECS environment's block.
  EXPECT_THAT(problems(with_registry("")),
              ElementsAre("5:5: target ecs (environment `prod`) needs a registry ECS can pull "
                          "from, and registry `local` is an image layout on this machine, which "
                          "ECS cannot pull from " +
                          hint));
  EXPECT_THAT(problems(with_registry("registry: local\n")),
              ElementsAre(HasSubstr("2:11: target ecs (environment `prod`) needs a registry ECS "
                                    "can pull from, and registry `local` is an image layout")));
  for (const auto& host : {"127.0.0.1:5000", "127.1.2.3", "localhost:5000", "[::1]:5000",
                           "0.0.0.0:5000", "registry.localhost"}) {
    EXPECT_THAT(problems(with_registry(fmt::format("registry: oci://{}/web\n", host))),
                ElementsAre(fmt::format("2:11: target ecs (environment `prod`) needs a registry "
                                        "ECS can pull from, and registry `oci://{}/web` is on "
                                        "this machine's loopback ({}), which ECS tasks cannot "
                                        "reach {}",
                                        host, host, hint)));
  }
  for (const auto& registry :
       {"oci://registry.example.com/web", "oci://10.0.0.5:5000/team/web",
        "oci://[2001:db8::1]:5000/web", "ecr://123456789012.dkr.ecr.us-east-1.amazonaws.com/web"}) {
    EXPECT_TRUE(with_registry(fmt::format("registry: {}\n", registry)).spec) << registry;
  }
  // ECR pulls cross regions of a partition, not partitions.
  auto china = parse_text(k_head + k_fargate_keys + "      region: cn-north-1\n");
  EXPECT_THAT(problems(china),
              ElementsAre(HasSubstr("2:11: target ecs (environment `prod`) needs a registry ECS "
                                    "can pull from, and registry "
                                    "`ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web` is "
                                    "in region eu-west-1, another AWS partition than environment "
                                    "`prod`'s region cn-north-1")));
}

TEST(SpecCheckEcsTest, EnvironmentsDoNotShareServicesTargetGroupsOrRules) {
  auto two = [](const std::string& first, const std::string& second) {
    std::string lb_prefix =
        "      load_balancer: {vpc: vpc-01234567, listener: \"" + k_listener + "\"";
    return parse_text(
        "app: web\n"
        "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web\n"
        "environments:\n"
        "  - name: staging\n"
        "    target: ecs\n"
        "    ecs:\n" +
        k_fargate_keys + lb_prefix + first + "}\n" +
        "  - name: prod\n"
        "    target: ecs\n"
        "    ecs:\n" +
        k_fargate_keys + lb_prefix + second + "}\n");
  };
  EXPECT_TRUE(two(", rule: {priority: 1, hosts: [staging.example.com]}",
                  ", rule: {priority: 2, hosts: [www.example.com]}")
                  .spec);
  EXPECT_TRUE(two(", rule: {priority: 1, hosts: [staging.example.com]}", "").spec);
  EXPECT_THAT(problems(two("", "")),
              ElementsAre("13:5: environments `staging` and `prod` share the default action of "
                          "one listener (each ECS environment needs its own services, target "
                          "groups and listener rule)"));
  EXPECT_THAT(problems(two(", rule: {priority: 7, hosts: [a.example.com]}",
                           ", rule: {priority: 7, hosts: [b.example.com]}")),
              ElementsAre(HasSubstr("13:5: environments `staging` and `prod` share rule priority "
                                    "7 on one listener")));
  EXPECT_THAT(problems(two(", rule: {priority: 1, hosts: [a.example.com]}, target_group: "
                           "{name_prefix: web}",
                           ", rule: {priority: 2, hosts: [b.example.com]}, target_group: "
                           "{name_prefix: web}")),
              ElementsAre(HasSubstr("13:5: environments `staging` and `prod` share the target "
                                    "group prefix `web`")));
  auto same_service = parse_text(
      "app: web\n"
      "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web\n"
      "environments:\n"
      "  - name: staging\n"
      "    target: ecs\n"
      "    ecs:\n" +
      k_fargate_keys + "      service_prefix: web-prod\n" +
      "  - name: prod\n"
      "    target: ecs\n"
      "    ecs:\n" +
      k_fargate_keys);
  EXPECT_THAT(problems(same_service),
              ElementsAre(HasSubstr("13:5: environments `staging` and `prod` share the service "
                                    "prefix `web-prod` in cluster web-prod")));
}

}  // namespace
}  // namespace ztp::spec
