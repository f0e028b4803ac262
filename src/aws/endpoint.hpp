#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aws/shared_config.hpp"
#include "util/result.hpp"

// Regions and service endpoints: which region a client talks to, the URL of each service ztp
// calls there, and the name it signs with, with the SDKs' "service-specific endpoints"
// overrides (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's `services` section
// and `endpoint_url`), which is also how tests point a client at a local fake.
namespace ztp::aws {

// One AWS service ztp calls. `service_id` is the model's metadata.serviceId, from which the
// override names derive.
struct ServiceInfo {
  std::string_view key;              // ztp's short name: "ecs", "elbv2", "autoscaling", ...
  std::string_view service_id;       // "Elastic Load Balancing v2"
  std::string_view endpoint_prefix;  // "elasticloadbalancing": https://PREFIX.REGION.DOMAIN
  std::string_view signing_name;     // SigV4's service: "elasticloadbalancing"
};

// Every service ztp calls: ecs, ecr, elbv2, cloudwatch, logs, autoscaling (Application Auto
// Scaling), sts, kms, secretsmanager, ssm.
std::span<const ServiceInfo> services();

// The service named `key` (ServiceInfo::key, or its service id in any case); nullptr when ztp
// does not call it.
const ServiceInfo* find_service(std::string_view key);

// The environment variable of a service's endpoint: "AWS_ENDPOINT_URL_" + the service id
// upper-cased with spaces as underscores (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2).
std::string endpoint_env_name(const ServiceInfo& service);

// The key of a service in a `[services NAME]` section: the service id lower-cased with
// spaces as underscores ("elastic_load_balancing_v2").
std::string endpoint_config_key(const ServiceInfo& service);

// True for a region name's shape: lower-case words and a number joined by '-', at least
// three parts ("us-east-1", "us-gov-west-1", "cn-north-1").
bool valid_region(std::string_view region);

// The region a client uses, and where that came from.
struct Region {
  std::string name{};
  std::string source{};  // "the spec", "AWS_REGION", "AWS_DEFAULT_REGION", "profile prod"
};

// The region: `explicit_region` (the spec) when given, else AWS_REGION, AWS_DEFAULT_REGION,
// the selected profile's `region`. invalid when none says, saying how to set one, or when the
// value found is not a region name (naming where it came from).
Result<Region> resolve_region(const std::optional<std::string>& explicit_region, const Env& env,
                              const SharedConfig& config);

// The DNS suffix of a region's partition: "amazonaws.com.cn" for cn-*, else "amazonaws.com".
std::string_view dns_suffix(std::string_view region);

// Where a client sends a service's requests and how it signs them.
struct Endpoint {
  std::string url{};  // "https://ecs.us-east-1.amazonaws.com", no trailing '/'
  std::string signing_name{};
  std::string signing_region{};
  std::string source{};  // "default", "AWS_ENDPOINT_URL_ECS", "profile prod services local", ...
};

// The endpoint of `service` in `region`. The first of these wins: `explicit_url`;
// AWS_ENDPOINT_URL_<SERVICE>; AWS_ENDPOINT_URL; the selected profile's `services` section's
// `<key> = endpoint_url = ...`; the profile's `endpoint_url`; https://PREFIX.REGION.SUFFIX.
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
// ignore_configured_endpoint_urls = true) skips the environment and profile overrides.
// invalid for an override that is not an absolute http(s) URL (naming where it was set), a
// `services` section that does not exist, or an invalid region.
Result<Endpoint> resolve_endpoint(const ServiceInfo& service, std::string_view region,
                                  const Env& env, const SharedConfig& config,
                                  const std::optional<std::string>& explicit_url = std::nullopt);

}  // namespace ztp::aws
