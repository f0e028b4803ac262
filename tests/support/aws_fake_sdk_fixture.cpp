#include "support/aws_fake_sdk_fixture.hpp"

namespace ztp::testing {

using nlohmann::json;

json fargate_task_definition(const std::string& family, const std::string& image) {
  return {{"family", family},
          {"networkMode", "awsvpc"},
          {"requiresCompatibilities", {"FARGATE"}},
          {"cpu", "256"},
          {"memory", "512"},
          {"containerDefinitions",
           {{{"name", "web"}, {"image", image}, {"portMappings", {{{"containerPort", 8080}}}}}}}};
}

json awsvpc_network() {
  return {{"awsvpcConfiguration",
           {{"subnets", {"subnet-0a"}},
            {"securityGroups", {"sg-0a"}},
            {"assignPublicIp", "DISABLED"}}}};
}

void AwsFakeSdkFixture::SetUp() {
  std::string missing = aws_sdk_missing();
  ASSERT_TRUE(missing.empty()) << missing;
}

void AwsFakeSdkFixture::start(AwsFakeOptions options) {
  if (options.clock == nullptr) {
    options.clock = &clock;
  }
  fake = std::make_unique<AwsFake>(options);
  sdk = std::make_unique<AwsSdkClient>(fake->endpoint());
  ASSERT_TRUE(sdk->ok()) << sdk->error();
}

json AwsFakeSdkFixture::ok(const std::string& client, const std::string& command, const json& input,
                           const json& config) {
  ++calls_made;
  auto r = sdk->call(client, command, input.is_null() ? json::object() : input, config);
  if (!r.value("ok", false)) {
    ADD_FAILURE() << client << " " << command << " failed: " << r.dump();
    return json::object();
  }
  EXPECT_EQ(r["metadata"]["requestId"], last_request_id()) << command;
  EXPECT_EQ(r["metadata"]["httpStatusCode"], 200) << command;
  return r["output"];
}

json AwsFakeSdkFixture::fails(const std::string& client, const std::string& command,
                              const json& input, const std::string& name, const json& config) {
  ++calls_made;
  auto r = sdk->call(client, command, input.is_null() ? json::object() : input, config);
  if (r.value("ok", true)) {
    ADD_FAILURE() << client << " " << command << " succeeded: " << r.dump();
    return json::object();
  }
  json e = r["error"];
  EXPECT_EQ(e["name"], name) << client << " " << command << ": " << e.dump();
  EXPECT_FALSE(e.value("message", "").empty()) << e.dump();
  EXPECT_EQ(e["requestId"], last_request_id()) << e.dump();
  return e;
}

std::string AwsFakeSdkFixture::last_request_id() const {
  auto calls = fake->calls();
  return calls.empty() ? "(no call reached the fake)" : calls.back().request_id;
}

std::string AwsFakeSdkFixture::at(std::chrono::milliseconds from_start) const {
  return iso8601(t0 + from_start);
}

bool AwsFakeSdkFixture::advance_until(const std::function<bool()>& done, std::chrono::seconds step,
                                      int steps) {
  for (int i = 0; i < steps; ++i) {
    if (done()) {
      return true;
    }
    clock.advance(step);
  }
  return done();
}

json AwsFakeSdkFixture::create_service(const std::string& name, const std::string& task_definition,
                                       int desired, const json& more) {
  json input = {{"cluster", "prod"},
                {"serviceName", name},
                {"taskDefinition", task_definition},
                {"desiredCount", desired},
                {"launchType", "FARGATE"},
                {"networkConfiguration", awsvpc_network()}};
  input.update(more);
  return ok("ecs", "CreateService", input)["service"];
}

json AwsFakeSdkFixture::service(const std::string& name) {
  return ok("ecs", "DescribeServices", {{"cluster", "prod"}, {"services", {name}}})["services"][0];
}

json AwsFakeSdkFixture::tasks(const std::string& service, const std::string& desired) {
  auto arns =
      ok("ecs", "ListTasks",
         {{"cluster", "prod"}, {"serviceName", service}, {"desiredStatus", desired}})["taskArns"];
  if (arns.empty()) {
    return json::array();
  }
  return ok("ecs", "DescribeTasks", {{"cluster", "prod"}, {"tasks", arns}})["tasks"];
}

std::string AwsFakeSdkFixture::create_target_group(const std::string& name) {
  auto out = ok("elbv2", "CreateTargetGroup",
                {{"Name", name},
                 {"Protocol", "HTTP"},
                 {"Port", 8080},
                 {"VpcId", "vpc-0a"},
                 {"TargetType", "ip"},
                 {"HealthCheckPath", "/health"},
                 {"HealthCheckIntervalSeconds", 10},
                 {"HealthyThresholdCount", 2},
                 {"UnhealthyThresholdCount", 2}});
  return out["TargetGroups"][0].value("TargetGroupArn", "");
}

}  // namespace ztp::testing
