#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "support/aws_fake_elbv2.hpp"
#include "support/aws_fake_protocol.hpp"
#include "support/aws_fake_service.hpp"
#include "support/aws_fake_task_runner.hpp"

namespace ztp::testing {

// How long the ECS fake's tasks take, in the fake's time.
struct EcsFakeOptions {
  std::chrono::milliseconds provisioning{std::chrono::seconds(5)};  // PROVISIONING -> PENDING
  std::chrono::milliseconds pending{std::chrono::seconds(10)};      // PENDING -> RUNNING (the pull)
  std::chrono::milliseconds stopping{std::chrono::seconds(5)};      // STOPPING -> STOPPED
  // After a task of a service failed, how long its scheduler waits before launching another.
  std::chrono::milliseconds launch_backoff{std::chrono::seconds(10)};
};

// Amazon ECS (awsJson1_1): clusters seeded by the test, task definitions, services with the
// rolling-update scheduler, and tasks.
//
// Tasks go PROVISIONING -> PENDING -> RUNNING (EcsFakeOptions' delays; the TaskRunner decides
// at the end of PENDING whether the task runs, and where it serves), and stop through
// DEACTIVATING (while their load balancer targets drain) -> STOPPING -> STOPPED, with
// stopCode, stoppedReason and the containers' exitCode and reason. The scheduler keeps each
// service at its desiredCount: a new deployment (task definition, network or load balancers
// changed, or forceNewDeployment) starts tasks up to maximumPercent and stops the older ones
// while minimumHealthyPercent of desiredCount stay healthy; a task is healthy when RUNNING and
// healthy in each of its target groups. Tasks under scale-in protection are never stopped by
// the scheduler. A task unhealthy in a target group after healthCheckGracePeriodSeconds is
// replaced. With the deployment circuit breaker, failedTasks reaching max(3, min(200,
// ceil(desiredCount / 2))) fails the deployment and, with rollback, returns to the last
// deployment that completed. A deleted service is DRAINING until its tasks stopped, then
// INACTIVE.
class EcsFake final : public AwsFakeService {
 public:
  EcsFake(AwsFakeEnv& env, ElbFake& elb, EcsFakeOptions options);

  const std::map<std::string, std::vector<std::string>>& operations() const override;
  AwsAnswer handle(const std::string& operation, const nlohmann::json& input,
                   const AwsCaller& caller) override;

  // An ACTIVE cluster named `name`; returns its ARN.
  std::string add_cluster(const std::string& name);
  // Replaces the runner that starts and stops tasks from now on (the default: IdleTaskRunner).
  void set_runner(std::shared_ptr<TaskRunner> runner) { m_runner = std::move(runner); }
  // The lastStatus of the task serving at ip:port (not STOPPED), or nullopt.
  std::optional<std::string> task_status_at(const std::string& ip, int port) const;
  // Stops a task whose essential container exited (what a runner reports when what it started
  // dies). False when no such task is running.
  bool exit_task(const std::string& task_arn, int exit_code, const std::string& reason);

  // The earliest timed task transition, or a launch held back by launch_backoff.
  std::optional<WallTime> next_event() const;
  // Runs the task transitions due at env.now.
  void advance();
  // Runs every service's scheduler once at env.now (starts, stops, deployment states).
  void schedule();

 private:
  struct Container {
    std::string arn{};
    std::string name{};
    std::string image{};
    bool essential = true;
    std::string last_status = "PENDING";
    std::optional<int> exit_code{};
    std::string reason{};
  };
  struct Task {
    std::string id{};
    std::string arn{};
    std::string cluster_arn{};
    std::string service{};
    std::string deployment_id{};
    std::string task_definition_arn{};
    std::string launch_type{};
    std::string capacity_provider{};
    std::string last_status = "PROVISIONING";
    std::string desired_status = "RUNNING";
    WallTime due{};  // when the current timed transition happens
    WallTime created{};
    std::optional<WallTime> pull_started{}, pull_stopped{}, started{}, stopping{}, stopped{};
    std::string stop_code{};
    std::string stopped_reason{};
    std::vector<Container> containers{};
    std::string ip{};
    int port = 0;
    std::string attachment_id{};
    bool awsvpc = false;
    std::vector<std::string> target_groups{};  // where it is registered
    bool runner_started = false;
    bool protection = false;
    WallTime protection_expires{};
    int version = 1;
    std::string cpu{};
    std::string memory{};
    nlohmann::json tags = nlohmann::json::array();
  };
  struct Deployment {
    std::string id{};
    std::string status = "PRIMARY";
    std::string task_definition_arn{};
    std::string launch_type{};
    nlohmann::json capacity_provider_strategy{};  // null when the launch type is used
    nlohmann::json network_configuration{};
    nlohmann::json load_balancers = nlohmann::json::array();
    int failed_tasks = 0;
    WallTime created{};
    WallTime updated{};
    std::string rollout_state = "IN_PROGRESS";
    std::string rollout_reason = "ECS deployment ecs-svc in progress.";
  };
  struct Service {
    std::string name{};
    std::string arn{};
    std::string cluster_arn{};
    std::string status = "ACTIVE";
    int desired = 0;
    nlohmann::json deployment_configuration{};
    std::optional<int> grace_period{};
    nlohmann::json tags = nlohmann::json::array();
    WallTime created{};
    std::vector<Deployment> deployments{};  // the PRIMARY first
    std::optional<Deployment> last_completed{};
    std::deque<nlohmann::json> events{};  // newest first
    int hidden = 0;
    bool steady = false;
    WallTime launch_after{};
  };
  struct Cluster {
    std::string name{};
    std::string arn{};
    nlohmann::json tags = nlohmann::json::array();
  };
  struct TaskDefinition {
    std::string family{};
    int revision = 0;
    std::string arn{};
    std::string status = "ACTIVE";
    nlohmann::json request = nlohmann::json::object();
    WallTime registered{};
    std::optional<WallTime> deregistered{};
    nlohmann::json tags = nlohmann::json::array();
  };

  // Whether the request's `include` list names `what` ("TAGS").
  static bool includes(const nlohmann::json& in, const std::string& what);
  // The last segment of a name or ARN ("arn:...:service/cluster/web" -> "web").
  static std::string last_segment(const std::string& s);

  // aws_fake_ecs.cpp: clusters, task definitions, tags.
  AwsAnswer register_task_definition(const nlohmann::json& in);
  AwsAnswer describe_task_definition(const nlohmann::json& in);
  AwsAnswer deregister_task_definition(const nlohmann::json& in);
  AwsAnswer describe_clusters(const nlohmann::json& in);
  AwsAnswer tag_resource(const nlohmann::json& in);
  // aws_fake_ecs_describe.cpp: describing and listing services and tasks.
  AwsAnswer describe_services(const nlohmann::json& in);
  AwsAnswer list_services(const nlohmann::json& in);
  AwsAnswer list_tasks(const nlohmann::json& in);
  AwsAnswer describe_tasks(const nlohmann::json& in);
  Cluster* find_cluster(const std::string& name_or_arn);
  // The cluster a request names ("default" when it names none), or ClusterNotFoundException.
  std::variant<Cluster*, AwsError> request_cluster(const nlohmann::json& in);
  Service* find_service(const std::string& cluster_arn, const std::string& name_or_arn);
  Task* find_task(const std::string& cluster_arn, const std::string& id_or_arn);
  // "family" (its latest ACTIVE revision), "family:revision" or an ARN.
  TaskDefinition* find_task_definition(const std::string& ref);
  nlohmann::json task_definition_json(const TaskDefinition& td) const;
  nlohmann::json service_json(const Service& s, bool with_tags) const;
  nlohmann::json deployment_json(const Service& s, const Deployment& d) const;
  nlohmann::json task_json(const Task& t, bool with_tags) const;

  // aws_fake_ecs_services.cpp: creating, changing and deleting services.
  AwsAnswer create_service(const nlohmann::json& in);
  AwsAnswer update_service(const nlohmann::json& in);
  AwsAnswer delete_service(const nlohmann::json& in);
  // The load balancers of a request checked against the task definition and ELB.
  std::optional<AwsError> check_load_balancers(const nlohmann::json& load_balancers,
                                               const TaskDefinition& td) const;
  std::optional<AwsError> check_network(const nlohmann::json& in, const TaskDefinition& td) const;
  Deployment new_deployment(const std::string& task_definition_arn);
  void add_event(Service& s, const std::string& message);

  // aws_fake_ecs_scheduler.cpp: the task lifecycle and the service scheduler.
  AwsAnswer stop_task(const nlohmann::json& in);
  AwsAnswer update_task_protection(const nlohmann::json& in);
  void launch(Service& s, const Deployment& d);
  void start_running(Task& t);
  void begin_stop(Task& t, const std::string& stop_code, const std::string& reason);
  void schedule_service(Service& s);
  void check_circuit_breaker(Service& s);
  bool healthy(const Task& t) const;
  bool is_protected(const Task& t) const;
  FakeEcsTask runner_view(const Task& t) const;
  Deployment* find_deployment(Service& s, const std::string& id);
  std::vector<Task*> live_tasks(const Service& s, const std::string& deployment_id);

  AwsFakeEnv& m_env;
  ElbFake& m_elb;
  EcsFakeOptions m_options;
  std::shared_ptr<TaskRunner> m_runner;
  std::map<std::string, Cluster> m_clusters;  // by name
  std::vector<TaskDefinition> m_task_definitions;
  // Deques: a new element leaves references to the others valid.
  std::deque<Service> m_services;
  std::deque<Task> m_tasks;
  int m_next_ip = 0;
};

}  // namespace ztp::testing
