#include "aws/paginate.hpp"

#include <gtest/gtest.h>

namespace ztp::aws {
namespace {

using nlohmann::json;

// A JSON operation that answers pages from a list and records the inputs it got.
struct FakePages {
  std::vector<json> answers;
  std::vector<json> inputs;
  JsonPageCall call() {
    return [this](const json& input) -> Result<json> {
      inputs.push_back(input);
      if (inputs.size() > answers.size()) {
        return make_error(Errc::internal, "asked for more pages than there are");
      }
      return answers[inputs.size() - 1];
    };
  }
};

TEST(PaginateTest, FollowsNextToken) {
  FakePages ecs;
  ecs.answers = {{{"taskArns", {"t1", "t2"}}, {"nextToken", "A"}},
                 {{"taskArns", {"t3"}}, {"nextToken", "B"}},
                 {{"taskArns", json::array()}}};
  auto pages = paginate_json(ecs.call(), {{"cluster", "prod"}, {"maxResults", 2}}, "ECS ListTasks");
  ASSERT_TRUE(pages.ok()) << pages.error().message;
  ASSERT_EQ(pages->size(), 3u);
  EXPECT_EQ((*pages)[1]["taskArns"], json({"t3"}));
  ASSERT_EQ(ecs.inputs.size(), 3u);
  EXPECT_FALSE(ecs.inputs[0].contains("nextToken"));
  EXPECT_EQ(ecs.inputs[1]["nextToken"], "A");
  EXPECT_EQ(ecs.inputs[2]["nextToken"], "B");
  EXPECT_EQ(ecs.inputs[2]["cluster"], "prod");
}

TEST(PaginateTest, FollowsUpperCaseNextTokenAndStopsAtAnEmptyOne) {
  FakePages scaling;
  scaling.answers = {{{"ScalableTargets", json::array()}, {"NextToken", "n1"}},
                     {{"ScalableTargets", json::array()}, {"NextToken", ""}}};
  auto pages = paginate_json(scaling.call(), json(), "Application Auto Scaling");
  ASSERT_TRUE(pages.ok());
  EXPECT_EQ(pages->size(), 2u);
  EXPECT_EQ(scaling.inputs[1], json({{"NextToken", "n1"}}));
}

TEST(PaginateTest, RepeatedTokenStopsWithAnError) {
  FakePages logs;
  logs.answers = {{{"nextToken", "same"}},
                  {{"nextToken", "other"}},
                  {{"nextToken", "same"}},
                  {{"nextToken", "never asked"}}};
  auto pages = paginate_json(logs.call(), json::object(), "CloudWatch Logs FilterLogEvents");
  ASSERT_FALSE(pages.ok());
  EXPECT_EQ(pages.error().code, Errc::internal);
  EXPECT_NE(pages.error().message.find("CloudWatch Logs FilterLogEvents"), std::string::npos);
  EXPECT_EQ(logs.inputs.size(), 3u);

  FakePages stuck;
  stuck.answers = {{{"nextToken", "t"}}, {{"nextToken", "t"}}};
  EXPECT_FALSE(paginate_json(stuck.call(), json::object(), "x").ok());
  EXPECT_EQ(stuck.inputs.size(), 2u);
}

TEST(PaginateTest, PageCapAndFailures) {
  int calls = 0;
  JsonPageCall endless = [&calls](const json&) -> Result<json> {
    return json{{"nextToken", "t" + std::to_string(++calls)}};
  };
  auto capped = paginate_json(endless, json::object(), "ECR DescribeRepositories", 5);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.error().code, Errc::invalid);
  EXPECT_EQ(calls, 5);

  FakePages failing;
  failing.answers = {{{"nextToken", "a"}}};
  auto failed = paginate_json(failing.call(), json::object(), "x");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::internal);
  EXPECT_EQ(failed.error().message, "asked for more pages than there are");
}

TEST(PaginateTest, QueryMarkers) {
  std::vector<std::string> bodies = {
      "<R><DescribeRulesResult><Rules><member><RuleArn>r1</RuleArn></member></Rules>"
      "<NextMarker>m1</NextMarker></DescribeRulesResult></R>",
      "<R><DescribeRulesResult><Rules><member><RuleArn>r2</RuleArn></member></Rules>"
      "</DescribeRulesResult></R>"};
  std::vector<json> params;
  QueryPageCall call = [&](const json& p) -> Result<XmlNode> {
    params.push_back(p);
    return parse_query_answer("DescribeRules", bodies[params.size() - 1]);
  };
  auto pages = paginate_query(call, {{"ListenerArn", "l"}}, "ELBv2 DescribeRules");
  ASSERT_TRUE(pages.ok()) << pages.error().message;
  ASSERT_EQ(pages->size(), 2u);
  EXPECT_EQ((*pages)[1].members("Rules")[0].text("RuleArn"), "r2");
  EXPECT_FALSE(params[0].contains("Marker"));
  EXPECT_EQ(params[1], json({{"ListenerArn", "l"}, {"Marker", "m1"}}));

  QueryPageCall looping = [](const json&) {
    return parse_query_answer("X", "<R><XResult><NextMarker>m</NextMarker></XResult></R>");
  };
  auto loop = paginate_query(looping, json::object(), "ELBv2 DescribeTargetGroups");
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().code, Errc::internal);
}

}  // namespace
}  // namespace ztp::aws
