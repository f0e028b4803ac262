#include "aws/endpoint.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "support/support.hpp"

namespace ztp::aws {
namespace {

// The botocore model each service of the table is checked against.
const std::map<std::string, std::string> k_models = {
    {"ecs", "aws-models/ecs/2014-11-13/service-2.json"},
    {"ecr", "aws-models/ecr/2015-09-21/service-2.json"},
    {"elbv2", "aws-models/elbv2/2015-12-01/service-2.json"},
    {"cloudwatch", "aws-models/cloudwatch/2010-08-01/service-2.json"},
    {"logs", "aws-models/logs/2014-03-28/service-2.json"},
    {"autoscaling", "aws-models/application-autoscaling/2016-02-06/service-2.json"},
    {"sts", "aws-models/sts/2011-06-15/service-2.json"},
    {"kms", "aws-models/kms/2014-11-01/service-2.json"},
    {"secretsmanager", "aws-models/secretsmanager/2017-10-17/service-2.json"},
    {"ssm", "aws-models/ssm/2014-11-06/service-2.json"},
};

using Pair = std::pair<std::string, std::string>;

SharedConfig config_of(const std::string& text, const std::string& profile = "default") {
  SharedConfig c;
  auto r = parse_shared_file(text, SharedFileKind::config, "config", c);
  EXPECT_TRUE(r.ok()) << r.error().message;
  c.profile_name = profile;
  return c;
}

const ServiceInfo& service(std::string_view key) {
  const ServiceInfo* s = find_service(key);
  EXPECT_NE(s, nullptr) << key;
  return *s;
}

TEST(EndpointTest, TheServiceTableMatchesTheModels) {
  ASSERT_EQ(services().size(), k_models.size());
  for (const ServiceInfo& s : services()) {
    SCOPED_TRACE(std::string(s.key));
    auto it = k_models.find(std::string(s.key));
    ASSERT_NE(it, k_models.end());
    auto model = nlohmann::json::parse(testing::read_text(testing::vector_path(it->second)));
    const auto& meta = model["metadata"];
    EXPECT_EQ(s.service_id, meta["serviceId"].get<std::string>());
    EXPECT_EQ(s.endpoint_prefix, meta["endpointPrefix"].get<std::string>());
    // A model without signingName signs with its endpoint prefix.
    EXPECT_EQ(s.signing_name, meta.value("signingName", meta["endpointPrefix"].get<std::string>()));
    EXPECT_EQ(find_service(meta["serviceId"].get<std::string>()), &s);
  }
}

TEST(EndpointTest, NamesTheOverridesAfterTheServiceId) {
  std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"ecs", {"AWS_ENDPOINT_URL_ECS", "ecs"}},
      {"ecr", {"AWS_ENDPOINT_URL_ECR", "ecr"}},
      {"elbv2", {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "elastic_load_balancing_v2"}},
      {"cloudwatch", {"AWS_ENDPOINT_URL_CLOUDWATCH", "cloudwatch"}},
      {"logs", {"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "cloudwatch_logs"}},
      {"autoscaling", {"AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", "application_auto_scaling"}},
      {"sts", {"AWS_ENDPOINT_URL_STS", "sts"}},
      {"kms", {"AWS_ENDPOINT_URL_KMS", "kms"}},
      {"secretsmanager", {"AWS_ENDPOINT_URL_SECRETS_MANAGER", "secrets_manager"}},
      {"ssm", {"AWS_ENDPOINT_URL_SSM", "ssm"}},
  };
  for (const auto& [key, names] : expected) {
    EXPECT_EQ(endpoint_env_name(service(key)), names.first);
    EXPECT_EQ(endpoint_config_key(service(key)), names.second);
  }
  EXPECT_EQ(find_service("s3"), nullptr);
}

TEST(EndpointTest, ChecksTheShapeOfRegionNames) {
  for (const char* good : {"us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1",
                           "ap-southeast-4", "us-isob-east-1", "eusc-de-east-1"}) {
    EXPECT_TRUE(valid_region(good)) << good;
  }
  for (const char* bad :
       {"", "us-east", "US-EAST-1", "us_east_1", "us-east-1a", "1-east-1", "us--east-1",
        "-us-east-1", "us-east-1-", "us-1-east", "useast1", "us-east-1.example.com"}) {
    EXPECT_FALSE(valid_region(bad)) << bad;
  }
}

TEST(EndpointTest, ResolvesTheRegionInTheSdksOrder) {
  SharedConfig config = config_of("[default]\nregion = ap-south-1\n");
  Env env{{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "eu-west-2"}};
  auto spec = resolve_region(std::string("us-west-2"), env, config);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->name, "us-west-2");
  EXPECT_EQ(spec->source, "the spec");
  EXPECT_EQ(resolve_region(std::nullopt, env, config)->name, "eu-west-1");
  env.erase("AWS_REGION");
  EXPECT_EQ(resolve_region(std::nullopt, env, config)->source, "AWS_DEFAULT_REGION");
  env.erase("AWS_DEFAULT_REGION");
  auto from_profile = resolve_region(std::string(), env, config);
  ASSERT_TRUE(from_profile.ok());
  EXPECT_EQ(from_profile->name, "ap-south-1");
  EXPECT_EQ(from_profile->source, "profile \"default\" (config:1)");

  auto none = resolve_region(std::nullopt, Env{}, SharedConfig{});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::invalid);
  EXPECT_NE(none.error().message.find("set `region` in the spec, AWS_REGION"), std::string::npos);

  auto bad = resolve_region(std::nullopt, Env{{"AWS_REGION", "US East"}}, config);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "the region 'US East' from AWS_REGION is not a region name like us-east-1");
}

TEST(EndpointTest, BuildsTheDefaultEndpointOfEachPartition) {
  SharedConfig none;
  auto ecr = resolve_endpoint(service("ecr"), "us-east-1", Env{}, none);
  ASSERT_TRUE(ecr.ok()) << ecr.error().message;
  EXPECT_EQ(ecr->url, "https://api.ecr.us-east-1.amazonaws.com");
  EXPECT_EQ(ecr->signing_name, "ecr");
  EXPECT_EQ(ecr->signing_region, "us-east-1");
  EXPECT_EQ(ecr->source, "default");
  EXPECT_EQ(resolve_endpoint(service("elbv2"), "cn-north-1", Env{}, none)->url,
            "https://elasticloadbalancing.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(resolve_endpoint(service("sts"), "eu-west-1", Env{}, none)->url,
            "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(service("cloudwatch"), "us-west-2", Env{}, none)->signing_name,
            "monitoring");
  EXPECT_EQ(resolve_endpoint(service("autoscaling"), "us-west-2", Env{}, none)->url,
            "https://application-autoscaling.us-west-2.amazonaws.com");
  EXPECT_FALSE(resolve_endpoint(service("ecs"), "nowhere", Env{}, none).ok());
}

TEST(EndpointTest, AppliesOverridesInTheSdksOrder) {
  SharedConfig config = config_of(
      "[default]\n"
      "services = fakes\n"
      "endpoint_url = http://127.0.0.1:9000/\n"
      "[services fakes]\n"
      "ecs =\n"
      "  endpoint_url = http://127.0.0.1:9001\n"
      "elastic_load_balancing_v2 =\n"
      "  endpoint_url = http://127.0.0.1:9002\n");
  Env env{{"AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:9003"},
          {"AWS_ENDPOINT_URL", "http://127.0.0.1:9004"}};
  const ServiceInfo& ecs = service("ecs");
  auto from = [&](const ServiceInfo& s, const Env& e, std::optional<std::string> spec = {}) {
    auto r = resolve_endpoint(s, "us-east-1", e, config, spec);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? Pair{r->url, r->source} : Pair{};
  };
  EXPECT_EQ(from(ecs, env, "https://ecs.example:8443/").first, "https://ecs.example:8443");
  EXPECT_EQ(from(ecs, env), (Pair{"http://127.0.0.1:9003", "AWS_ENDPOINT_URL_ECS"}));
  EXPECT_EQ(from(service("kms"), env).first, "http://127.0.0.1:9004");
  Env no_env;
  EXPECT_EQ(from(ecs, no_env), (Pair{"http://127.0.0.1:9001", "[services fakes] (config:4)"}));
  EXPECT_EQ(from(service("elbv2"), no_env).first, "http://127.0.0.1:9002");
  EXPECT_EQ(from(service("kms"), no_env).first, "http://127.0.0.1:9000");
  // The signing name and region stay those of the service.
  auto overridden = resolve_endpoint(service("elbv2"), "eu-west-1", env, config);
  EXPECT_EQ(overridden->signing_name, "elasticloadbalancing");
  EXPECT_EQ(overridden->signing_region, "eu-west-1");

  Env ignore = env;
  ignore["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  EXPECT_EQ(from(ecs, ignore), (Pair{"https://ecs.us-east-1.amazonaws.com", "default"}));
  EXPECT_EQ(from(ecs, ignore, "http://127.0.0.1:1").first, "http://127.0.0.1:1");
  SharedConfig ignoring = config_of(
      "[default]\nendpoint_url = http://127.0.0.1:9000\n"
      "ignore_configured_endpoint_urls = true\n");
  EXPECT_EQ(resolve_endpoint(ecs, "us-east-1", Env{}, ignoring)->source, "default");
}

TEST(EndpointTest, RejectsBadOverrides) {
  SharedConfig none;
  auto bad = resolve_endpoint(service("ecs"), "us-east-1",
                              Env{{"AWS_ENDPOINT_URL_ECS", "localhost:4566"}}, none);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_EQ(bad.error().message,
            "the endpoint URL 'localhost:4566' of AWS_ENDPOINT_URL_ECS is not an absolute http "
            "or https URL like https://ecs.us-east-1.amazonaws.com");
  SharedConfig missing = config_of("[default]\nservices = gone\n");
  auto no_section = resolve_endpoint(service("ecs"), "us-east-1", Env{}, missing);
  ASSERT_FALSE(no_section.ok());
  EXPECT_NE(no_section.error().message.find("there is no [services gone] section"),
            std::string::npos);
}

}  // namespace
}  // namespace ztp::aws
