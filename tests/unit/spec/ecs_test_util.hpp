#pragma once

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spec/ecs.hpp"
#include "spec_test_util.hpp"

// What the tests of the `ecs:` block share: a full example, a minimal Fargate environment to
// add keys to, and problems written as "LINE:COL: message (hint)".
namespace ztp::spec::testing {

inline const std::string k_listener =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/"
    "f2f7dc8efc522ab2";
inline const std::string k_test_listener =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/"
    "0123456789abcdef";

// Every key of the block, in two environments: staging with the defaults, prod with each key
// written.
inline const std::string k_full =
    "app: web\n"                                                          // 1
    "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web\n"  // 2
    "service:\n"                                                          // 3
    "  port: 8080\n"                                                      // 4
    "  health: {path: /healthz}\n"                                        // 5
    "environments:\n"                                                     // 6
    "  - name: staging\n"                                                 // 7
    "    target: ecs\n"                                                   // 8
    "    replicas: 2\n"                                                   // 9
    "    ecs:\n"                                                          // 10
    "      cluster: web-staging\n"                                        // 11
    "      network: {subnets: [subnet-0123456789abcdef0], security_groups: [sg-01234567]}\n"
    "      execution_role: ecsTaskExecutionRole\n"                          // 13
    "  - name: prod\n"                                                      // 14
    "    target: ecs\n"                                                     // 15
    "    listen: www.example.com:443\n"                                     // 16
    "    replicas: 3\n"                                                     // 17
    "    strategy:\n"                                                       // 18
    "      canary: {steps: [{weight: 10, pause: 1m}]}\n"                    // 19
    "    ecs:\n"                                                            // 20
    "      region: ${AWS_REGION:-eu-west-1}\n"                              // 21
    "      cluster: arn:aws:ecs:eu-west-1:123456789012:cluster/web-prod\n"  // 22
    "      service_prefix: web-prod\n"                                      // 23
    "      capacity_providers: [{name: FARGATE_SPOT, weight: 3}, {name: FARGATE, weight: 1, "
    "base: 1}]\n"                                                              // 24
    "      platform_version: 1.4.0\n"                                          // 25
    "      network:\n"                                                         // 26
    "        subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]\n"  // 27
    "        security_groups: [sg-0123456789abcdef0]\n"                        // 28
    "        assign_public_ip: true\n"                                         // 29
    "      task_role: arn:aws:iam::123456789012:role/web-task\n"               // 30
    "      execution_role: arn:aws:iam::123456789012:role/service/ecsTaskExecutionRole\n"
    "      cpu: 1024\n"    // 32
    "      memory: 3Gi\n"  // 33
    "      logs: {group: /ecs/web, stream_prefix: web, create_group: false, retention_days: 30}\n"
    "      load_balancer:\n"                // 35
    "        vpc: vpc-0123456789abcdef0\n"  // 36
    "        listener: " +
    k_listener +
    "\n"  // 37
    "        rule: {priority: 10, hosts: [www.example.com], paths: [\"/*\"]}\n"
    "        test_listener: " +
    k_test_listener +
    "\n"                                 // 39
    "        target_group:\n"            // 40
    "          name_prefix: web-prod\n"  // 41
    "          health_check: {path: /ready, interval: 15s, timeout: 6s, healthy_threshold: 3,\n"
    "                         unhealthy_threshold: 4, matcher: \"200,302\"}\n"
    "          deregistration_delay: 45s\n"            // 44
    "      tags: {team: web, cost-center: \"42\"}\n";  // 45

// An ECS environment whose block holds what every Fargate environment needs (lines 7-9), then
// `extra` from line 10 on, indented as keys of the block.
inline const std::string k_head =
    "app: web\n"
    "registry: ecr://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web\n"
    "environments:\n"
    "  - name: prod\n"
    "    target: ecs\n"
    "    ecs:\n";
inline const std::string k_fargate_keys =
    "      cluster: web-prod\n"
    "      network: {subnets: [subnet-0123456789abcdef0], security_groups: "
    "[sg-0123456789abcdef0]}\n"
    "      execution_role: ecsTaskExecutionRole\n";

inline ParseOutcome ecs_with(const std::string& extra) {
  return parse_text(k_head + k_fargate_keys + extra);
}

// Each problem as "LINE:COL: message (hint)".
inline std::vector<std::string> problems(const ParseOutcome& outcome) {
  std::vector<std::string> out;
  for (const auto& d : outcome.diagnostics) {
    out.push_back(fmt::format("{}:{}: {} ({})", d.line, d.column, d.message, d.hint));
  }
  return out;
}

// Parses the block with `extra` and expects no problem (`want` empty) or exactly one, at
// "LINE:COL: message" with a hint holding `hint`.
inline void expect_ecs(const std::string& extra, const std::string& want,
                       const std::string& hint = "") {
  auto out = ecs_with(extra);
  if (want.empty()) {
    EXPECT_TRUE(out.spec) << extra << "\n" << ::testing::PrintToString(problems(out));
    return;
  }
  ASSERT_EQ(out.diagnostics.size(), 1u) << extra << "\n" << ::testing::PrintToString(problems(out));
  const Diagnostic& d = out.diagnostics[0];
  EXPECT_EQ(fmt::format("{}:{}: {}", d.line, d.column, d.message), want) << extra;
  EXPECT_THAT(d.hint, ::testing::HasSubstr(hint)) << extra;
}

inline const EcsSettings& ecs_of(const ParseOutcome& out, size_t env = 0) {
  static const EcsSettings k_none;
  if (!out.spec || out.spec->environments.size() <= env || !out.spec->environments[env].ecs) {
    ADD_FAILURE() << ::testing::PrintToString(problems(out));
    return k_none;
  }
  return *out.spec->environments[env].ecs;
}

}  // namespace ztp::spec::testing
