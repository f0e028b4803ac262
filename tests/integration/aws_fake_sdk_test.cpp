// The AWS fake of tests/support (AwsFake) against the official AWS SDK for JavaScript v3
// (tests/aws-sdk/fake_client.mjs): every answer must parse in the real SDK, errors must come
// out as the modelled exception with a message and the request id, and the parsed values must
// follow the state machines AWS documents as the fake's clock moves. The last test checks the
// fake's operations and required members against the botocore models.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/aws_fake_clock.hpp"
#include "support/aws_fake_sdk_fixture.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::AwsFake;
using testing::AwsFakeOptions;

json web(const std::string& image) { return testing::fargate_task_definition("web", image); }

// `more` with the cluster "prod".
json prod(json more) {
  more["cluster"] = "prod";
  return more;
}

class AwsFakeSdkTest : public testing::AwsFakeSdkFixture {};

TEST_F(AwsFakeSdkTest, ServiceStartsItsTasksScalesInAndDrains) {
  start();
  fake->add_cluster("prod");
  auto td1 = ok("ecs", "RegisterTaskDefinition", web("registry/web:1"))["taskDefinition"];
  EXPECT_EQ(td1["taskDefinitionArn"], "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1");
  EXPECT_EQ(td1["registeredAt"], at(seconds(0)));
  EXPECT_EQ(td1["containerDefinitions"][0]["portMappings"][0]["hostPort"], 8080);
  auto td2 = ok("ecs", "RegisterTaskDefinition", web("registry/web:2"))["taskDefinition"];
  EXPECT_EQ(td2["revision"], 2);

  auto created = create_service("web", "web:2", 2);
  EXPECT_EQ(created["serviceArn"], "arn:aws:ecs:us-east-1:123456789012:service/prod/web");
  EXPECT_EQ(created["status"], "ACTIVE");
  EXPECT_EQ(created["createdAt"], at(seconds(0)));
  EXPECT_EQ(created["deployments"][0]["rolloutState"], "IN_PROGRESS");
  EXPECT_EQ(created["deploymentConfiguration"]["maximumPercent"], 200);
  auto s = service("web");
  EXPECT_EQ(s["pendingCount"], 2);
  EXPECT_EQ(s["runningCount"], 0);
  EXPECT_EQ(s["events"][0]["message"].get<std::string>().rfind(
                "(service web) has started 2 tasks: (task ", 0),
            0u);
  auto t = tasks("web");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["lastStatus"], "PROVISIONING");
  EXPECT_EQ(t[0]["group"], "service:web");
  EXPECT_EQ(t[0]["startedBy"], s["deployments"][0]["id"]);
  EXPECT_EQ(t[0]["attachments"][0]["type"], "ElasticNetworkInterface");

  clock.advance(seconds(5));
  EXPECT_EQ(tasks("web")[0]["lastStatus"], "PENDING");
  clock.advance(seconds(10));
  t = tasks("web");
  EXPECT_EQ(t[0]["lastStatus"], "RUNNING");
  EXPECT_EQ(t[0]["pullStartedAt"], at(seconds(5)));
  EXPECT_EQ(t[0]["startedAt"], at(seconds(15)));
  EXPECT_EQ(t[0]["containers"][0]["lastStatus"], "RUNNING");
  s = service("web");
  EXPECT_EQ(s["runningCount"], 2);
  EXPECT_EQ(s["deployments"][0]["rolloutState"], "COMPLETED");
  EXPECT_EQ(s["events"][0]["message"], "(service web) has reached a steady state.");

  auto scaled = ok("ecs", "UpdateService", prod({{"service", "web"}, {"desiredCount", 1}}));
  EXPECT_EQ(scaled["service"]["desiredCount"], 1);
  auto stopping = tasks("web", "STOPPED");
  ASSERT_EQ(stopping.size(), 1u);
  EXPECT_EQ(stopping[0]["stopCode"], "ServiceSchedulerInitiated");
  EXPECT_EQ(stopping[0]["lastStatus"], "STOPPING");
  clock.advance(seconds(5));
  stopping = tasks("web", "STOPPED");
  EXPECT_EQ(stopping[0]["lastStatus"], "STOPPED");
  EXPECT_EQ(stopping[0]["stoppedAt"], at(seconds(20)));
  EXPECT_EQ(stopping[0]["containers"][0]["exitCode"], 0);

  auto running = tasks("web");
  ASSERT_EQ(running.size(), 1u);
  auto stopped = ok("ecs", "StopTask",
                    prod({{"task", running[0]["taskArn"]}, {"reason", "rotated by the test"}}));
  EXPECT_EQ(stopped["task"]["desiredStatus"], "STOPPED");
  EXPECT_EQ(stopped["task"]["stopCode"], "UserInitiated");
  EXPECT_EQ(stopped["task"]["stoppedReason"], "rotated by the test");
  EXPECT_EQ(service("web")["pendingCount"], 1);  // its replacement

  ok("ecs", "TagResource",
     {{"resourceArn", created["serviceArn"]}, {"tags", {{{"key", "team"}, {"value", "web"}}}}});
  auto tagged = ok("ecs", "DescribeServices",
                   prod({{"services", {"web"}}, {"include", {"TAGS"}}}))["services"][0];
  EXPECT_EQ(tagged["tags"][0]["value"], "web");
  auto clusters = ok("ecs", "DescribeClusters", {{"clusters", {"prod", "nope"}}});
  EXPECT_EQ(clusters["clusters"][0]["activeServicesCount"], 1);
  EXPECT_EQ(clusters["failures"][0]["reason"], "MISSING");

  ok("ecs", "DeregisterTaskDefinition", {{"taskDefinition", "web:1"}});
  auto old = ok("ecs", "DescribeTaskDefinition", {{"taskDefinition", "web:1"}});
  EXPECT_EQ(old["taskDefinition"]["status"], "INACTIVE");
  auto latest = ok("ecs", "DescribeTaskDefinition", {{"taskDefinition", "web"}});
  EXPECT_EQ(latest["taskDefinition"]["revision"], 2);

  fails("ecs", "DeleteService", prod({{"service", "web"}}), "InvalidParameterException");
  auto deleted = ok("ecs", "DeleteService", prod({{"service", "web"}, {"force", true}}));
  EXPECT_EQ(deleted["service"]["status"], "DRAINING");
  ASSERT_TRUE(advance_until([&] { return service("web")["status"] == "INACTIVE"; }));
  EXPECT_TRUE(ok("ecs", "ListServices", prod({}))["serviceArns"].empty());
  EXPECT_TRUE(tasks("web").empty());
}

TEST_F(AwsFakeSdkTest, RollingDeploymentKeepsTheServiceHealthyBehindTheLoadBalancer) {
  start();
  fake->add_cluster("prod");
  auto lb = fake->add_load_balancer("web");
  auto listener = fake->add_listener(lb, 80);
  auto tg = create_target_group("web-blue");
  json delay = {{{"Key", "deregistration_delay.timeout_seconds"}, {"Value", "30"}}};
  ok("elbv2", "ModifyTargetGroupAttributes", {{"TargetGroupArn", tg}, {"Attributes", delay}});
  ok("elbv2", "CreateRule",
     {{"ListenerArn", listener},
      {"Priority", 1},
      {"Conditions", {{{"Field", "path-pattern"}, {"Values", {"/*"}}}}},
      {"Actions", {{{"Type", "forward"}, {"TargetGroupArn", tg}}}}});
  ok("ecs", "RegisterTaskDefinition", web("registry/web:1"));
  std::string v2 = ok("ecs", "RegisterTaskDefinition",
                      web("registry/web:2"))["taskDefinition"]["taskDefinitionArn"];
  json lbs = {{{"targetGroupArn", tg}, {"containerName", "web"}, {"containerPort", 8080}}};
  create_service("web", "web:1", 2,
                 {{"loadBalancers", lbs}, {"healthCheckGracePeriodSeconds", 30}});
  auto targets = [&] {
    return ok("elbv2", "DescribeTargetHealth",
              {{"TargetGroupArn", tg}})["TargetHealthDescriptions"];
  };
  auto healthy = [&] {
    auto all = targets();
    return std::count_if(all.begin(), all.end(),
                         [](const json& d) { return d["TargetHealth"]["State"] == "healthy"; });
  };
  clock.advance(seconds(15));
  auto registered = targets();
  ASSERT_EQ(registered.size(), 2u);
  EXPECT_EQ(registered[0]["TargetHealth"]["State"], "initial");
  EXPECT_EQ(registered[0]["TargetHealth"]["Reason"], "Elb.RegistrationInProgress");
  EXPECT_EQ(registered[0]["Target"]["Port"], 8080);
  std::set<std::string> ips;
  for (const auto& t : tasks("web")) {
    ips.insert(t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]);
  }
  EXPECT_EQ(ips,
            (std::set<std::string>{registered[0]["Target"]["Id"], registered[1]["Target"]["Id"]}));
  EXPECT_EQ(service("web")["deployments"][0]["rolloutState"], "IN_PROGRESS");
  clock.advance(seconds(10));
  EXPECT_EQ(targets()[0]["TargetHealth"]["Reason"], "Elb.InitialHealthChecking");
  clock.advance(seconds(10));
  EXPECT_EQ(healthy(), 2);
  EXPECT_EQ(service("web")["deployments"][0]["rolloutState"], "COMPLETED");

  auto updated = ok("ecs", "UpdateService", prod({{"service", "web"}, {"taskDefinition", v2}}));
  ASSERT_EQ(updated["service"]["deployments"].size(), 2u);
  EXPECT_EQ(updated["service"]["deployments"][0]["status"], "PRIMARY");
  EXPECT_EQ(updated["service"]["deployments"][1]["status"], "ACTIVE");
  long lowest = 2;
  ASSERT_TRUE(advance_until([&] {
    lowest = std::min(lowest, static_cast<long>(healthy()));
    auto s = service("web");
    return s["deployments"].size() == 1 && s["deployments"][0]["rolloutState"] == "COMPLETED";
  }));
  EXPECT_EQ(lowest, 2) << "minimumHealthyPercent 100 keeps two healthy tasks throughout";
  EXPECT_EQ(service("web")["taskDefinition"], v2);
  ASSERT_TRUE(advance_until([&] {
    auto old = tasks("web", "STOPPED");
    return old.size() == 2 && old[0]["lastStatus"] == "STOPPED" &&
           old[1]["lastStatus"] == "STOPPED";
  }));
  auto old = tasks("web", "STOPPED")[0];
  EXPECT_EQ(old["stopCode"], "ServiceSchedulerInitiated");
  std::string deployment = service("web")["deployments"][0]["id"];
  EXPECT_EQ(old["stoppedReason"], "Scaling activity initiated by (deployment " + deployment + ")");
  EXPECT_EQ(healthy(), 2);
  std::string events = service("web")["events"].dump();
  for (const char* event :
       {"registered 1 targets in (target-group ", "deregistered 1 targets",
        "has begun draining connections on 1 tasks.", "deployment completed."}) {
    EXPECT_NE(events.find(event), std::string::npos) << event;
  }
  // The record counts every call, e.g. what a rollout costs in API calls.
  EXPECT_EQ(fake->call_count("ecs", "UpdateService"), 1);
  EXPECT_EQ(static_cast<int>(fake->calls().size()), calls_made);
}

// A runner that fails images named "missing" (a pull error) and "crash" (exit 1).
class ImageRunner final : public testing::TaskRunner {
 public:
  testing::TaskStartResult start(const testing::FakeEcsTask& task) override {
    std::string image = task.container_definitions[0]["image"];
    testing::TaskStartResult r;
    if (image.find("missing") != std::string::npos) {
      r.started = false;
      r.reason =
          "CannotPullContainerError: pull image manifest has been retried 5 time(s): " + image +
          ": not found";
    } else if (image.find("crash") != std::string::npos) {
      r.started = false;
      r.reason = "exited: boom";
      r.exit_code = 1;
    }
    return r;
  }
  void stop(const testing::FakeEcsTask&) override { ++stopped; }
  std::atomic<int> stopped{0};
};

TEST_F(AwsFakeSdkTest, CircuitBreakerRollsBackWhenTheImageCannotBePulled) {
  start();
  auto runner = std::make_shared<ImageRunner>();
  fake->set_task_runner(runner);
  fake->add_cluster("prod");
  std::string v1 = ok("ecs", "RegisterTaskDefinition",
                      web("registry/web:1"))["taskDefinition"]["taskDefinitionArn"];
  ok("ecs", "RegisterTaskDefinition", web("registry/web:missing"));
  ok("ecs", "RegisterTaskDefinition", testing::fargate_task_definition("crash", "registry/crash"));
  json breaker = {{"deploymentCircuitBreaker", {{"enable", true}, {"rollback", true}}}};
  create_service("web", v1, 2, {{"deploymentConfiguration", breaker}});
  ASSERT_TRUE(advance_until(
      [&] { return service("web")["deployments"][0]["rolloutState"] == "COMPLETED"; }));
  ok("ecs", "UpdateService", prod({{"service", "web"}, {"taskDefinition", "web:2"}}));
  ASSERT_TRUE(advance_until([&] {
    auto s = service("web");
    return s["deployments"].size() == 1 && s["deployments"][0]["rolloutState"] == "COMPLETED";
  }));
  auto s = service("web");
  EXPECT_EQ(s["taskDefinition"], v1);
  std::string events = s["events"].dump();
  EXPECT_NE(events.find("deployment failed: tasks failed to start."), std::string::npos);
  EXPECT_NE(events.find("rolling back to deployment"), std::string::npos);
  int pull_failures = 0;
  for (const auto& t : tasks("web", "STOPPED")) {
    if (t["stopCode"] == "TaskFailedToStart") {
      ++pull_failures;
      EXPECT_EQ(t["lastStatus"], "STOPPED");
      EXPECT_EQ(t["stoppedReason"].get<std::string>().rfind("CannotPullContainerError: ", 0), 0u);
      EXPECT_EQ(t["containers"][0]["reason"], t["stoppedReason"]);
    }
  }
  EXPECT_EQ(pull_failures, 4) << "two launches of two tasks, then the breaker (threshold 3)";

  create_service("crash", "crash", 1);
  clock.advance(seconds(15));
  auto crashed = tasks("crash", "STOPPED");
  ASSERT_FALSE(crashed.empty());
  EXPECT_EQ(crashed[0]["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(crashed[0]["stoppedReason"], "Essential container in task exited");
  EXPECT_EQ(crashed[0]["containers"][0]["exitCode"], 1);

  std::string arn = tasks("web")[0]["taskArn"];
  int stopped_before = runner->stopped;
  ASSERT_TRUE(fake->exit_task(arn, 137, "OutOfMemoryError: Container killed due to memory usage"));
  auto dead = ok("ecs", "DescribeTasks", prod({{"tasks", {arn}}}))["tasks"][0];
  EXPECT_EQ(dead["containers"][0]["exitCode"], 137);
  EXPECT_EQ(dead["stopCode"], "EssentialContainerExited");
  EXPECT_EQ(runner->stopped, stopped_before) << "a task that exited by itself is not stopped";
}

TEST_F(AwsFakeSdkTest, ScaleInSparesProtectedTasksUntilProtectionExpires) {
  start();
  fake->add_cluster("prod");
  ok("ecs", "RegisterTaskDefinition", web("registry/web:1"));
  create_service("web", "web", 3);
  clock.advance(seconds(15));
  std::string keep = tasks("web")[1]["taskArn"];
  auto protection =
      ok("ecs", "UpdateTaskProtection",
         prod({{"tasks", {keep, "0123"}}, {"protectionEnabled", true}, {"expiresInMinutes", 60}}));
  EXPECT_EQ(protection["protectedTasks"][0]["taskArn"], keep);
  EXPECT_EQ(protection["protectedTasks"][0]["expirationDate"], at(seconds(15) + minutes(60)));
  EXPECT_EQ(protection["failures"][0]["reason"], "MISSING");
  ok("ecs", "UpdateService", prod({{"service", "web"}, {"desiredCount", 1}}));
  auto left = tasks("web");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["taskArn"], keep);
  ok("ecs", "UpdateService", prod({{"service", "web"}, {"desiredCount", 0}}));
  clock.advance(minutes(59));
  EXPECT_EQ(tasks("web").size(), 1u);
  clock.advance(minutes(2));
  EXPECT_TRUE(tasks("web").empty());
}

TEST_F(AwsFakeSdkTest, TargetHealthFollowsTheProbeAndDrains) {
  start();
  auto lb = fake->add_load_balancer("web");
  auto tg = create_target_group("web-blue");
  fake->add_listener(lb, 80, tg);
  auto spare = create_target_group("spare");
  fake->set_target_probe([](const testing::TargetProbeRequest& r) {
    testing::TargetProbeResult result;
    if (r.target_id == "10.0.9.2") {
      result.healthy = false;
      result.reason = "Target.ResponseCodeMismatch";
      result.description = "Health checks failed with these codes: [503]";
    }
    return result;
  });
  json both = {{{"Id", "10.0.9.1"}, {"Port", 8080}}, {{"Id", "10.0.9.2"}}};
  ok("elbv2", "RegisterTargets", {{"TargetGroupArn", tg}, {"Targets", both}});
  ok("elbv2", "RegisterTargets", {{"TargetGroupArn", spare}, {"Targets", both}});
  auto health = [&](const std::string& arn) {
    return ok("elbv2", "DescribeTargetHealth",
              {{"TargetGroupArn", arn}})["TargetHealthDescriptions"];
  };
  EXPECT_EQ(health(tg)[0]["TargetHealth"]["State"], "initial");
  clock.advance(seconds(20));
  auto h = health(tg);
  EXPECT_EQ(h[0]["TargetHealth"]["State"], "healthy");
  EXPECT_FALSE(h[0]["TargetHealth"].contains("Reason"));
  EXPECT_EQ(h[1]["TargetHealth"]["State"], "unhealthy");
  EXPECT_EQ(h[1]["TargetHealth"]["Reason"], "Target.ResponseCodeMismatch");
  EXPECT_EQ(h[1]["HealthCheckPort"], "8080");
  EXPECT_EQ(health(spare)[0]["TargetHealth"]["Reason"], "Target.NotInUse");
  auto unknown = ok("elbv2", "DescribeTargetHealth",
                    {{"TargetGroupArn", tg}, {"Targets", {{{"Id", "10.0.9.9"}, {"Port", 8080}}}}});
  EXPECT_EQ(unknown["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"],
            "Target.NotRegistered");

  ok("elbv2", "ModifyTargetGroupAttributes",
     {{"TargetGroupArn", tg},
      {"Attributes", {{{"Key", "deregistration_delay.timeout_seconds"}, {"Value", "30"}}}}});
  auto attributes = ok("elbv2", "DescribeTargetGroupAttributes", {{"TargetGroupArn", tg}});
  bool found = false;
  for (const auto& a : attributes["Attributes"]) {
    found = found || (a["Key"] == "deregistration_delay.timeout_seconds" && a["Value"] == "30");
  }
  EXPECT_TRUE(found) << attributes.dump();
  ok("elbv2", "DeregisterTargets", {{"TargetGroupArn", tg}, {"Targets", {{{"Id", "10.0.9.1"}}}}});
  EXPECT_EQ(health(tg)[0]["TargetHealth"]["State"], "draining");
  EXPECT_EQ(health(tg)[0]["TargetHealth"]["Reason"], "Target.DeregistrationInProgress");
  clock.advance(seconds(29));
  EXPECT_EQ(health(tg).size(), 2u);
  clock.advance(seconds(1));
  EXPECT_EQ(health(tg).size(), 1u);

  auto modified = ok("elbv2", "ModifyTargetGroup",
                     {{"TargetGroupArn", tg}, {"HealthyThresholdCount", 3}})["TargetGroups"][0];
  EXPECT_EQ(modified["HealthyThresholdCount"], 3);
  EXPECT_EQ(modified["HealthCheckEnabled"], true);
  EXPECT_EQ(modified["LoadBalancerArns"][0], lb);
  fails("elbv2", "ModifyTargetGroup", {{"TargetGroupArn", tg}, {"HealthCheckTimeoutSeconds", 10}},
        "ValidationError");
}

TEST_F(AwsFakeSdkTest, ListenerRulesReadBackTheirWeights) {
  start();
  auto lb = fake->add_load_balancer("web");
  auto blue = create_target_group("blue");
  auto green = create_target_group("green");
  auto listener = fake->add_listener(lb, 80, blue);
  auto listeners = ok("elbv2", "DescribeListeners", {{"LoadBalancerArn", lb}})["Listeners"];
  EXPECT_EQ(listeners[0]["DefaultActions"][0]["TargetGroupArn"], blue);
  auto weighted = [&](int b, int g) {
    return json{{{"Type", "forward"},
                 {"ForwardConfig",
                  {{"TargetGroups",
                    {{{"TargetGroupArn", blue}, {"Weight", b}},
                     {{"TargetGroupArn", green}, {"Weight", g}}}}}}}};
  };
  json conditions = {{{"Field", "path-pattern"}, {"PathPatternConfig", {{"Values", {"/api/*"}}}}}};
  auto rule = ok("elbv2", "CreateRule",
                 {{"ListenerArn", listener},
                  {"Priority", 10},
                  {"Conditions", conditions},
                  {"Actions", weighted(90, 10)}})["Rules"][0];
  EXPECT_EQ(rule["Priority"], "10");
  EXPECT_EQ(rule["Conditions"][0]["Values"][0], "/api/*");
  EXPECT_EQ(rule["Actions"][0]["ForwardConfig"]["TargetGroups"][1]["Weight"], 10);
  ok("elbv2", "ModifyRule", {{"RuleArn", rule["RuleArn"]}, {"Actions", weighted(0, 100)}});
  auto rules = ok("elbv2", "DescribeRules", {{"ListenerArn", listener}})["Rules"];
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["Weight"], 0);
  EXPECT_EQ(rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"][1]["Weight"], 100);
  EXPECT_EQ(rules[1]["IsDefault"], true);
  EXPECT_EQ(rules[1]["Priority"], "default");
  ok("elbv2", "ModifyListener", {{"ListenerArn", listener}, {"DefaultActions", weighted(1, 3)}});
  EXPECT_EQ(ok("elbv2", "DescribeListeners",
               {{"ListenerArns", {listener}}})["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]
                                              ["TargetGroups"][1]["Weight"],
            3);
  auto groups = ok("elbv2", "DescribeTargetGroups", {{"LoadBalancerArn", lb}})["TargetGroups"];
  EXPECT_EQ(groups.size(), 2u);

  json create = {{"ListenerArn", listener}, {"Priority", 20}, {"Conditions", conditions}};
  create["Actions"] = weighted(1000, 1);
  fails("elbv2", "CreateRule", create, "ValidationError");
  create["Actions"] = weighted(0, 0);
  fails("elbv2", "CreateRule", create, "InvalidLoadBalancerActionException");
  create["Actions"] = {{{"Type", "forward"}, {"TargetGroupArn", blue + "0"}}};
  fails("elbv2", "CreateRule", create, "TargetGroupNotFoundException");
  create["Actions"] = {{{"Type", "forward"},
                        {"TargetGroupArn", green},
                        {"ForwardConfig", {{"TargetGroups", {{{"TargetGroupArn", blue}}}}}}}};
  fails("elbv2", "CreateRule", create, "InvalidLoadBalancerActionException");
}

TEST_F(AwsFakeSdkTest, MetricsArriveAPeriodLate) {
  start();
  auto lb = fake->add_load_balancer("web");
  auto tg = create_target_group("blue");
  fake->add_listener(lb, 80, tg);
  for (int i = 1; i <= 20; ++i) {
    fake->record_alb_request(lb, tg, i <= 2 ? 503 : 200, i / 100.0);
  }
  fake->record_alb_request(lb, tg, 502, 0, true);
  std::string tg_dim = tg.substr(tg.find(":targetgroup/") + 1);
  std::string lb_dim = lb.substr(lb.find(":loadbalancer/") + 14);
  json dims = {{{"Name", "TargetGroup"}, {"Value", tg_dim}},
               {{"Name", "LoadBalancer"}, {"Value", lb_dim}}};
  auto query = [&](const std::string& id, const std::string& metric, const std::string& stat) {
    return json{
        {"Id", id},
        {"MetricStat",
         {{"Metric",
           {{"Namespace", "AWS/ApplicationELB"}, {"MetricName", metric}, {"Dimensions", dims}}},
          {"Period", 60},
          {"Stat", stat}}}};
  };
  json input = {{"MetricDataQueries",
                 {query("requests", "RequestCount", "Sum"),
                  query("target5xx", "HTTPCode_Target_5XX_Count", "Sum"),
                  query("elb5xx", "HTTPCode_ELB_5XX_Count", "Sum"),
                  query("p95", "TargetResponseTime", "p95")}},
                {"StartTime", {{"$date", 1'800'000'000 - 600}}},
                {"EndTime", {{"$date", 1'800'000'000 + 600}}}};
  auto results = ok("cloudwatch", "GetMetricData", input)["MetricDataResults"];
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0]["Values"].empty());
  clock.advance(seconds(60));
  EXPECT_TRUE(ok("cloudwatch", "GetMetricData", input)["MetricDataResults"][0]["Values"].empty());
  clock.advance(seconds(60));
  results = ok("cloudwatch", "GetMetricData", input)["MetricDataResults"];
  EXPECT_EQ(results[0]["Values"], json({21}));
  EXPECT_EQ(results[0]["Timestamps"], json({at(seconds(0))}));
  EXPECT_EQ(results[0]["StatusCode"], "Complete");
  EXPECT_EQ(results[1]["Values"], json({2}));
  EXPECT_EQ(results[2]["Values"], json({1}));
  EXPECT_EQ(results[3]["Values"], json({0.19}));

  ok("cloudwatch", "PutMetricData",
     {{"Namespace", "ztp/test"},
      {"MetricData",
       {{{"MetricName", "Deploys"}, {"Value", 3}, {"Timestamp", {{"$date", 1'800'000'000}}}}}}});
  input["MetricDataQueries"] = {
      {{"Id", "deploys"},
       {"MetricStat",
        {{"Metric", {{"Namespace", "ztp/test"}, {"MetricName", "Deploys"}}},
         {"Period", 300},
         {"Stat", "Sum"}}}}};
  EXPECT_EQ(ok("cloudwatch", "GetMetricData", input)["MetricDataResults"][0]["Values"], json({3}));
  input["MetricDataQueries"][0]["MetricStat"]["Period"] = 45;
  fails("cloudwatch", "GetMetricData", input, "InvalidParameterValueException");
}

TEST_F(AwsFakeSdkTest, WebIdentityCredentialsAreIssuedCheckedAndExpire) {
  testing::TempDir dir;
  testing::write_text(dir / "token", "eyJ.test-token");
  AwsFakeOptions options;
  options.sts.web_identity_token = "eyJ.test-token";
  start(options);
  fake->add_cluster("prod");
  EXPECT_EQ(ok("sts", "GetCallerIdentity")["Arn"], "arn:aws:iam::123456789012:user/ztp");
  json web = {{"credentials",
               {{"webIdentity",
                 {{"tokenFile", (dir / "token").string()},
                  {"roleArn", "arn:aws:iam::123456789012:role/deployer"},
                  {"roleSessionName", "ztp"}}}}}};
  ok("ecs", "DescribeClusters", {{"clusters", {"prod"}}}, web);
  auto calls = fake->calls();
  EXPECT_EQ(calls[calls.size() - 2].operation, "AssumeRoleWithWebIdentity");
  EXPECT_EQ(ok("sts", "GetCallerIdentity", {}, web)["Arn"],
            "arn:aws:sts::123456789012:assumed-role/deployer/ztp");

  json assume = {{"RoleArn", "arn:aws:iam::123456789012:role/deployer"},
                 {"RoleSessionName", "ztp"},
                 {"WebIdentityToken", "eyJ.test-token"},
                 {"DurationSeconds", 900}};
  auto creds = ok("sts", "AssumeRoleWithWebIdentity", assume)["Credentials"];
  EXPECT_EQ(creds["Expiration"], at(seconds(900)));
  json session = {{"credentials",
                   {{"accessKeyId", creds["AccessKeyId"]},
                    {"secretAccessKey", creds["SecretAccessKey"]},
                    {"sessionToken", creds["SessionToken"]}}}};
  ok("ecs", "DescribeClusters", {}, session);
  clock.advance(seconds(900));
  fails("ecs", "DescribeClusters", {}, "ExpiredTokenException", session);
  session["credentials"]["sessionToken"] = "forged";
  fails("ecs", "DescribeClusters", {}, "UnrecognizedClientException", session);
  fails("sts", "GetCallerIdentity", {}, "InvalidClientTokenId", session);
  assume["WebIdentityToken"] = "eyJ.other";
  fails("sts", "AssumeRoleWithWebIdentity", assume, "InvalidIdentityTokenException");
}

TEST_F(AwsFakeSdkTest, SignaturesMustBeScopedToTheServiceAndRegion) {
  start();
  fake->add_cluster("prod");
  json unsigned_request = {{"tamper", {{"dropAuthorization", true}}}};
  fails("ecs", "DescribeClusters", {}, "MissingAuthenticationTokenException", unsigned_request);
  fails("elbv2", "DescribeLoadBalancers", {}, "MissingAuthenticationToken", unsigned_request);
  auto e = fails("ecs", "DescribeClusters", {}, "InvalidSignatureException",
                 {{"tamper", {{"scopeService", "ecr"}}}});
  EXPECT_EQ(e["message"], "Credential should be scoped to correct service: 'ecs'.");
  e = fails("ecs", "DescribeClusters", {}, "InvalidSignatureException", {{"region", "eu-west-1"}});
  EXPECT_EQ(e["message"], "Credential should be scoped to a valid region.");
  fails("elbv2", "DescribeLoadBalancers", {}, "SignatureDoesNotMatch", {{"region", "eu-west-1"}});
  fails("cloudwatch", "PutMetricData", {{"Namespace", "ztp/test"}}, "SignatureDoesNotMatch",
        {{"tamper", {{"scopeService", "ecs"}}}});
  EXPECT_EQ(fake->call_count("ecs", "DescribeClusters"), 3);
}

TEST_F(AwsFakeSdkTest, ThrottlingServerErrorsAndLateConsistencyOnDemand) {
  start();
  fake->add_cluster("prod");
  fake->throttle("ecs", "DescribeClusters", 2);
  auto r = sdk->call("ecs", "DescribeClusters", json::object(), {{"maxAttempts", 3}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  EXPECT_EQ(r["metadata"]["attempts"], 3);
  auto calls = fake->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].error, "ThrottlingException");
  EXPECT_EQ(calls[0].status, 400);
  EXPECT_EQ(calls[2].status, 200);
  fake->throttle("elbv2", "*", 1);
  r = sdk->call("elbv2", "DescribeTargetGroups", json::object(), {{"maxAttempts", 2}});
  EXPECT_EQ(r["metadata"]["attempts"], 2) << r.dump();
  fake->throttle("cloudwatch", "PutMetricData", 1);
  r = sdk->call("cloudwatch", "PutMetricData", {{"Namespace", "ztp/test"}}, {{"maxAttempts", 2}});
  EXPECT_EQ(r["metadata"]["attempts"], 2) << r.dump();
  fake->fail_next("elbv2", "DescribeTargetGroups", 503);
  r = sdk->call("elbv2", "DescribeTargetGroups", json::object(), {{"maxAttempts", 2}});
  EXPECT_EQ(r["metadata"]["attempts"], 2) << r.dump();
  calls_made = static_cast<int>(fake->calls().size());
  fake->throttle("sts", "GetCallerIdentity", 1);
  EXPECT_EQ(fails("sts", "GetCallerIdentity", {}, "Throttling")["httpStatusCode"], 400);
  fake->fail_next("ecs", "DescribeClusters");
  auto e = fails("ecs", "DescribeClusters", {}, "ServerException");
  EXPECT_EQ(e["httpStatusCode"], 500);
  EXPECT_EQ(e["fault"], "server");

  fake->set_consistency_lag(2);
  ok("ecs", "RegisterTaskDefinition", web("registry/web:1"));
  create_service("web", "web", 0);
  json describe = prod({{"services", {"web"}}});
  EXPECT_EQ(ok("ecs", "DescribeServices", describe)["failures"][0]["reason"], "MISSING");
  EXPECT_EQ(ok("ecs", "DescribeServices", describe)["failures"].size(), 1u);
  EXPECT_EQ(ok("ecs", "DescribeServices", describe)["services"][0]["serviceName"], "web");
  auto tg = create_target_group("late");
  fails("elbv2", "DescribeTargetGroups", {{"TargetGroupArns", {tg}}},
        "TargetGroupNotFoundException");
  fails("elbv2", "DescribeTargetGroups", {{"Names", {"late"}}}, "TargetGroupNotFoundException");
  auto found = ok("elbv2", "DescribeTargetGroups", {{"TargetGroupArns", {tg}}});
  EXPECT_EQ(found["TargetGroups"].size(), 1u);
  EXPECT_EQ(static_cast<int>(fake->calls().size()), calls_made);
  for (const auto& c : fake->calls()) {
    EXPECT_EQ(c.time, clock.wall_now()) << c.operation;
  }
}

TEST_F(AwsFakeSdkTest, ScaledClockMovesTheFakeWithoutTheTestSleeping) {
  testing::ScaledClock fast(600.0);
  AwsFakeOptions options;
  options.clock = &fast;
  start(options);
  fake->add_cluster("prod");
  ok("ecs", "RegisterTaskDefinition", web("registry/web:1"));
  create_service("web", "web", 1);
  EXPECT_TRUE(testing::wait_until([&] { return service("web")["runningCount"] == 1; },
                                  std::chrono::seconds(30)));
}

// One operation tried twice: with a request the fake answers, then with one it refuses as the
// exception `refusal` ("fault" for `bad`: a server error from fail_next).
struct Attempt {
  std::string client;
  std::string command;
  json good;
  json bad;
  std::string refusal;
};

// Every operation the fake answers, so that both shapes of each answer go through the SDK's
// deserialisers.
TEST_F(AwsFakeSdkTest, EveryOperationAnswersAndRefusesThroughTheSdk) {
  AwsFakeOptions options;
  options.ecr.registry_url = "http://127.0.0.1:5000";
  options.ecr.password = "secret";
  start(options);
  fake->add_cluster("prod");
  auto lb = fake->add_load_balancer("web");
  auto listener = fake->add_listener(lb, 80);
  std::string td = ok("ecs", "RegisterTaskDefinition",
                      web("registry/web:1"))["taskDefinition"]["taskDefinitionArn"];
  create_service("web", "web", 1);
  clock.advance(seconds(15));
  std::string task = tasks("web")[0]["taskArn"];
  auto tg = create_target_group("web-blue");
  auto spare = create_target_group("spare");
  json forward = {{{"Type", "forward"}, {"TargetGroupArn", tg}}};
  json paths = {{{"Field", "path-pattern"}, {"Values", {"/*"}}}};
  json rule_input = {{"ListenerArn", listener}, {"Conditions", paths}, {"Actions", forward}};
  rule_input["Priority"] = 5;
  std::string rule = ok("elbv2", "CreateRule", rule_input)["Rules"][0]["RuleArn"];
  json next_rule = rule_input;
  next_rule["Priority"] = 6;
  std::string default_rule =
      ok("elbv2", "DescribeRules", {{"ListenerArn", listener}})["Rules"][1]["RuleArn"];
  json service_input = prod({{"serviceName", "api"}, {"taskDefinition", "web"}});
  service_input["networkConfiguration"] = testing::awsvpc_network();
  json metrics = {{"StartTime", {{"$date", 1'800'000'000}}},
                  {"EndTime", {{"$date", 1'800'000'060}}}};
  metrics["MetricDataQueries"] = {{{"Id", "q"},
                                   {"MetricStat",
                                    {{"Metric", {{"Namespace", "ztp/test"}, {"MetricName", "x"}}},
                                     {"Period", 60},
                                     {"Stat", "Average"}}}}};
  json role = {{"RoleArn", "arn:aws:iam::123456789012:role/deployer"}};
  json assume = {{"RoleSessionName", "ztp"}, {"WebIdentityToken", "eyJ.any"}};
  assume.update(role);
  json tags = {{{"key", "a"}, {"value", "b"}}};
  json target = {{{"Id", "10.0.9.1"}}};
  json attribute = {{{"Key", "stickiness.enabled"}, {"Value", "true"}}};
  const std::vector<Attempt> attempts = {
      {"ecs",
       "RegisterTaskDefinition",
       web("registry/web:2"),
       {{"family", "web"}},
       "InvalidParameterException"},
      {"ecs",
       "DescribeTaskDefinition",
       {{"taskDefinition", "web:1"}},
       {{"taskDefinition", "nope"}},
       "ClientException"},
      {"ecs",
       "CreateService",
       service_input,
       {{"serviceName", "x"}, {"cluster", "nope"}},
       "ClusterNotFoundException"},
      {"ecs", "UpdateService", prod({{"service", "web"}, {"desiredCount", 1}}),
       prod({{"service", "nope"}}), "ServiceNotFoundException"},
      {"ecs",
       "DescribeServices",
       prod({{"services", {"web"}}}),
       {{"cluster", "nope"}, {"services", {"web"}}},
       "ClusterNotFoundException"},
      {"ecs", "ListServices", prod({}), {{"cluster", "nope"}}, "ClusterNotFoundException"},
      {"ecs", "ListTasks", prod({}), prod({{"serviceName", "nope"}}), "ServiceNotFoundException"},
      {"ecs", "DescribeTasks", prod({{"tasks", {task}}}), prod({{"tasks", json::array()}}),
       "InvalidParameterException"},
      {"ecs", "UpdateTaskProtection", prod({{"tasks", {task}}, {"protectionEnabled", false}}),
       prod({{"tasks", {task}}, {"protectionEnabled", true}, {"expiresInMinutes", 9999}}),
       "InvalidParameterException"},
      {"ecs", "StopTask", prod({{"task", task}}), prod({{"task", "0123"}}),
       "InvalidParameterException"},
      {"ecs",
       "TagResource",
       {{"resourceArn", td}, {"tags", tags}},
       {{"resourceArn", td + "0"}, {"tags", tags}},
       "ResourceNotFoundException"},
      {"ecs", "DescribeClusters", {{"clusters", {"prod"}}}, "fault", "ServerException"},
      {"ecs", "DeleteService", prod({{"service", "api"}}), prod({{"service", "api"}}),
       "ServiceNotActiveException"},
      {"ecs",
       "DeregisterTaskDefinition",
       {{"taskDefinition", "web:1"}},
       {{"taskDefinition", "web:7"}},
       "ClientException"},
      {"elbv2",
       "CreateTargetGroup",
       {{"Name", "other"}, {"Protocol", "HTTP"}, {"Port", 80}, {"VpcId", "vpc-0a"}},
       {{"Name", std::string(33, 'a')}},
       "ValidationError"},
      {"elbv2",
       "DescribeTargetGroups",
       {{"Names", {"web-blue"}}},
       {{"Names", {"nope"}}},
       "TargetGroupNotFoundException"},
      {"elbv2",
       "ModifyTargetGroup",
       {{"TargetGroupArn", tg}, {"HealthCheckPath", "/up"}},
       {{"TargetGroupArn", tg + "0"}},
       "TargetGroupNotFoundException"},
      {"elbv2",
       "ModifyTargetGroupAttributes",
       {{"TargetGroupArn", tg}, {"Attributes", attribute}},
       {{"TargetGroupArn", tg}, {"Attributes", {{{"Key", "nope"}, {"Value", "1"}}}}},
       "ValidationError"},
      {"elbv2",
       "DescribeTargetGroupAttributes",
       {{"TargetGroupArn", tg}},
       json::object(),
       "ValidationError"},
      {"elbv2",
       "RegisterTargets",
       {{"TargetGroupArn", tg}, {"Targets", target}},
       {{"TargetGroupArn", tg}, {"Targets", {{{"Id", "web-1"}}}}},
       "InvalidTargetException"},
      {"elbv2",
       "DescribeTargetHealth",
       {{"TargetGroupArn", tg}},
       {{"TargetGroupArn", tg + "0"}},
       "TargetGroupNotFoundException"},
      {"elbv2",
       "DeregisterTargets",
       {{"TargetGroupArn", tg}, {"Targets", target}},
       {{"TargetGroupArn", tg + "0"}, {"Targets", target}},
       "TargetGroupNotFoundException"},
      {"elbv2", "CreateRule", next_rule, rule_input, "PriorityInUseException"},
      {"elbv2",
       "ModifyRule",
       {{"RuleArn", rule}, {"Conditions", paths}},
       {{"RuleArn", rule + "0"}},
       "RuleNotFoundException"},
      {"elbv2",
       "DescribeRules",
       {{"ListenerArn", listener}},
       {{"ListenerArn", listener + "0"}},
       "ListenerNotFoundException"},
      {"elbv2",
       "ModifyListener",
       {{"ListenerArn", listener}, {"Port", 8080}},
       {{"ListenerArn", listener + "0"}},
       "ListenerNotFoundException"},
      {"elbv2",
       "DescribeListeners",
       {{"LoadBalancerArn", lb}},
       {{"LoadBalancerArn", lb + "0"}},
       "LoadBalancerNotFoundException"},
      {"elbv2",
       "DescribeLoadBalancers",
       {{"Names", {"web"}}},
       {{"Names", {"nope"}}},
       "LoadBalancerNotFoundException"},
      {"elbv2",
       "DeleteRule",
       {{"RuleArn", rule}},
       {{"RuleArn", default_rule}},
       "OperationNotPermittedException"},
      {"elbv2",
       "DeleteTargetGroup",
       {{"TargetGroupArn", spare}},
       {{"TargetGroupArn", tg}},
       "ResourceInUseException"},
      {"ecr",
       "CreateRepository",
       {{"repositoryName", "ztp/web"}, {"imageTagMutability", "IMMUTABLE"}},
       {{"repositoryName", "ztp/web"}},
       "RepositoryAlreadyExistsException"},
      {"ecr",
       "DescribeRepositories",
       {{"repositoryNames", {"ztp/web"}}},
       {{"repositoryNames", {"nope"}}},
       "RepositoryNotFoundException"},
      {"ecr", "GetAuthorizationToken", json::object(), "fault", "ServerException"},
      {"cloudwatch",
       "GetMetricData",
       metrics,
       {{"StartTime", {{"$date", 1}}}},
       "MissingRequiredParameterException"},
      {"cloudwatch",
       "PutMetricData",
       {{"Namespace", "ztp/test"}, {"MetricData", {{{"MetricName", "x"}, {"Values", {1, 2}}}}}},
       {{"Namespace", "AWS/ECS"}},
       "InvalidParameterValueException"},
      {"sts", "GetCallerIdentity", json::object(), "fault", "InternalFailure"},
      {"sts", "AssumeRoleWithWebIdentity", assume, role, "ValidationError"},
  };
  for (const auto& a : attempts) {
    SCOPED_TRACE(a.client + " " + a.command);
    ok(a.client, a.command, a.good);
    if (a.bad == "fault") {
      fake->fail_next(a.client, a.command);
    }
    fails(a.client, a.command, a.bad == "fault" ? a.good : a.bad, a.refusal);
  }
  std::set<std::string> answered;
  std::set<std::string> refused;
  for (const auto& c : fake->calls()) {
    (c.status == 200 ? answered : refused).insert(c.service + " " + c.operation);
  }
  std::size_t operations = 0;
  for (const auto& [service, ops] : fake->operations()) {
    for (const auto& [op, required] : ops) {
      ++operations;
      EXPECT_TRUE(answered.count(service + " " + op)) << service << " " << op << " never answered";
      EXPECT_TRUE(refused.count(service + " " + op)) << service << " " << op << " never refused";
    }
  }
  EXPECT_EQ(operations, attempts.size());

  // Values of each protocol's types as the SDK parsed them.
  auto group = ok("elbv2", "DescribeTargetGroups", {{"Names", {"web-blue"}}})["TargetGroups"][0];
  EXPECT_EQ(group["Port"], 8080);
  EXPECT_EQ(group["HealthCheckEnabled"], true);
  EXPECT_EQ(group["Matcher"]["HttpCode"], "200");
  auto balancer = ok("elbv2", "DescribeLoadBalancers", {{"Names", {"web"}}})["LoadBalancers"][0];
  EXPECT_EQ(balancer["State"]["Code"], "active");
  EXPECT_EQ(balancer["CreatedTime"], at(seconds(0)));
  auto repo = ok("ecr", "DescribeRepositories", json::object())["repositories"][0];
  EXPECT_EQ(repo["repositoryUri"], "127.0.0.1:5000/ztp/web");
  EXPECT_EQ(repo["imageTagMutability"], "IMMUTABLE");
  EXPECT_EQ(repo["createdAt"], at(seconds(15)));
  auto auth = ok("ecr", "GetAuthorizationToken")["authorizationData"][0];
  EXPECT_EQ(auth["authorizationToken"], "QVdTOnNlY3JldA==");  // base64 of "AWS:secret"
  EXPECT_EQ(auth["proxyEndpoint"], "http://127.0.0.1:5000");
  EXPECT_EQ(auth["expiresAt"], at(seconds(15) + std::chrono::hours(12)));
}

// The fake answers only operations of the botocore models, and asks for exactly the members
// the models require.
TEST(AwsFakeModelTest, OperationsAndRequiredMembersMatchTheModels) {
  testing::AwsFake fake;
  const std::map<std::string, std::string> models = {{"ecs", "ecs/2014-11-13"},
                                                     {"ecr", "ecr/2015-09-21"},
                                                     {"cloudwatch", "cloudwatch/2010-08-01"},
                                                     {"elbv2", "elbv2/2015-12-01"},
                                                     {"sts", "sts/2011-06-15"}};
  for (const auto& [service, ops] : fake.operations()) {
    auto path = testing::vector_path("aws-models/" + models.at(service) + "/service-2.json");
    std::ifstream in(path);
    auto model = json::parse(in, nullptr, false);
    ASSERT_FALSE(model.is_discarded()) << path;
    for (const auto& [op, required] : ops) {
      ASSERT_TRUE(model["operations"].contains(op)) << service << " " << op;
      std::vector<std::string> expected;
      const auto& operation = model["operations"][op];
      if (operation.contains("input")) {
        const auto& shape = model["shapes"][operation["input"]["shape"].get<std::string>()];
        expected = shape.value("required", std::vector<std::string>{});
      }
      std::vector<std::string> got = required;
      std::sort(expected.begin(), expected.end());
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, expected) << service << " " << op;
    }
  }
}

}  // namespace
}  // namespace ztp
