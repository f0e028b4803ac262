#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_service.hpp"

namespace ztp::testing {

// One health check the load balancer runs against a target.
struct TargetProbeRequest {
  std::string target_group_arn{};
  std::string target_id{};  // an IP address for target type ip
  int port = 0;
  std::string path = "/";
  std::string matcher = "200";  // the HTTP codes counted as healthy
};

// What one health check found. When unhealthy, `reason` is one of the model's
// TargetHealthReasonEnum values.
struct TargetProbeResult {
  bool healthy = true;
  std::string reason = "Target.FailedHealthChecks";
  std::string description = "Health checks failed";
};

// Decides each health check; called under the fake's lock, so it must not call the fake.
using TargetProbe = std::function<TargetProbeResult(const TargetProbeRequest&)>;

// Elastic Load Balancing v2 (awsQuery, API 2015-12-01): load balancers and listeners seeded by
// the test; target groups, their targets and health, listener rules with weighted forwards.
//
// A registered target is `initial` (Elb.RegistrationInProgress until its first check, then
// Elb.InitialHealthChecking), becomes `healthy` after HealthyThresholdCount passing checks in
// a row, one check every HealthCheckIntervalSeconds, and `unhealthy` after
// UnhealthyThresholdCount failures in a row; checks run only while a listener or rule forwards
// to its group (else it reads `unused`, Target.NotInUse). A deregistered target is `draining`
// for deregistration_delay.timeout_seconds (300 unless changed), then gone.
class ElbFake final : public AwsFakeService {
 public:
  explicit ElbFake(AwsFakeEnv& env);

  const std::map<std::string, std::vector<std::string>>& operations() const override;
  AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                   const AwsCaller& caller) override;

  // An active application load balancer named `name`; returns its ARN.
  std::string add_load_balancer(const std::string& name);
  // A listener of `load_balancer_arn` whose default action forwards to `target_group_arn`, or
  // answers a fixed 404 when that is empty; returns its ARN ("" when the load balancer or the
  // target group is unknown).
  std::string add_listener(const std::string& load_balancer_arn, int port,
                           const std::string& protocol, const std::string& target_group_arn);
  // Replaces the health check decision (the default: every check passes).
  void set_probe(TargetProbe probe) { m_probe = std::move(probe); }

  // What the ECS fake asks of its target groups.
  bool target_group_exists(const std::string& arn) const;
  // Whether a listener or a rule forwards to the group (AWS's "associated load balancer").
  bool target_group_in_use(const std::string& arn) const;
  std::string target_type(const std::string& arn) const;
  void register_target(const std::string& arn, const std::string& id, int port);
  void deregister_target(const std::string& arn, const std::string& id, int port);
  // The target's state and reason ("healthy", ""), nullopt once it is gone (or never was).
  std::optional<std::pair<std::string, std::string>> target_health(const std::string& arn,
                                                                   const std::string& id,
                                                                   int port) const;
  // CloudWatch's dimension values: "targetgroup/NAME/ID" and "app/NAME/ID" ("" when unknown).
  std::string target_group_dimension(const std::string& arn) const;
  std::string load_balancer_dimension(const std::string& arn) const;

  // The earliest pending health check or end of draining; advance() runs those due at
  // env.now.
  std::optional<WallTime> next_event() const;
  void advance();

 private:
  struct Target {
    std::string id{};
    int port = 0;
    std::string state = "initial";
    std::string reason = "Elb.RegistrationInProgress";
    std::string description = "Target registration is in progress";
    WallTime next_check{};
    WallTime drain_until{};
    int successes = 0;
    int failures = 0;
  };
  struct TargetGroup {
    std::string arn{};
    std::string name{};
    std::string protocol = "HTTP";
    std::string protocol_version = "HTTP1";
    int port = 80;
    std::string vpc_id{};
    std::string target_type = "instance";
    std::string ip_address_type = "ipv4";
    std::string health_check_protocol = "HTTP";
    std::string health_check_port = "traffic-port";
    bool health_check_enabled = true;
    std::string health_check_path = "/";
    int interval = 30;
    int timeout = 5;
    int healthy_threshold = 5;
    int unhealthy_threshold = 2;
    std::string matcher = "200";
    std::map<std::string, std::string> attributes{};
    nlohmann::json tags = nlohmann::json::array();
    int hidden = 0;
    std::vector<Target> targets{};
  };
  struct LoadBalancer {
    std::string arn{};
    std::string name{};
    std::string id{};
    WallTime created{};
  };
  struct Listener {
    std::string arn{};
    std::string load_balancer_arn{};
    int port = 80;
    std::string protocol = "HTTP";
    std::string default_rule_arn{};
  };
  struct Rule {
    std::string arn{};
    std::string listener_arn{};
    int priority = 0;  // 0 for the default rule
    bool is_default = false;
    nlohmann::json conditions = nlohmann::json::array();
    nlohmann::json actions = nlohmann::json::array();
    int hidden = 0;
  };

  // aws_fake_elbv2.cpp: load balancers, listeners, rules.
  AwsAnswer describe_load_balancers(const nlohmann::json& in);
  AwsAnswer describe_listeners(const nlohmann::json& in);
  AwsAnswer modify_listener(const nlohmann::json& in);
  AwsAnswer describe_rules(const nlohmann::json& in);
  AwsAnswer create_rule(const nlohmann::json& in);
  AwsAnswer modify_rule(const nlohmann::json& in);
  AwsAnswer delete_rule(const nlohmann::json& in);
  // The actions of a request checked and normalised as AWS echoes them, or the error.
  std::variant<nlohmann::json, AwsError> check_actions(const nlohmann::json& actions,
                                                       const std::string& load_balancer_arn);
  nlohmann::json listener_json(const Listener& l) const;
  nlohmann::json rule_json(const Rule& r) const;
  LoadBalancer* find_load_balancer(const std::string& arn);
  Listener* find_listener(const std::string& arn);
  Rule* find_rule(const std::string& arn);
  // The load balancers whose listeners or rules forward to the group.
  std::vector<std::string> load_balancers_of(const std::string& target_group_arn) const;

  // aws_fake_elbv2_targets.cpp: target groups, targets, health.
  AwsAnswer create_target_group(const nlohmann::json& in);
  AwsAnswer describe_target_groups(const nlohmann::json& in);
  AwsAnswer delete_target_group(const nlohmann::json& in);
  AwsAnswer modify_target_group(const nlohmann::json& in);
  AwsAnswer modify_target_group_attributes(const nlohmann::json& in);
  AwsAnswer describe_target_group_attributes(const nlohmann::json& in);
  AwsAnswer register_targets(const nlohmann::json& in);
  AwsAnswer deregister_targets(const nlohmann::json& in);
  AwsAnswer describe_target_health(const nlohmann::json& in);
  // Applies the health check members of a Create/ModifyTargetGroup request, or the error.
  std::optional<AwsError> apply_health_check(TargetGroup& tg, const nlohmann::json& in);
  nlohmann::json target_group_json(const TargetGroup& tg) const;
  nlohmann::json attributes_json(const TargetGroup& tg) const;
  nlohmann::json target_health_json(const TargetGroup& tg, const Target& t) const;
  TargetGroup* find_target_group(const std::string& arn);
  const TargetGroup* find_target_group(const std::string& arn) const;
  void check_target(TargetGroup& tg, Target& t);

  AwsFakeEnv& m_env;
  TargetProbe m_probe;
  std::vector<LoadBalancer> m_load_balancers;
  std::vector<Listener> m_listeners;
  std::vector<Rule> m_rules;
  std::vector<TargetGroup> m_target_groups;
};

}  // namespace ztp::testing
