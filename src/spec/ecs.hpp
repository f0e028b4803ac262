#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "util/result.hpp"

// The `ecs:` block of an environment with `target: ecs`: where and how its releases run on
// Amazon ECS. Every value is checked against the limits of the ECS, Elastic Load Balancing v2
// and CloudWatch Logs APIs when parsed; docs/ztp-yaml.md, "`ecs:` (target: ecs)", is the
// reference and cites them. Keys the spec derives (service_prefix, the target group's
// name_prefix, the log group, the health check path) are left empty here when not written:
// resolve_ecs() fills them in.
namespace ztp::spec {

// The ECS target names a release's resources PREFIX-RELEASE, with a release id of at most
// this many characters (letters, digits and `-`).
constexpr std::size_t k_ecs_release_id_length = 12;
// Service names are at most 255 characters; the prefix leaves room for "-" and a release id.
constexpr std::size_t k_ecs_max_service_prefix = 255 - 1 - k_ecs_release_id_length;
// Target group names are at most 32 characters; the prefix leaves room likewise.
constexpr std::size_t k_ecs_max_target_group_prefix = 32 - 1 - k_ecs_release_id_length;

// AWS's limits that the block is checked against, as the API models state them (the tests
// compare each with the models).
constexpr std::size_t k_ecs_max_subnets = 16;
constexpr std::size_t k_ecs_max_security_groups = 5;
constexpr std::size_t k_ecs_max_capacity_providers = 20;
constexpr int k_ecs_max_capacity_weight = 1000;
constexpr int k_ecs_max_capacity_base = 100000;
constexpr int k_ecs_min_ec2_cpu = 128;
constexpr int k_ecs_max_ec2_cpu = 196608;
constexpr std::size_t k_aws_max_tags = 50;
constexpr std::size_t k_aws_max_tag_key = 128;
constexpr std::size_t k_aws_max_tag_value = 256;
constexpr int k_elb_min_interval_s = 5;
constexpr int k_elb_max_interval_s = 300;
constexpr int k_elb_min_timeout_s = 2;
constexpr int k_elb_max_timeout_s = 120;
constexpr int k_elb_min_threshold = 2;
constexpr int k_elb_max_threshold = 10;
constexpr int k_elb_max_rule_priority = 50000;
constexpr int k_elb_max_deregistration_delay_s = 3600;
constexpr std::size_t k_elb_max_health_check_path = 1024;
constexpr std::size_t k_elb_max_condition_values = 5;

// One entry of a capacity provider strategy.
struct EcsCapacityProvider {
  std::string name;  // FARGATE, FARGATE_SPOT, or an Auto Scaling group provider of the cluster
  int weight = 1;    // 0-1000: relative share of the tasks past `base`
  int base = 0;      // 0-100000: tasks placed here first; one entry at most has a base
};

// awsvpc networking: each task gets its own network interface in one of `subnets`.
struct EcsNetwork {
  std::vector<std::string> subnets;          // 1-16 subnet IDs
  std::vector<std::string> security_groups;  // 1-5 security group IDs
  bool assign_public_ip = false;
};

// Where the containers' output goes (the awslogs driver).
struct EcsLogs {
  std::string group;                  // empty: "/ecs/" + the service prefix
  std::string stream_prefix = "ecs";  // streams are PREFIX/CONTAINER/TASK-ID
  bool create_group = true;           // the target creates the group when it is missing
  std::optional<int> retention_days;  // one of log_retention_days(); nullopt: left as it is
};

// A listener rule that sends matching requests to the environment's release sets.
struct EcsListenerRule {
  int priority = 0;                // 1-50000, unique on the listener
  std::vector<std::string> hosts;  // host-header values
  std::vector<std::string> paths;  // path-pattern values
};

// The load balancer's health check of a release's tasks.
struct EcsHealthCheck {
  std::string path;  // empty: service.health.path
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(5);
  int healthy_threshold = 2;
  int unhealthy_threshold = 3;
  std::string matcher = "200-399";  // HTTP codes 200-499: "200", "200,302" or "200-399"
};

// The target group made for each release.
struct EcsTargetGroup {
  std::string name_prefix;  // empty: the service prefix; names are PREFIX-RELEASE
  EcsHealthCheck health_check;
  Duration deregistration_delay = std::chrono::seconds(30);
};

// An Application Load Balancer listener whose traffic the environment's releases share.
struct EcsLoadBalancer {
  std::string vpc;                      // where the target groups are made
  std::string listener;                 // ARN of an Application Load Balancer's listener
  std::optional<EcsListenerRule> rule;  // nullopt: the listener's default action
  std::string test_listener;            // ARN; "" when none (needed by blue_green)
  EcsTargetGroup target_group;
  Position pos;  // the `load_balancer` key
};

struct EcsSettings {
  std::string region;          // "": the AWS region chain at run time
  std::string cluster;         // a name or an ARN
  std::string service_prefix;  // empty: "<app>-<environment>"; services are PREFIX-RELEASE
  // FARGATE, EC2 or EXTERNAL; empty when capacity_providers is given instead.
  std::string launch_type = "FARGATE";
  std::vector<EcsCapacityProvider> capacity_providers;
  std::string platform_version;  // Fargate only; "": AWS's default (LATEST)
  std::optional<EcsNetwork> network;
  std::string task_role;       // an ARN or a role name; "" when none
  std::string execution_role;  // likewise; required on Fargate
  int cpu = 256;               // CPU units (1024 = 1 vCPU)
  int memory_mib = 512;
  EcsLogs logs;
  std::optional<EcsLoadBalancer> load_balancer;
  std::map<std::string, std::string> tags;
  Position pos;  // the `ecs` key

  // Whether the tasks run on Fargate: launch_type FARGATE, or only the FARGATE and
  // FARGATE_SPOT capacity providers.
  bool fargate() const;
};

// The launch types `launch_type` accepts.
const std::vector<std::string>& ecs_launch_types();
// The Fargate task sizes: the CPU units Fargate offers, and for each the memory sizes (MiB) it
// takes (empty for any other cpu).
const std::vector<int>& fargate_cpu_units();
std::vector<int> fargate_memory_mib(int cpu);
// The retention periods (days) CloudWatch Logs accepts.
const std::vector<int>& log_retention_days();

// Whether `region` is shaped like an AWS region code (eu-west-1, us-gov-west-1).
bool is_region_name(std::string_view region);
// The partition of a region: aws-cn for cn-*, aws-us-gov for us-gov-*, else aws.
std::string region_partition(std::string_view region);

// The parts of an ARN, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
struct Arn {
  std::string partition;  // aws, aws-cn or aws-us-gov
  std::string service;
  std::string region;   // empty for IAM
  std::string account;  // 12 digits
  std::string resource;
};

// The ARNs the block takes.
enum class ArnKind {
  cluster,   // arn:P:ecs:REGION:ACCOUNT:cluster/NAME
  listener,  // arn:P:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID
  role,      // arn:P:iam::ACCOUNT:role/[PATH/]NAME
};
// The ARN of `kind` in `text`: partition aws, aws-cn or aws-us-gov, a region of that partition
// (none for a role), a 12-digit account and the resource's shape. Errc::invalid saying why.
Result<Arn> parse_arn(std::string_view text, ArnKind kind);
// How an ARN of `kind` is written, for hints.
std::string arn_shape(ArnKind kind);

// AWS's naming rules, each true when `s` keeps it:
// cluster, service and capacity provider names: 1-`max` letters, digits, `-` and `_`;
bool is_ecs_name(std::string_view s, std::size_t max);
// an EC2 resource ID: PREFIX-, then 8 or 17 lower-case hexadecimal digits (subnet, sg, vpc);
bool is_resource_id(std::string_view s, std::string_view prefix);
// an IAM role name: 1-64 letters, digits and +=,.@_-;
bool is_role_name(std::string_view s);
// a log group name: 1-512 letters, digits and _-/.#, not starting with aws/;
bool is_log_group_name(std::string_view s);
// listener rule conditions, at most 128 characters: a host-header value (letters, digits and
// -.*?, with a `.` and only letters after the last one) or a path-pattern value;
bool is_host_condition(std::string_view s);
bool is_path_condition(std::string_view s);
// a health check matcher of HTTP codes 200-499: "200", "200,302" or "200-399".
bool is_http_matcher(std::string_view s);

// Why `s` cannot be the PREFIX of target group names PREFIX-RELEASE; empty when it can.
std::string target_group_prefix_problem(std::string_view s);
// A target group prefix made from `s`: `_` as `-`, cut to the longest that fits.
std::string shorten_target_group_prefix(std::string s);
// Why `s` cannot be a tag key (max 128) or value (max 256); empty when it can.
std::string tag_problem(std::string_view s, std::size_t max);

// `env.ecs` with every derived default filled in: service_prefix ("<app>-<env>"), the target
// group's name_prefix (the service prefix), the log group ("/ecs/" + the service prefix) and
// the health check path (service.health.path). What the ECS target and `--output json` use.
// Precondition: env.ecs is set.
EcsSettings resolve_ecs(const Spec& spec, const Environment& env);
// The names of a release's service and target group, PREFIX-RELEASE, from resolved settings.
std::string ecs_service_name(const EcsSettings& resolved, std::string_view release_id);
std::string ecs_target_group_name(const EcsSettings& resolved, std::string_view release_id);

namespace detail {

class Reader;
struct Value;

// An ARN as written under `key` of an `ecs:` block, for the checks between its ARNs.
struct EcsArnMark {
  std::string key;
  Arn arn;
  Position pos;
};

// Reads the `ecs:` value `v` of `env` (its name, target, strategy and resources already read)
// into `out`, reporting every problem through `r`, the checks between its own keys included.
void parse_ecs(Reader& r, const Value& v, const Environment& env, EcsSettings& out);

// The ARN of `kind` in `v` (whose text is `text`), appended to `arns`; nullopt, reported at `v`,
// when it is not one.
std::optional<Arn> read_ecs_arn(Reader& r, const Value& v, const std::string& text, ArnKind kind,
                                std::vector<EcsArnMark>& arns);

// Reads `load_balancer:` of `env` into out.load_balancer (its launch type already read),
// appending its listeners' ARNs to `arns` (parse_ecs_load_balancer.cpp).
void parse_ecs_load_balancer(Reader& r, const Value& v, const Environment& env, EcsSettings& out,
                             std::vector<EcsArnMark>& arns);

// The checks of ECS environments against the rest of the spec (check_ecs.cpp): a registry ECS
// can pull from, names derived from the app and environment that must fit AWS's limits, and no
// service prefix, target group prefix or listener rule shared by two environments.
void check_ecs(Reader& r, const Spec& spec);

// A memory size as `resources.memory` and `ecs.memory` write it: a whole number with an
// optional unit (K, M, G: powers of 1000; Ki, Mi, Gi: of 1024; bytes without one). nullopt,
// reported at `v`, when it is not one or does not fit in 64 bits. Defined beside
// `resources` in parse_environments.cpp.
std::optional<std::int64_t> read_memory_size(Reader& r, const Value& v);

}  // namespace detail

}  // namespace ztp::spec
