#include "aws/services.hpp"

#include <array>

namespace ztp::aws {
namespace {

// ELBv2's authenticate-oidc and authenticate-cognito actions carry
// AuthenticationRequestExtraParams, its only input maps.
constexpr std::array<std::string_view, 1> k_elbv2_maps{"AuthenticationRequestExtraParams"};

constexpr std::array<ServiceApi, 7> k_services{{
    {"ecs",
     "ECS",
     "ECS",
     "ecs",
     "ecs",
     Protocol::json_1_1,
     "AmazonEC2ContainerServiceV20141113",
     "2014-11-13",
     false,
     {}},
    {"ecr",
     "ECR",
     "ECR",
     "ecr",
     "ecr",
     Protocol::json_1_1,
     "AmazonEC2ContainerRegistry_V20150921",
     "2015-09-21",
     false,
     {}},
    {"elbv2", "ELBv2", "Elastic Load Balancing v2", "elasticloadbalancing", "elasticloadbalancing",
     Protocol::query, "", "2015-12-01", false, k_elbv2_maps},
    {"cloudwatch",
     "CloudWatch",
     "CloudWatch",
     "monitoring",
     "cloudwatch",
     Protocol::json_1_0,
     "GraniteServiceVersion20100801",
     "2010-08-01",
     true,
     {}},
    {"logs",
     "CloudWatch Logs",
     "CloudWatch Logs",
     "logs",
     "logs",
     Protocol::json_1_1,
     "Logs_20140328",
     "2014-03-28",
     false,
     {}},
    {"autoscaling",
     "Application Auto Scaling",
     "Application Auto Scaling",
     "application-autoscaling",
     "application-autoscaling",
     Protocol::json_1_1,
     "AnyScaleFrontendService",
     "2016-02-06",
     false,
     {}},
    {"sts", "STS", "STS", "sts", "sts", Protocol::query, "", "2011-06-15", false, {}},
}};

}  // namespace

std::string_view protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::json_1_0:
      return "awsJson1_0";
    case Protocol::json_1_1:
      return "awsJson1_1";
    case Protocol::query:
      return "awsQuery";
  }
  return "awsQuery";
}

std::span<const ServiceApi> service_apis() { return k_services; }

const ServiceApi* find_service_api(std::string_view key) {
  for (const auto& service : k_services) {
    if (service.key == key) {
      return &service;
    }
  }
  return nullptr;
}

}  // namespace ztp::aws
