#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/aws_fake_cloudwatch.hpp"
#include "support/aws_fake_ecr.hpp"
#include "support/aws_fake_ecs.hpp"
#include "support/aws_fake_elbv2.hpp"
#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_sts.hpp"
#include "support/aws_fake_task_runner.hpp"
#include "support/fake_http_server.hpp"
#include "util/clock.hpp"

namespace ztp::testing {

// How an AwsFake starts.
struct AwsFakeOptions {
  std::string region = "us-east-1";
  std::string account = "123456789012";
  // What moves the fake's state: a FakeClock, a ScaledClock, or (nullptr) the machine's clock.
  // Not owned; it outlives the fake.
  Clock* clock = nullptr;
  EcsFakeOptions ecs{};
  // How long after its minute a metric sample becomes visible to GetMetricData.
  std::chrono::milliseconds metrics_delay{std::chrono::seconds(60)};
  EcrFakeOptions ecr{};
  StsFakeOptions sts{};
};

// One call the fake answered.
struct AwsCallRecord {
  std::string service{};  // "ecs", "elbv2", "ecr", "cloudwatch", "sts"
  std::string operation{};
  WallTime time{};  // the fake's time
  int status = 200;
  std::string error{};  // the error code, "" on success
  std::string request_id{};
};

// A stateful fake of the AWS APIs the ECS target uses, on one HTTP/1.1 port of 127.0.0.1:
// ECS, ECR and CloudWatch (JSON protocols, dispatched by X-Amz-Target), ELBv2 and STS
// (awsQuery, dispatched by Action and Version). Point an SDK's endpoint at endpoint().
//
// Each request must carry a SigV4 Authorization header whose credential scope names the
// fake's region and the service's signing name (ecs, ecr, monitoring, elasticloadbalancing,
// sts); the signature itself is not verified. Session keys ("ASIA...") must be ones the STS
// fake issued, with their session token, before they expire. Errors come in each protocol's
// envelope with AWS's codes and statuses, and every answer carries a request id.
//
// State moves with the clock: each request, and each call below, first brings the services up
// to the clock's time (tasks starting and stopping, health checks, draining). The TaskRunner
// and TargetProbe hooks run under the fake's lock and must not call it.
class AwsFake {
 public:
  explicit AwsFake(AwsFakeOptions options = {});
  ~AwsFake();
  AwsFake(const AwsFake&) = delete;
  AwsFake& operator=(const AwsFake&) = delete;

  // "http://127.0.0.1:PORT", for every service.
  std::string endpoint() const;
  const std::string& region() const { return m_env.region; }
  const std::string& account() const { return m_env.account; }

  // Seeds what the ECS target expects to exist; each returns the new resource's ARN.
  std::string add_cluster(const std::string& name);
  std::string add_load_balancer(const std::string& name);
  // A listener forwarding to `target_group_arn` by default (a fixed 404 when empty); "" when
  // the load balancer or target group is unknown.
  std::string add_listener(const std::string& load_balancer_arn, int port,
                           const std::string& target_group_arn = "",
                           const std::string& protocol = "HTTP");

  // Hooks: what tasks do, and what health checks find. The default probe passes for a target
  // with no task behind it and, for a task's target, while the task is RUNNING.
  void set_task_runner(std::shared_ptr<TaskRunner> runner);
  void set_target_probe(TargetProbe probe);
  // The essential container of a running task exited (see EcsFake::exit_task).
  bool exit_task(const std::string& task_arn, int exit_code, const std::string& reason);

  // One request through a load balancer to a target group, at the clock's time (see
  // CloudWatchFake::record_alb_request); ARNs as ELBv2 gave them.
  void record_alb_request(const std::string& load_balancer_arn, const std::string& target_group_arn,
                          int status, double response_seconds, bool elb_error = false);
  // One sample of any metric at the clock's time.
  void record_metric(const std::string& name_space, const std::string& metric,
                     const MetricDimensions& dimensions, double value);

  // Faults. The next `count` calls of `operation` ("*": any) of `service` are throttled
  // (ThrottlingException / Throttling, 400).
  void throttle(const std::string& service, const std::string& operation, int count);
  // The next call of `operation` answers a server error: 500 (ServerException, InternalFailure,
  // ...) or 503 (ServiceUnavailable).
  void fail_next(const std::string& service, const std::string& operation, int status = 500);
  // Services, target groups and rules created from now on are missing from the next `count`
  // Describe* calls that would show them.
  void set_consistency_lag(int count);

  // Brings the state up to the clock's time.
  void sync();
  // Every call answered so far, in order.
  std::vector<AwsCallRecord> calls() const;
  // How many calls of `service` (and `operation`, unless empty) were answered.
  int call_count(const std::string& service, const std::string& operation = "") const;
  // Every operation answered, by service, with the input members it requires.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> operations() const;

 private:
  struct Route;
  FakeResponse serve(const FakeRequest& request);
  void sync_locked();

  AwsFakeOptions m_options;
  Clock& m_clock;
  mutable std::mutex m_mu;
  AwsFakeEnv m_env;
  ElbFake m_elb;
  EcsFake m_ecs;
  EcrFake m_ecr;
  CloudWatchFake m_cloudwatch;
  StsFake m_sts;
  std::map<std::string, int> m_throttled;  // "service/operation" -> calls left
  std::map<std::string, int> m_failing;    // "service/operation" -> status
  std::vector<AwsCallRecord> m_calls;
  // Last: its connection threads call serve() until it stops.
  FakeHttpServer m_server;
};

}  // namespace ztp::testing
