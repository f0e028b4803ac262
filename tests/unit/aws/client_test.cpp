#include "aws/client.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "support/aws_shapes.hpp"
#include "support/support.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

testing::AwsShapes& model_of(const std::string& relative) {
  static std::map<std::string, testing::AwsShapes> models;
  auto it = models.find(relative);
  if (it == models.end()) {
    it = models.emplace(relative, testing::AwsShapes::load(testing::vector_path(relative))).first;
  }
  return it->second;
}

testing::AwsShapes& ecs_model() { return model_of("aws-models/ecs/2014-11-13/service-2.json"); }

// Every request must fit its operation's input shape in `model`.
void check_request(const testing::AwsShapes& model, const sys::HttpRequest& req) {
  sys::HttpResponse view;
  view.headers = req.headers;
  std::string target = view.header("X-Amz-Target");
  std::vector<std::string> problems =
      target.empty() ? model.check_query_input(testing::parse_aws_form(req.body).at(0).second,
                                               testing::parse_aws_form(req.body))
                     : model.check_json_input(target.substr(target.find('.') + 1),
                                              json::parse(req.body, nullptr, false));
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// Answers the requests in turn from `answers` (the last one repeats) and records them, each
// checked against `model`.
struct FakeAws {
  const testing::AwsShapes* model = &ecs_model();
  std::vector<Result<sys::HttpResponse>> answers;
  std::vector<sys::HttpRequest> requests;
  std::vector<std::string> bodies;
  std::vector<milliseconds> waits;

  AwsClientOptions options(int max_attempts = 3) {
    AwsClientOptions o;
    o.retry.max_attempts = max_attempts;
    o.random = [] { return 0.5; };
    o.wait = [this](milliseconds d) {
      waits.push_back(d);
      return true;
    };
    o.send = [this](const sys::HttpRequest& req, const sys::HttpOptions&) {
      requests.push_back(req);
      bodies.emplace_back(req.body);
      check_request(*model, req);
      return answers[std::min(requests.size(), answers.size()) - 1];
    };
    return o;
  }
};

sys::HttpResponse answer(long status, std::string body,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  sys::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::string header(const sys::HttpRequest& req, std::string_view name) {
  sys::HttpResponse view;
  view.headers = req.headers;
  return view.header(name);
}

int count_headers(const sys::HttpRequest& req, std::string_view name) {
  int n = 0;
  for (const auto& [key, value] : req.headers) {
    n += key == name ? 1 : 0;
  }
  return n;
}

ServiceDescription ecs() {
  return service_description(*find_service_api("ecs"), "https://ecs.us-east-1.amazonaws.com");
}

const json k_describe = {{"cluster", "prod"}, {"services", {"web"}}, {"include", {"TAGS"}}};

TEST(AwsClientTest, SendsTheSdkHeaders) {
  ASSERT_TRUE(ecs_model().check_json_input("DescribeServices", k_describe).empty());
  FakeAws fake;
  fake.answers = {answer(200, R"({"services":[{"serviceName":"web","desiredCount":2}]})")};
  AwsClient client(ecs(), nullptr, fake.options());
  auto out = client.call_json("DescribeServices", k_describe);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ((*out)["services"][0]["desiredCount"], 2);
  ASSERT_EQ(fake.requests.size(), 1u);
  const auto& req = fake.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://ecs.us-east-1.amazonaws.com/");
  EXPECT_EQ(header(req, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(header(req, "X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.DescribeServices");
  EXPECT_EQ(header(req, "User-Agent"), "zerotouch ua/2.1 api/ecs#2014-11-13");
  EXPECT_EQ(header(req, "amz-sdk-request"), "attempt=1; max=3");
  EXPECT_TRUE(std::regex_match(header(req, "amz-sdk-invocation-id"),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                          "[0-9a-f]{12}")))
      << header(req, "amz-sdk-invocation-id");
  EXPECT_EQ(json::parse(fake.bodies[0]), k_describe);
  EXPECT_EQ(header(req, "x-amzn-query-mode"), "");

  auto again = client.call_json("DescribeServices", k_describe);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(header(fake.requests[1], "amz-sdk-invocation-id"),
            header(fake.requests[0], "amz-sdk-invocation-id"));
}

TEST(AwsClientTest, SignsEveryAttemptAfresh) {
  FakeAws fake;
  fake.answers = {answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"),
                  answer(200, "{}")};
  std::vector<std::string> signed_attempts;
  AwsClient::Signer signer = [&](sys::HttpRequest& req) -> Result<void> {
    // A retry reaches the signer without an earlier signature.
    EXPECT_EQ(header(req, "Authorization"), "");
    signed_attempts.push_back(header(req, "amz-sdk-request"));
    req.headers.emplace_back("Authorization", "sig-" + std::to_string(signed_attempts.size()));
    return {};
  };
  AwsClient client(ecs(), signer, fake.options());
  auto out = client.call_json("DescribeServices", k_describe);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(fake.requests.size(), 2u);
  EXPECT_EQ(signed_attempts, (std::vector<std::string>{"attempt=1; max=3", "attempt=2; max=3"}));
  EXPECT_EQ(header(fake.requests[0], "Authorization"), "sig-1");
  EXPECT_EQ(header(fake.requests[1], "Authorization"), "sig-2");
  EXPECT_EQ(count_headers(fake.requests[1], "Authorization"), 1);
  EXPECT_EQ(header(fake.requests[1], "amz-sdk-invocation-id"),
            header(fake.requests[0], "amz-sdk-invocation-id"));
  EXPECT_EQ(fake.waits, (std::vector<milliseconds>{milliseconds(500)}));
  EXPECT_EQ(client.retry().quota().available(), 500);  // the retry's 5 came back
}

TEST(AwsClientTest, ValidationErrorsAreNotRetried) {
  FakeAws fake;
  fake.answers = {answer(400,
                         R"({"__type":"com.amazonaws.ecs#InvalidParameterException",)"
                         R"("message":"Invalid revision number."})",
                         {{"x-amzn-RequestId", "9d2c0c4e"}})};
  AwsClient client(ecs(), nullptr, fake.options());
  AwsError detail;
  auto out = client.call_json("DescribeTaskDefinition", {{"taskDefinition", "web:0"}}, &detail);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(fake.requests.size(), 1u);
  EXPECT_EQ(out.error().code, Errc::invalid);
  EXPECT_EQ(out.error().message,
            "ECS DescribeTaskDefinition: InvalidParameterException: Invalid revision number. "
            "(HTTP 400, request id 9d2c0c4e)");
  EXPECT_EQ(detail.code, "InvalidParameterException");
  EXPECT_EQ(detail.request_id, "9d2c0c4e");
  EXPECT_EQ(detail.iam_action, "ecs:DescribeTaskDefinition");
  EXPECT_TRUE(fake.waits.empty());
}

TEST(AwsClientTest, GivesUpAfterMaxAttempts) {
  FakeAws fake;
  fake.answers = {answer(503, "", {{"x-amzn-RequestId", "r-503"}})};
  AwsClient client(ecs(), nullptr, fake.options(4));
  auto out = client.call_json("ListTasks", {{"cluster", "prod"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::unavailable);
  EXPECT_EQ(fake.requests.size(), 4u);
  EXPECT_EQ(header(fake.requests[3], "amz-sdk-request"), "attempt=4; max=4");
  EXPECT_EQ(fake.waits,
            (std::vector<milliseconds>{milliseconds(500), milliseconds(1000), milliseconds(2000)}));
  EXPECT_NE(out.error().message.find("(HTTP 503, request id r-503, after 4 attempts)"),
            std::string::npos)
      << out.error().message;
  EXPECT_EQ(client.retry().quota().available(), 485);  // three retries, no success
}

TEST(AwsClientTest, NoAnswerIsRetriedAtTheTimeoutCost) {
  FakeAws fake;
  fake.answers = {Result<sys::HttpResponse>(make_error(Errc::unavailable, "connection refused")),
                  answer(200, R"({"clusters":[]})")};
  AwsClient client(ecs(), nullptr, fake.options());
  auto out = client.call_json("DescribeClusters", {{"clusters", {"prod"}}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(fake.requests.size(), 2u);
  EXPECT_EQ(client.retry().quota().available(), 500);

  FakeAws dead;
  dead.answers = {Result<sys::HttpResponse>(make_error(Errc::timeout, "timed out after 60 s"))};
  AwsClient unreachable(ecs(), nullptr, dead.options(2));
  AwsError detail;
  auto failed = unreachable.call_json("DescribeClusters", json::object(), &detail);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_EQ(failed.error().message,
            "ECS DescribeClusters: no answer: timed out after 60 s (after 2 attempts)");
  EXPECT_TRUE(detail.timed_out);
  EXPECT_EQ(unreachable.retry().quota().available(), 490);
}

TEST(AwsClientTest, SignerAndWaitCanEndTheCall) {
  FakeAws fake;
  fake.answers = {answer(200, "{}")};
  AwsClient refused(
      ecs(),
      [](sys::HttpRequest&) -> Result<void> {
        return make_error(Errc::invalid, "no credentials: set AWS_PROFILE");
      },
      fake.options());
  auto out = refused.call_json("ListTasks", json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::invalid);
  EXPECT_EQ(out.error().message, "ECS ListTasks: no credentials: set AWS_PROFILE");
  EXPECT_TRUE(fake.requests.empty());

  FakeAws throttled;
  throttled.answers = {answer(400, R"({"__type":"ThrottlingException"})")};
  AwsClientOptions options = throttled.options();
  options.wait = [](milliseconds) { return false; };  // shutting down
  AwsClient client(ecs(), nullptr, options);
  EXPECT_FALSE(client.call_json("ListTasks", json::object()).ok());
  EXPECT_EQ(throttled.requests.size(), 1u);
}

TEST(AwsClientTest, QueryCallsAndQueryCompatibleHeaders) {
  FakeAws fake;
  fake.model = &model_of("aws-models/elbv2/2015-12-01/service-2.json");
  fake.answers = {answer(200, R"(<DescribeTargetHealthResponse><DescribeTargetHealthResult>)"
                              R"(<TargetHealthDescriptions><member><TargetHealth><State>healthy)"
                              R"(</State></TargetHealth></member></TargetHealthDescriptions>)"
                              R"(</DescribeTargetHealthResult></DescribeTargetHealthResponse>)")};
  AwsClient elbv2(service_description(*find_service_api("elbv2"),
                                      "https://elasticloadbalancing.us-east-1.amazonaws.com/"),
                  nullptr, fake.options());
  json params = {{"TargetGroupArn", "arn:tg"}, {"Targets", {{{"Id", "10.0.0.7"}, {"Port", 80}}}}};
  auto out = elbv2.call_query("DescribeTargetHealth", params);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->members("TargetHealthDescriptions")[0].child("TargetHealth").text("State"),
            "healthy");
  const auto& req = fake.requests[0];
  EXPECT_EQ(req.url, "https://elasticloadbalancing.us-east-1.amazonaws.com/");
  EXPECT_EQ(header(req, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(header(req, "X-Amz-Target"), "");
  EXPECT_EQ(fake.bodies[0],
            "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Atg&"
            "Targets.member.1.Id=10.0.0.7&Targets.member.1.Port=80");
  EXPECT_EQ(elbv2.call_json("DescribeTargetHealth", params).error().code, Errc::internal);

  FakeAws cw;
  cw.model = &model_of("aws-models/cloudwatch/2010-08-01/service-2.json");
  cw.answers = {answer(200, R"({"MetricDataResults":[]})")};
  AwsClient cloudwatch(service_description(*find_service_api("cloudwatch"), "http://127.0.0.1:9"),
                       nullptr, cw.options());
  ASSERT_TRUE(cloudwatch.call_json("ListDashboards", json::object()).ok());
  EXPECT_EQ(header(cw.requests[0], "x-amzn-query-mode"), "true");
  EXPECT_EQ(header(cw.requests[0], "Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(header(cw.requests[0], "X-Amz-Target"), "GraniteServiceVersion20100801.ListDashboards");
  EXPECT_EQ(cloudwatch.call_query("ListDashboards", json::object()).error().code, Errc::internal);
}

TEST(AwsClientTest, AnswersThatCannotBeReadAreInvalid) {
  FakeAws fake;
  fake.answers = {answer(200, "<html>proxy login</html>")};
  AwsClient client(ecs(), nullptr, fake.options());
  auto out = client.call_json("ListTasks", json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::invalid);
  EXPECT_EQ(out.error().message.rfind("ECS ListTasks: ", 0), 0u);
  EXPECT_EQ(client.call_json("ListTasks", json::array()).error().code, Errc::invalid);
}

}  // namespace
}  // namespace ztp::aws
