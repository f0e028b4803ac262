// ECS's clusters, task definitions and tags. Services and tasks are described in
// aws_fake_ecs_describe.cpp, changed in aws_fake_ecs_services.cpp and scheduled in
// aws_fake_ecs_scheduler.cpp.
#include "support/aws_fake_ecs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace ztp::testing {

namespace {

AwsError invalid(std::string message) {
  return AwsError{"InvalidParameterException", std::move(message)};
}
AwsError client(std::string message) { return AwsError{"ClientException", std::move(message)}; }

// `tags` with `more` merged in by key.
nlohmann::json merge_tags(nlohmann::json tags, const nlohmann::json& more) {
  for (const auto& t : more) {
    auto it = std::find_if(tags.begin(), tags.end(),
                           [&](const auto& x) { return str(x, "key") == str(t, "key"); });
    if (it != tags.end()) {
      *it = t;
    } else {
      tags.push_back(t);
    }
  }
  return tags;
}

}  // namespace

EcsFake::EcsFake(AwsFakeEnv& env, ElbFake& elb, EcsFakeOptions options)
    : m_env(env), m_elb(elb), m_options(options), m_runner(std::make_shared<IdleTaskRunner>()) {}

bool EcsFake::includes(const nlohmann::json& in, const std::string& what) {
  auto v = strings(in, "include");
  return std::find(v.begin(), v.end(), what) != v.end();
}

std::string EcsFake::last_segment(const std::string& s) {
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

const std::map<std::string, std::vector<std::string>>& EcsFake::operations() const {
  static const std::map<std::string, std::vector<std::string>> k_operations = {
      {"CreateService", {"serviceName"}},
      {"DeleteService", {"service"}},
      {"DeregisterTaskDefinition", {"taskDefinition"}},
      {"DescribeClusters", {}},
      {"DescribeServices", {"services"}},
      {"DescribeTaskDefinition", {"taskDefinition"}},
      {"DescribeTasks", {"tasks"}},
      {"ListServices", {}},
      {"ListTasks", {}},
      {"RegisterTaskDefinition", {"family", "containerDefinitions"}},
      {"StopTask", {"task"}},
      {"TagResource", {"resourceArn", "tags"}},
      {"UpdateService", {"service"}},
      {"UpdateTaskProtection", {"cluster", "tasks", "protectionEnabled"}},
  };
  return k_operations;
}

AwsAnswer EcsFake::handle(const std::string& operation, const nlohmann::json& in,
                          const AwsCaller&) {
  using Handler = AwsAnswer (EcsFake::*)(const nlohmann::json&);
  static const std::map<std::string, Handler> k_handlers = {
      {"CreateService", &EcsFake::create_service},
      {"DeleteService", &EcsFake::delete_service},
      {"DeregisterTaskDefinition", &EcsFake::deregister_task_definition},
      {"DescribeClusters", &EcsFake::describe_clusters},
      {"DescribeServices", &EcsFake::describe_services},
      {"DescribeTaskDefinition", &EcsFake::describe_task_definition},
      {"DescribeTasks", &EcsFake::describe_tasks},
      {"ListServices", &EcsFake::list_services},
      {"ListTasks", &EcsFake::list_tasks},
      {"RegisterTaskDefinition", &EcsFake::register_task_definition},
      {"StopTask", &EcsFake::stop_task},
      {"TagResource", &EcsFake::tag_resource},
      {"UpdateService", &EcsFake::update_service},
      {"UpdateTaskProtection", &EcsFake::update_task_protection},
  };
  return (this->*k_handlers.at(operation))(in);
}

std::string EcsFake::add_cluster(const std::string& name) {
  auto& c = m_clusters[name];
  c.name = name;
  c.arn = fmt::format("arn:aws:ecs:{}:{}:cluster/{}", m_env.region, m_env.account, name);
  return c.arn;
}

EcsFake::Cluster* EcsFake::find_cluster(const std::string& name_or_arn) {
  auto it = m_clusters.find(last_segment(name_or_arn));
  if (it == m_clusters.end() ||
      (name_or_arn.rfind("arn:", 0) == 0 && it->second.arn != name_or_arn)) {
    return nullptr;
  }
  return &it->second;
}

std::variant<EcsFake::Cluster*, AwsError> EcsFake::request_cluster(const nlohmann::json& in) {
  auto* c = find_cluster(str(in, "cluster", "default"));
  if (c == nullptr) {
    return AwsError{"ClusterNotFoundException", "Cluster not found."};
  }
  return c;
}

EcsFake::Service* EcsFake::find_service(const std::string& cluster_arn,
                                        const std::string& name_or_arn) {
  std::string name = last_segment(name_or_arn);
  for (auto& s : m_services) {
    if (s.cluster_arn == cluster_arn && s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

EcsFake::Task* EcsFake::find_task(const std::string& cluster_arn, const std::string& id_or_arn) {
  std::string id = last_segment(id_or_arn);
  for (auto& t : m_tasks) {
    if (t.cluster_arn == cluster_arn && t.id == id) {
      return &t;
    }
  }
  return nullptr;
}

EcsFake::TaskDefinition* EcsFake::find_task_definition(const std::string& ref) {
  std::string family_rev = ref;
  if (ref.rfind("arn:", 0) == 0) {
    auto at = ref.find(":task-definition/");
    if (at == std::string::npos) {
      return nullptr;
    }
    family_rev = ref.substr(at + 17);
  }
  auto colon = family_rev.find(':');
  std::string family = family_rev.substr(0, colon);
  TaskDefinition* found = nullptr;
  for (auto& td : m_task_definitions) {
    if (td.family != family) {
      continue;
    }
    if (colon == std::string::npos) {
      if (td.status == "ACTIVE" && (found == nullptr || td.revision > found->revision)) {
        found = &td;
      }
    } else if (std::to_string(td.revision) == family_rev.substr(colon + 1)) {
      found = &td;
    }
  }
  return found;
}

nlohmann::json EcsFake::task_definition_json(const TaskDefinition& td) const {
  nlohmann::json out = td.request;
  out.erase("tags");
  out["taskDefinitionArn"] = td.arn;
  out["family"] = td.family;
  out["revision"] = td.revision;
  out["status"] = td.status;
  out["volumes"] = list(td.request, "volumes");
  out["placementConstraints"] = list(td.request, "placementConstraints");
  out["requiresAttributes"] = nlohmann::json::array();
  out["networkMode"] = str(td.request, "networkMode", "bridge");
  out["compatibilities"] =
      out["networkMode"] == "awsvpc" ? nlohmann::json{"EC2", "FARGATE"} : nlohmann::json{"EC2"};
  out["registeredAt"] = epoch_seconds(td.registered);
  out["registeredBy"] = fmt::format("arn:aws:iam::{}:root", m_env.account);
  if (td.deregistered) {
    out["deregisteredAt"] = epoch_seconds(*td.deregistered);
  }
  return out;
}

AwsAnswer EcsFake::register_task_definition(const nlohmann::json& in) {
  std::string family = str(in, "family");
  if (!std::regex_match(family, std::regex("[A-Za-z0-9_-]{1,255}"))) {
    return client("Family contains invalid characters.");
  }
  auto containers = list(in, "containerDefinitions");
  if (containers.empty()) {
    return client("Container list cannot be empty.");
  }
  std::string network_mode = str(in, "networkMode", "bridge");
  auto compat = strings(in, "requiresCompatibilities");
  bool fargate = std::find(compat.begin(), compat.end(), "FARGATE") != compat.end();
  if (fargate && network_mode != "awsvpc") {
    return client("Fargate only supports network mode 'awsvpc'.");
  }
  if (fargate && (!has(in, "cpu") || !has(in, "memory"))) {
    return client("Fargate requires task definition to have cpu and memory defined.");
  }
  nlohmann::json normalised = nlohmann::json::array();
  for (auto c : containers) {
    if (str(c, "name").empty()) {
      return client("Container.name should not be null or empty.");
    }
    if (str(c, "image").empty()) {
      return client("Container.image should not be null or empty.");
    }
    c["essential"] = boolean(c, "essential", true);
    c["cpu"] = integer(c, "cpu", 0);
    nlohmann::json ports = nlohmann::json::array();
    for (auto p : list(c, "portMappings")) {
      if (!has(p, "hostPort") && network_mode == "awsvpc") {
        p["hostPort"] = p.value("containerPort", 0);
      }
      p["protocol"] = str(p, "protocol", "tcp");
      ports.push_back(p);
    }
    c["portMappings"] = ports;
    for (const char* key : {"environment", "mountPoints", "volumesFrom", "systemControls"}) {
      c[key] = list(c, key);
    }
    normalised.push_back(c);
  }
  TaskDefinition td;
  td.family = family;
  for (const auto& other : m_task_definitions) {
    if (other.family == family) {
      td.revision = std::max(td.revision, other.revision);
    }
  }
  ++td.revision;
  td.arn = fmt::format("arn:aws:ecs:{}:{}:task-definition/{}:{}", m_env.region, m_env.account,
                       family, td.revision);
  td.request = in;
  td.request["containerDefinitions"] = normalised;
  td.registered = m_env.now;
  td.tags = list(in, "tags");
  m_task_definitions.push_back(td);
  return nlohmann::json{{"taskDefinition", task_definition_json(td)}, {"tags", td.tags}};
}

AwsAnswer EcsFake::describe_task_definition(const nlohmann::json& in) {
  auto* td = find_task_definition(str(in, "taskDefinition"));
  if (td == nullptr) {
    return client("Unable to describe task definition.");
  }
  nlohmann::json out = {{"taskDefinition", task_definition_json(*td)}};
  if (includes(in, "TAGS")) {
    out["tags"] = td->tags;
  }
  return out;
}

AwsAnswer EcsFake::deregister_task_definition(const nlohmann::json& in) {
  std::string ref = str(in, "taskDefinition");
  if (ref.find(':') == std::string::npos) {
    return invalid("A task definition revision is required: family:revision or its ARN.");
  }
  auto* td = find_task_definition(ref);
  if (td == nullptr) {
    return client("The specified task definition does not exist.");
  }
  if (td->status == "ACTIVE") {
    td->status = "INACTIVE";
    td->deregistered = m_env.now;
  }
  return nlohmann::json{{"taskDefinition", task_definition_json(*td)}};
}

AwsAnswer EcsFake::describe_clusters(const nlohmann::json& in) {
  auto names = strings(in, "clusters");
  if (names.empty()) {
    names.push_back("default");
  }
  nlohmann::json clusters = nlohmann::json::array();
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& name : names) {
    auto* c = find_cluster(name);
    if (c == nullptr) {
      failures.push_back(
          {{"arn", name.rfind("arn:", 0) == 0 ? name
                                              : fmt::format("arn:aws:ecs:{}:{}:cluster/{}",
                                                            m_env.region, m_env.account, name)},
           {"reason", "MISSING"}});
      continue;
    }
    int running = 0;
    int pending = 0;
    for (const auto& t : m_tasks) {
      running += t.cluster_arn == c->arn && t.last_status == "RUNNING" ? 1 : 0;
      pending +=
          t.cluster_arn == c->arn && (t.last_status == "PROVISIONING" || t.last_status == "PENDING")
              ? 1
              : 0;
    }
    int services = 0;
    for (const auto& s : m_services) {
      services += s.cluster_arn == c->arn && s.status == "ACTIVE" ? 1 : 0;
    }
    nlohmann::json j = {{"clusterArn", c->arn},
                        {"clusterName", c->name},
                        {"status", "ACTIVE"},
                        {"registeredContainerInstancesCount", 0},
                        {"runningTasksCount", running},
                        {"pendingTasksCount", pending},
                        {"activeServicesCount", services},
                        {"statistics", nlohmann::json::array()},
                        {"capacityProviders", {"FARGATE", "FARGATE_SPOT"}},
                        {"defaultCapacityProviderStrategy", nlohmann::json::array()}};
    if (includes(in, "TAGS")) {
      j["tags"] = c->tags;
    }
    if (includes(in, "SETTINGS")) {
      j["settings"] = {{{"name", "containerInsights"}, {"value", "disabled"}}};
    }
    clusters.push_back(j);
  }
  return nlohmann::json{{"clusters", clusters}, {"failures", failures}};
}

AwsAnswer EcsFake::tag_resource(const nlohmann::json& in) {
  std::string arn = str(in, "resourceArn");
  if (arn.rfind("arn:aws:ecs:", 0) != 0) {
    return invalid("The ARN provided is not valid.");
  }
  auto tags = list(in, "tags");
  for (auto& [name, c] : m_clusters) {
    if (c.arn == arn) {
      c.tags = merge_tags(c.tags, tags);
      return nlohmann::json::object();
    }
  }
  for (auto& s : m_services) {
    if (s.arn == arn) {
      s.tags = merge_tags(s.tags, tags);
      return nlohmann::json::object();
    }
  }
  for (auto& t : m_tasks) {
    if (t.arn == arn) {
      t.tags = merge_tags(t.tags, tags);
      return nlohmann::json::object();
    }
  }
  for (auto& td : m_task_definitions) {
    if (td.arn == arn) {
      td.tags = merge_tags(td.tags, tags);
      return nlohmann::json::object();
    }
  }
  return AwsError{"ResourceNotFoundException", "The specified resource could not be found."};
}

}  // namespace ztp::testing
