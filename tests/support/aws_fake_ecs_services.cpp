// ECS's CreateService, UpdateService and DeleteService: what they check and the deployments
// they start. The scheduler that carries deployments out is in aws_fake_ecs_scheduler.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "support/aws_fake_ecs.hpp"

namespace ztp::testing {

namespace {

AwsError invalid(std::string message) {
  return AwsError{"InvalidParameterException", std::move(message)};
}

// The deployment configuration a service gets: AWS's defaults under what the request says.
std::variant<nlohmann::json, AwsError> deployment_configuration(nlohmann::json current,
                                                                const nlohmann::json& in) {
  if (current.is_null()) {
    current = {{"maximumPercent", 200},
               {"minimumHealthyPercent", 100},
               {"deploymentCircuitBreaker", {{"enable", false}, {"rollback", false}}}};
  }
  if (!has(in, "deploymentConfiguration")) {
    return current;
  }
  const auto& given = in.at("deploymentConfiguration");
  for (const char* key : {"maximumPercent", "minimumHealthyPercent"}) {
    if (has(given, key)) {
      current[key] = integer(given, key);
    }
  }
  if (has(given, "deploymentCircuitBreaker")) {
    const auto& cb = given.at("deploymentCircuitBreaker");
    current["deploymentCircuitBreaker"] = {{"enable", boolean(cb, "enable")},
                                           {"rollback", boolean(cb, "rollback")}};
  }
  for (const char* key : {"alarms", "strategy", "bakeTimeInMinutes"}) {
    if (has(given, key)) {
      current[key] = given.at(key);
    }
  }
  auto max = current["maximumPercent"].get<std::int64_t>();
  auto min = current["minimumHealthyPercent"].get<std::int64_t>();
  if (max < 100 || max > 2000) {
    return invalid("maximumPercent must be between 100 and 2000.");
  }
  if (min < 0 || min > 100) {
    return invalid("minimumHealthyPercent must be between 0 and 100.");
  }
  return current;
}

// The launch type a request's capacity provider strategy amounts to ("" when it has none).
std::string launch_type_of(const nlohmann::json& strategy) {
  for (const auto& item : strategy) {
    std::string provider = str(item, "capacityProvider");
    if (provider == "FARGATE" || provider == "FARGATE_SPOT") {
      return "FARGATE";
    }
  }
  return strategy.empty() ? "" : "EC2";
}

}  // namespace

EcsFake::Deployment EcsFake::new_deployment(const std::string& task_definition_arn) {
  Deployment d;
  d.id = "ecs-svc/" + m_env.decimal_id(19);
  d.task_definition_arn = task_definition_arn;
  d.created = m_env.now;
  d.updated = m_env.now;
  d.rollout_reason = fmt::format("ECS deployment {} in progress.", d.id);
  return d;
}

void EcsFake::add_event(Service& s, const std::string& message) {
  s.events.push_front(
      {{"id", m_env.uuid()}, {"createdAt", epoch_seconds(m_env.now)}, {"message", message}});
  if (s.events.size() > 100) {
    s.events.pop_back();
  }
}

std::optional<AwsError> EcsFake::check_network(const nlohmann::json& network,
                                               const TaskDefinition& td) const {
  bool awsvpc = str(td.request, "networkMode", "bridge") == "awsvpc";
  if (!awsvpc) {
    if (!network.is_null()) {
      return invalid(
          "Network Configuration is not valid for the given networkMode of this task definition.");
    }
    return std::nullopt;
  }
  if (network.is_null() || !has(network, "awsvpcConfiguration")) {
    return invalid(
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  }
  const auto& vpc = network.at("awsvpcConfiguration");
  if (strings(vpc, "subnets").empty()) {
    return invalid("subnets can not be empty.");
  }
  std::string public_ip = str(vpc, "assignPublicIp", "DISABLED");
  if (public_ip != "ENABLED" && public_ip != "DISABLED") {
    return invalid("assignPublicIp must be ENABLED or DISABLED.");
  }
  return std::nullopt;
}

std::optional<AwsError> EcsFake::check_load_balancers(const nlohmann::json& load_balancers,
                                                      const TaskDefinition& td) const {
  bool awsvpc = str(td.request, "networkMode", "bridge") == "awsvpc";
  for (const auto& lb : load_balancers) {
    std::string tg = str(lb, "targetGroupArn");
    if (tg.empty()) {
      return invalid("targetGroupArn must be specified for an Application Load Balancer.");
    }
    std::string container = str(lb, "containerName");
    auto port = optional_integer(lb, "containerPort");
    if (container.empty() || !port) {
      return invalid("containerName and containerPort must be specified for a load balancer.");
    }
    if (!m_elb.target_group_exists(tg)) {
      return invalid(fmt::format("The target group with targetGroupArn {} does not exist.", tg));
    }
    if (!m_elb.target_group_in_use(tg)) {
      return invalid(fmt::format(
          "The target group with targetGroupArn {} does not have an associated load balancer.",
          tg));
    }
    if (awsvpc && m_elb.target_type(tg) != "ip") {
      return invalid(fmt::format(
          "The provided target group {} has target type {}, which is incompatible with the "
          "awsvpc network mode specified in the task definition.",
          tg, m_elb.target_type(tg)));
    }
    const nlohmann::json* found = nullptr;
    for (const auto& c : td.request.at("containerDefinitions")) {
      if (str(c, "name") == container) {
        found = &c;
      }
    }
    if (found == nullptr) {
      return invalid(
          fmt::format("The container {} does not exist in the task definition.", container));
    }
    bool has_port = false;
    for (const auto& p : list(*found, "portMappings")) {
      has_port = has_port || integer(p, "containerPort") == *port;
    }
    if (!has_port) {
      return invalid(fmt::format("The container {} did not have a container port {} defined.",
                                 container, *port));
    }
  }
  return std::nullopt;
}

AwsAnswer EcsFake::create_service(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  std::string name = str(in, "serviceName");
  if (!std::regex_match(name, std::regex("[A-Za-z0-9_-]{1,255}"))) {
    return invalid("Service name can only contain letters, numbers, hyphens and underscores.");
  }
  auto* existing = find_service(c->arn, name);
  if (existing != nullptr && existing->status != "INACTIVE") {
    return invalid("Creation of service was not idempotent.");
  }
  if (has(in, "launchType") && has(in, "capacityProviderStrategy")) {
    return invalid(
        "Specifying both a launch type and capacity provider strategy is not supported. Remove "
        "one and try again.");
  }
  if (!has(in, "taskDefinition")) {
    return invalid("A task definition must be specified for the ECS deployment controller.");
  }
  auto* td = find_task_definition(str(in, "taskDefinition"));
  if (td == nullptr) {
    return AwsError{"ClientException", "TaskDefinition not found."};
  }
  if (td->status != "ACTIVE") {
    return AwsError{"ClientException", "TaskDefinition is inactive."};
  }
  Deployment d = new_deployment(td->arn);
  auto strategy = list(in, "capacityProviderStrategy");
  d.launch_type =
      has(in, "capacityProviderStrategy") ? launch_type_of(strategy) : str(in, "launchType", "EC2");
  if (has(in, "capacityProviderStrategy")) {
    d.capacity_provider_strategy = strategy;
  }
  static const std::vector<std::string> k_launch_types = {"EC2", "FARGATE", "EXTERNAL",
                                                          "MANAGED_INSTANCES"};
  if (std::find(k_launch_types.begin(), k_launch_types.end(), d.launch_type) ==
      k_launch_types.end()) {
    return invalid(fmt::format("Launch type '{}' is not valid.", d.launch_type));
  }
  if (d.launch_type == "FARGATE" && str(td->request, "networkMode") != "awsvpc") {
    return invalid("Task definition does not support launch_type FARGATE.");
  }
  d.network_configuration = in.value("networkConfiguration", nlohmann::json());
  if (auto e = check_network(d.network_configuration, *td)) {
    return *e;
  }
  d.load_balancers = list(in, "loadBalancers");
  if (auto e = check_load_balancers(d.load_balancers, *td)) {
    return *e;
  }
  auto config = deployment_configuration(nullptr, in);
  if (auto* e = std::get_if<AwsError>(&config)) {
    return *e;
  }
  auto desired = integer(in, "desiredCount", 0);
  if (desired < 0) {
    return invalid("desiredCount can not be negative.");
  }
  if (has(in, "healthCheckGracePeriodSeconds") && d.load_balancers.empty()) {
    return invalid(
        "Health check grace period is only valid for services configured to use load "
        "balancers.");
  }
  Service s;
  s.name = name;
  s.arn =
      fmt::format("arn:aws:ecs:{}:{}:service/{}/{}", m_env.region, m_env.account, c->name, name);
  s.cluster_arn = c->arn;
  s.desired = static_cast<int>(desired);
  s.deployment_configuration = std::get<nlohmann::json>(config);
  if (has(in, "healthCheckGracePeriodSeconds")) {
    s.grace_period = static_cast<int>(integer(in, "healthCheckGracePeriodSeconds"));
  }
  s.tags = list(in, "tags");
  s.created = m_env.now;
  s.hidden = m_env.consistency_lag;
  s.deployments.push_back(d);
  if (existing != nullptr) {
    *existing = s;
  } else {
    m_services.push_back(s);
  }
  return nlohmann::json{{"service", service_json(s, false)}};
}

AwsAnswer EcsFake::update_service(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* s = find_service(std::get<Cluster*>(cluster)->arn, str(in, "service"));
  if (s == nullptr) {
    return AwsError{"ServiceNotFoundException", "Service not found."};
  }
  if (s->status != "ACTIVE") {
    return AwsError{"ServiceNotActiveException", "Service was not ACTIVE."};
  }
  const Deployment& primary = s->deployments.front();
  Deployment d = primary;
  TaskDefinition* td = find_task_definition(primary.task_definition_arn);
  if (has(in, "taskDefinition")) {
    td = find_task_definition(str(in, "taskDefinition"));
    if (td == nullptr) {
      return AwsError{"ClientException", "TaskDefinition not found."};
    }
    if (td->status != "ACTIVE") {
      return AwsError{"ClientException", "TaskDefinition is inactive."};
    }
    d.task_definition_arn = td->arn;
  }
  if (has(in, "capacityProviderStrategy")) {
    d.capacity_provider_strategy = list(in, "capacityProviderStrategy");
    d.launch_type = launch_type_of(d.capacity_provider_strategy);
  }
  if (has(in, "networkConfiguration")) {
    d.network_configuration = in.at("networkConfiguration");
  }
  if (auto e = check_network(d.network_configuration, *td)) {
    return *e;
  }
  if (has(in, "loadBalancers")) {
    d.load_balancers = list(in, "loadBalancers");
  }
  if (auto e = check_load_balancers(d.load_balancers, *td)) {
    return *e;
  }
  auto config = deployment_configuration(s->deployment_configuration, in);
  if (auto* e = std::get_if<AwsError>(&config)) {
    return *e;
  }
  if (has(in, "desiredCount") && integer(in, "desiredCount") < 0) {
    return invalid("desiredCount can not be negative.");
  }
  s->deployment_configuration = std::get<nlohmann::json>(config);
  if (has(in, "desiredCount")) {
    s->desired = static_cast<int>(integer(in, "desiredCount"));
  }
  if (has(in, "healthCheckGracePeriodSeconds")) {
    s->grace_period = static_cast<int>(integer(in, "healthCheckGracePeriodSeconds"));
  }
  bool changed = d.task_definition_arn != primary.task_definition_arn ||
                 d.network_configuration != primary.network_configuration ||
                 d.load_balancers != primary.load_balancers ||
                 d.capacity_provider_strategy != primary.capacity_provider_strategy ||
                 boolean(in, "forceNewDeployment");
  if (changed) {
    Deployment next = new_deployment(d.task_definition_arn);
    next.launch_type = d.launch_type;
    next.capacity_provider_strategy = d.capacity_provider_strategy;
    next.network_configuration = d.network_configuration;
    next.load_balancers = d.load_balancers;
    for (auto& old : s->deployments) {
      old.status = "ACTIVE";
      old.updated = m_env.now;
    }
    s->deployments.insert(s->deployments.begin(), next);
  }
  s->steady = false;
  return nlohmann::json{{"service", service_json(*s, false)}};
}

AwsAnswer EcsFake::delete_service(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* s = find_service(std::get<Cluster*>(cluster)->arn, str(in, "service"));
  if (s == nullptr) {
    return AwsError{"ServiceNotFoundException", "Service not found."};
  }
  if (s->status != "ACTIVE") {
    return AwsError{"ServiceNotActiveException", "Service was not ACTIVE."};
  }
  if (!boolean(in, "force") && s->desired > 0) {
    return invalid("The service cannot be stopped while it is scaled above 0.");
  }
  s->status = "DRAINING";
  s->desired = 0;
  s->steady = false;
  return nlohmann::json{{"service", service_json(*s, false)}};
}

}  // namespace ztp::testing
