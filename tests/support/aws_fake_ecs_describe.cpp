// How ECS describes and lists services and tasks.
#include <fmt/format.h>

#include <algorithm>

#include "support/aws_fake_ecs.hpp"

namespace ztp::testing {

namespace {

AwsError invalid(std::string message) {
  return AwsError{"InvalidParameterException", std::move(message)};
}

// A page of `items` from a request's nextToken and maxResults, with the next token.
std::variant<nlohmann::json, AwsError> page(const nlohmann::json& in,
                                            const std::vector<std::string>& items, const char* key,
                                            std::int64_t fallback) {
  std::size_t from = 0;
  if (has(in, "nextToken")) {
    auto offset = page_offset(str(in, "nextToken"));
    if (!offset) {
      return invalid("The nextToken is not valid.");
    }
    from = *offset;
  }
  auto max = integer(in, "maxResults", fallback);
  if (max < 1 || max > 100) {
    return invalid("maxResults must be between 1 and 100.");
  }
  nlohmann::json out = {{key, nlohmann::json::array()}};
  for (std::size_t i = from; i < items.size() && i < from + static_cast<std::size_t>(max); ++i) {
    out[key].push_back(items[i]);
  }
  if (from + static_cast<std::size_t>(max) < items.size()) {
    out["nextToken"] = page_token(from + static_cast<std::size_t>(max));
  }
  return out;
}

}  // namespace

nlohmann::json EcsFake::deployment_json(const Service& s, const Deployment& d) const {
  int running = 0;
  int pending = 0;
  int live = 0;
  for (const auto& t : m_tasks) {
    if (t.service != s.name || t.cluster_arn != s.cluster_arn || t.deployment_id != d.id) {
      continue;
    }
    running += t.last_status == "RUNNING" ? 1 : 0;
    pending += t.desired_status == "RUNNING" &&
                       (t.last_status == "PROVISIONING" || t.last_status == "PENDING")
                   ? 1
                   : 0;
    live += t.desired_status == "RUNNING" ? 1 : 0;
  }
  nlohmann::json j = {{"id", d.id},
                      {"status", d.status},
                      {"taskDefinition", d.task_definition_arn},
                      {"desiredCount", d.status == "PRIMARY" ? s.desired : live},
                      {"pendingCount", pending},
                      {"runningCount", running},
                      {"failedTasks", d.failed_tasks},
                      {"createdAt", epoch_seconds(d.created)},
                      {"updatedAt", epoch_seconds(d.updated)},
                      {"rolloutState", d.rollout_state},
                      {"rolloutStateReason", d.rollout_reason}};
  if (!d.capacity_provider_strategy.is_null()) {
    j["capacityProviderStrategy"] = d.capacity_provider_strategy;
  } else {
    j["launchType"] = d.launch_type;
  }
  if (d.launch_type == "FARGATE") {
    j["platformVersion"] = "1.4.0";
    j["platformFamily"] = "Linux";
  }
  if (!d.network_configuration.is_null()) {
    j["networkConfiguration"] = d.network_configuration;
  }
  return j;
}

nlohmann::json EcsFake::service_json(const Service& s, bool with_tags) const {
  const Deployment* primary = s.deployments.empty() ? nullptr : &s.deployments.front();
  int running = 0;
  int pending = 0;
  for (const auto& t : m_tasks) {
    if (t.service == s.name && t.cluster_arn == s.cluster_arn) {
      running += t.last_status == "RUNNING" ? 1 : 0;
      pending += t.desired_status == "RUNNING" &&
                         (t.last_status == "PROVISIONING" || t.last_status == "PENDING")
                     ? 1
                     : 0;
    }
  }
  nlohmann::json deployments = nlohmann::json::array();
  for (const auto& d : s.deployments) {
    deployments.push_back(deployment_json(s, d));
  }
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : s.events) {
    events.push_back(e);
  }
  nlohmann::json j = {
      {"serviceArn", s.arn},
      {"serviceName", s.name},
      {"clusterArn", s.cluster_arn},
      {"loadBalancers", primary ? primary->load_balancers : nlohmann::json::array()},
      {"serviceRegistries", nlohmann::json::array()},
      {"status", s.status},
      {"desiredCount", s.desired},
      {"runningCount", running},
      {"pendingCount", pending},
      {"deploymentConfiguration", s.deployment_configuration},
      {"deployments", deployments},
      {"events", events},
      {"createdAt", epoch_seconds(s.created)},
      {"placementConstraints", nlohmann::json::array()},
      {"placementStrategy", nlohmann::json::array()},
      {"schedulingStrategy", "REPLICA"},
      {"deploymentController", {{"type", "ECS"}}},
      {"createdBy", fmt::format("arn:aws:iam::{}:root", m_env.account)},
      {"enableECSManagedTags", false},
      {"propagateTags", "NONE"},
      {"enableExecuteCommand", false}};
  if (primary != nullptr) {
    j["taskDefinition"] = primary->task_definition_arn;
    if (!primary->capacity_provider_strategy.is_null()) {
      j["capacityProviderStrategy"] = primary->capacity_provider_strategy;
    } else {
      j["launchType"] = primary->launch_type;
    }
    if (primary->launch_type == "FARGATE") {
      j["platformVersion"] = "LATEST";
      j["platformFamily"] = "Linux";
    }
    if (!primary->network_configuration.is_null()) {
      j["networkConfiguration"] = primary->network_configuration;
    }
  }
  if (s.grace_period) {
    j["healthCheckGracePeriodSeconds"] = *s.grace_period;
  }
  if (with_tags) {
    j["tags"] = s.tags;
  }
  return j;
}

AwsAnswer EcsFake::describe_services(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  auto names = strings(in, "services");
  if (names.empty() || names.size() > 10) {
    return invalid("services can have at most 10 items and must have at least one.");
  }
  nlohmann::json services = nlohmann::json::array();
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& name : names) {
    auto* s = find_service(c->arn, name);
    if (s != nullptr && s->hidden > 0) {
      --s->hidden;
      s = nullptr;
    }
    if (s == nullptr) {
      failures.push_back({{"arn", fmt::format("arn:aws:ecs:{}:{}:service/{}/{}", m_env.region,
                                              m_env.account, c->name, last_segment(name))},
                          {"reason", "MISSING"}});
      continue;
    }
    services.push_back(service_json(*s, includes(in, "TAGS")));
  }
  return nlohmann::json{{"services", services}, {"failures", failures}};
}

AwsAnswer EcsFake::list_services(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  std::string launch_type = str(in, "launchType");
  std::vector<std::string> arns;
  for (const auto& s : m_services) {
    if (s.cluster_arn != c->arn || s.status == "INACTIVE" ||
        (!launch_type.empty() &&
         (s.deployments.empty() || s.deployments.front().launch_type != launch_type))) {
      continue;
    }
    arns.push_back(s.arn);
  }
  auto out = page(in, arns, "serviceArns", 10);
  if (auto* e = std::get_if<AwsError>(&out)) {
    return *e;
  }
  return std::get<nlohmann::json>(out);
}

AwsAnswer EcsFake::list_tasks(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  std::string service = str(in, "serviceName");
  if (!service.empty() && find_service(c->arn, service) == nullptr) {
    return AwsError{"ServiceNotFoundException", "Service not found."};
  }
  std::string desired = str(in, "desiredStatus", "RUNNING");
  std::string family = str(in, "family");
  std::string started_by = str(in, "startedBy");
  std::string launch_type = str(in, "launchType");
  std::vector<std::string> arns;
  for (const auto& t : m_tasks) {
    if (t.cluster_arn != c->arn || t.desired_status != desired ||
        (!service.empty() && t.service != last_segment(service)) ||
        (!started_by.empty() && t.deployment_id != started_by) ||
        (!launch_type.empty() && t.launch_type != launch_type) ||
        (!family.empty() &&
         t.task_definition_arn.find("task-definition/" + family + ":") == std::string::npos)) {
      continue;
    }
    arns.push_back(t.arn);
  }
  auto out = page(in, arns, "taskArns", 100);
  if (auto* e = std::get_if<AwsError>(&out)) {
    return *e;
  }
  return std::get<nlohmann::json>(out);
}

AwsAnswer EcsFake::describe_tasks(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  auto ids = strings(in, "tasks");
  if (ids.empty() || ids.size() > 100) {
    return invalid("tasks can have at most 100 items and must have at least one.");
  }
  nlohmann::json tasks = nlohmann::json::array();
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& id : ids) {
    auto* t = find_task(c->arn, id);
    if (t == nullptr) {
      failures.push_back({{"arn", id.rfind("arn:", 0) == 0
                                      ? id
                                      : fmt::format("arn:aws:ecs:{}:{}:task/{}/{}", m_env.region,
                                                    m_env.account, c->name, id)},
                          {"reason", "MISSING"}});
      continue;
    }
    tasks.push_back(task_json(*t, includes(in, "TAGS")));
  }
  return nlohmann::json{{"tasks", tasks}, {"failures", failures}};
}

nlohmann::json EcsFake::task_json(const Task& t, bool with_tags) const {
  nlohmann::json containers = nlohmann::json::array();
  for (const auto& c : t.containers) {
    nlohmann::json j = {{"containerArn", c.arn},
                        {"taskArn", t.arn},
                        {"name", c.name},
                        {"image", c.image},
                        {"lastStatus", c.last_status},
                        {"networkBindings", nlohmann::json::array()},
                        {"networkInterfaces", nlohmann::json::array()},
                        {"healthStatus", "UNKNOWN"},
                        {"cpu", "0"}};
    if (c.exit_code) {
      j["exitCode"] = *c.exit_code;
    }
    if (!c.reason.empty()) {
      j["reason"] = c.reason;
    }
    if (t.awsvpc && !t.ip.empty()) {
      j["networkInterfaces"] = {{{"attachmentId", t.attachment_id}, {"privateIpv4Address", t.ip}}};
    }
    if (!t.awsvpc && t.port != 0 && c.essential) {
      j["networkBindings"] = {{{"bindIP", t.ip}, {"hostPort", t.port}, {"protocol", "tcp"}}};
    }
    containers.push_back(j);
  }
  nlohmann::json j = {{"taskArn", t.arn},
                      {"clusterArn", t.cluster_arn},
                      {"taskDefinitionArn", t.task_definition_arn},
                      {"lastStatus", t.last_status},
                      {"desiredStatus", t.desired_status},
                      {"containers", containers},
                      {"createdAt", epoch_seconds(t.created)},
                      {"version", t.version},
                      {"availabilityZone", m_env.region + "a"},
                      {"connectivity", "CONNECTED"},
                      {"connectivityAt", epoch_seconds(t.created)},
                      {"healthStatus", "UNKNOWN"},
                      {"enableExecuteCommand", false},
                      {"attributes", {{{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}}},
                      {"overrides",
                       {{"containerOverrides", nlohmann::json::array()},
                        {"inferenceAcceleratorOverrides", nlohmann::json::array()}}}};
  if (!t.service.empty()) {
    j["group"] = "service:" + t.service;
    j["startedBy"] = t.deployment_id;
  }
  if (!t.capacity_provider.empty()) {
    j["capacityProviderName"] = t.capacity_provider;
  }
  j["launchType"] = t.launch_type;
  if (t.launch_type == "FARGATE") {
    j["platformVersion"] = "1.4.0";
    j["platformFamily"] = "Linux";
    j["ephemeralStorage"] = {{"sizeInGiB", 20}};
  }
  if (!t.cpu.empty()) {
    j["cpu"] = t.cpu;
  }
  if (!t.memory.empty()) {
    j["memory"] = t.memory;
  }
  if (t.awsvpc) {
    std::string status = t.last_status == "STOPPED" ? "DELETED" : "ATTACHED";
    nlohmann::json details = {
        {{"name", "subnetId"}, {"value", "subnet-0fa1e00000000000a"}},
        {{"name", "networkInterfaceId"}, {"value", "eni-" + t.id.substr(0, 17)}}};
    if (!t.ip.empty()) {
      details.push_back({{"name", "privateIPv4Address"}, {"value", t.ip}});
    }
    j["attachments"] = {{{"id", t.attachment_id},
                         {"type", "ElasticNetworkInterface"},
                         {"status", status},
                         {"details", details}}};
  }
  for (auto [key, value] :
       {std::pair{"pullStartedAt", &t.pull_started}, std::pair{"pullStoppedAt", &t.pull_stopped},
        std::pair{"startedAt", &t.started}, std::pair{"stoppingAt", &t.stopping},
        std::pair{"stoppedAt", &t.stopped}, std::pair{"executionStoppedAt", &t.stopped}}) {
    if (*value) {
      j[key] = epoch_seconds(**value);
    }
  }
  if (!t.stop_code.empty()) {
    j["stopCode"] = t.stop_code;
  }
  if (!t.stopped_reason.empty()) {
    j["stoppedReason"] = t.stopped_reason;
  }
  if (with_tags) {
    j["tags"] = t.tags;
  }
  return j;
}

}  // namespace ztp::testing
