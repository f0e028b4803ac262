// The service table against the botocore models: every row's addressing and naming is what
// the service's service-2.json says, and the awsQuery services' inputs use only what
// query_protocol.hpp serialises.
#include "aws/services.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "aws/endpoint.hpp"
#include "support/aws_shapes.hpp"
#include "support/support.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;
using testing::AwsShapes;

// Where each service's model is among the vectors.
std::string model_path(std::string_view key, std::string_view api_version) {
  std::string folder = key == "autoscaling" ? "application-autoscaling" : std::string(key);
  return "aws-models/" + folder + "/" + std::string(api_version) + "/service-2.json";
}

bool lists(const json& protocols, const char* name) {
  return std::find(protocols.begin(), protocols.end(), name) != protocols.end();
}

// Walks the input shapes of every operation: the names of members that are maps, and what the
// query serialiser does not do (flattened lists, renamed members or list items).
void walk_inputs(const AwsShapes& model, const std::string& shape_name, std::set<std::string>& seen,
                 std::set<std::string>& maps, std::vector<std::string>& unsupported) {
  if (!seen.insert(shape_name).second) {
    return;
  }
  const json& shape = model.shape(shape_name);
  std::string type = shape.value("type", "");
  if (type == "structure") {
    for (const auto& [name, member] : testing::member_or_empty(shape, "members").items()) {
      if (member.contains("locationName") || member.contains("queryName") ||
          member.value("flattened", false)) {
        unsupported.push_back(shape_name + "." + name);
      }
      if (model.shape(member["shape"]).value("type", "") == "map") {
        maps.insert(name);
      }
      walk_inputs(model, member["shape"], seen, maps, unsupported);
    }
  } else if (type == "list") {
    if (shape.value("flattened", false) || shape["member"].contains("locationName")) {
      unsupported.push_back(shape_name);
    }
    walk_inputs(model, shape["member"]["shape"], seen, maps, unsupported);
  } else if (type == "map") {
    if (shape.value("flattened", false) || shape["key"].contains("locationName") ||
        shape["value"].contains("locationName")) {
      unsupported.push_back(shape_name);
    }
    walk_inputs(model, shape["value"]["shape"], seen, maps, unsupported);
  }
}

TEST(ServicesTest, EveryRowMatchesItsModel) {
  ASSERT_EQ(service_apis().size(), 7u);
  for (const ServiceApi& api : service_apis()) {
    SCOPED_TRACE(std::string(api.key));
    AwsShapes model = AwsShapes::load(testing::vector_path(model_path(api.key, api.api_version)));
    const json& meta = model.metadata();
    ASSERT_TRUE(meta.is_object());
    EXPECT_EQ(meta["apiVersion"], api.api_version);
    EXPECT_EQ(meta["serviceId"], api.service_id);
    EXPECT_EQ(meta.value("signingName", meta["endpointPrefix"].get<std::string>()),
              api.signing_name);
    EXPECT_EQ(meta.contains("awsQueryCompatible"), api.query_compatible);
    const json& protocols = meta["protocols"];
    if (api.protocol == Protocol::query) {
      EXPECT_TRUE(lists(protocols, "query"));
      EXPECT_TRUE(api.target_prefix.empty());
    } else {
      EXPECT_TRUE(lists(protocols, "json"));
      EXPECT_EQ(meta["targetPrefix"], api.target_prefix);
      EXPECT_EQ(meta["jsonVersion"], api.protocol == Protocol::json_1_0 ? "1.0" : "1.1");
      EXPECT_TRUE(api.query_maps.empty());
    }
    // endpoint.hpp's table names the same service the same way.
    const ServiceInfo* info = find_service(api.key);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->service_id, api.service_id);
    EXPECT_EQ(info->signing_name, api.signing_name);
    EXPECT_EQ(find_service_api(api.key), &api);
  }
  EXPECT_EQ(find_service_api("kms"), nullptr);
}

TEST(ServicesTest, QueryInputsUseOnlyWhatTheSerialiserDoes) {
  for (const ServiceApi& api : service_apis()) {
    if (api.protocol != Protocol::query) {
      continue;
    }
    SCOPED_TRACE(std::string(api.key));
    json raw =
        json::parse(testing::read_text(testing::vector_path(model_path(api.key, api.api_version))));
    AwsShapes model(raw);
    std::set<std::string> seen;
    std::set<std::string> maps;
    std::vector<std::string> unsupported;
    for (const auto& [operation, spec] : raw["operations"].items()) {
      if (spec.contains("input")) {
        walk_inputs(model, spec["input"]["shape"], seen, maps, unsupported);
      }
    }
    EXPECT_TRUE(unsupported.empty()) << unsupported.front();
    EXPECT_EQ(maps, std::set<std::string>(api.query_maps.begin(), api.query_maps.end()));
  }
}

TEST(ServicesTest, CloudWatchSpeaksJson10) {
  // The model prefers smithy-rpc-v2-cbor but also lists json, which the JavaScript SDK sends
  // (it_aws_protocol_sdk_test checks the SDK's requests); see services.hpp.
  const ServiceApi* cw = find_service_api("cloudwatch");
  ASSERT_NE(cw, nullptr);
  EXPECT_EQ(cw->protocol, Protocol::json_1_0);
  EXPECT_EQ(protocol_name(cw->protocol), "awsJson1_0");
  EXPECT_EQ(protocol_name(Protocol::json_1_1), "awsJson1_1");
  EXPECT_EQ(protocol_name(Protocol::query), "awsQuery");
  EXPECT_EQ(cw->iam_prefix, "cloudwatch");
  EXPECT_EQ(cw->signing_name, "monitoring");
}

TEST(ServicesTest, ModelCheckerCatchesBadInputs) {
  // The checker every request of these tests goes through must itself see mistakes.
  AwsShapes ecs = AwsShapes::load(testing::vector_path("aws-models/ecs/2014-11-13/service-2.json"));
  EXPECT_TRUE(
      ecs.check_json_input("UpdateService", {{"service", "web"}, {"desiredCount", 2}}).empty());
  auto problems = ecs.check_json_input("UpdateService", {{"desiredCount", "2"},
                                                         {"launchType", "FARGATE"},
                                                         {"propagateTags", "NOPE"},
                                                         {"forceNewDeployment", 1},
                                                         {"healthCheckGracePeriodSeconds", 1.5}});
  std::string all;
  for (const auto& p : problems) {
    all += p + "\n";
  }
  EXPECT_NE(all.find("required member service is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("desiredCount: \"2\" is not an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("launchType is not a member"), std::string::npos) << all;
  EXPECT_NE(all.find("\"NOPE\" is not one of"), std::string::npos) << all;
  EXPECT_NE(all.find("forceNewDeployment: 1 is not a boolean"), std::string::npos) << all;
  EXPECT_NE(all.find("healthCheckGracePeriodSeconds: 1.5 is not an integer"), std::string::npos)
      << all;
  EXPECT_EQ(problems.size(), 6u) << all;

  AwsShapes elbv2 =
      AwsShapes::load(testing::vector_path("aws-models/elbv2/2015-12-01/service-2.json"));
  auto form = [](std::initializer_list<std::pair<std::string, std::string>> pairs) {
    return testing::AwsForm(pairs);
  };
  EXPECT_TRUE(
      elbv2
          .check_query_input("DescribeTargetGroups", form({{"Action", "DescribeTargetGroups"},
                                                           {"Version", "2015-12-01"},
                                                           {"Names.member.1", "web"},
                                                           {"PageSize", "50"}}))
          .empty());
  EXPECT_EQ(elbv2
                .check_query_input("DescribeTargetGroups", form({{"Names.member.2", "web"},
                                                                 {"PageSize", "500"},
                                                                 {"Names.item.1", "x"},
                                                                 {"Version", "2016-01-01"}}))
                .size(),
            4u);  // numbering, PageSize above 400, the item name, the version
}

}  // namespace
}  // namespace ztp::aws
