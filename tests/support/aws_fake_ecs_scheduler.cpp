// ECS's task lifecycle and service scheduler (see EcsFake), and the operations that act on
// running tasks: StopTask and UpdateTaskProtection.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "support/aws_fake_ecs.hpp"

namespace ztp::testing {

namespace {

bool starting(const std::string& status) { return status == "PROVISIONING" || status == "PENDING"; }

std::string cluster_name(const std::string& cluster_arn) {
  return cluster_arn.substr(cluster_arn.rfind('/') + 1);
}

std::string task_list(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    out += (out.empty() ? "" : " ") + fmt::format("(task {})", id);
  }
  return out;
}

}  // namespace

EcsFake::Deployment* EcsFake::find_deployment(Service& s, const std::string& id) {
  for (auto& d : s.deployments) {
    if (d.id == id) {
      return &d;
    }
  }
  return nullptr;
}

std::vector<EcsFake::Task*> EcsFake::live_tasks(const Service& s,
                                                const std::string& deployment_id) {
  std::vector<Task*> out;
  for (auto& t : m_tasks) {
    if (t.service == s.name && t.cluster_arn == s.cluster_arn && t.desired_status == "RUNNING" &&
        (deployment_id.empty() || t.deployment_id == deployment_id)) {
      out.push_back(&t);
    }
  }
  return out;
}

bool EcsFake::is_protected(const Task& t) const {
  return t.protection && t.protection_expires > m_env.now;
}

bool EcsFake::healthy(const Task& t) const {
  if (t.last_status != "RUNNING") {
    return false;
  }
  for (const auto& tg : t.target_groups) {
    auto health = m_elb.target_health(tg, t.ip, t.port);
    if (!health || health->first != "healthy") {
      return false;
    }
  }
  return true;
}

FakeEcsTask EcsFake::runner_view(const Task& t) const {
  FakeEcsTask view;
  view.task_arn = t.arn;
  view.cluster_arn = t.cluster_arn;
  view.service_name = t.service;
  view.task_definition_arn = t.task_definition_arn;
  for (const auto& td : m_task_definitions) {
    if (td.arn == t.task_definition_arn) {
      view.container_definitions = td.request.at("containerDefinitions");
    }
  }
  return view;
}

std::optional<std::string> EcsFake::task_status_at(const std::string& ip, int port) const {
  for (const auto& t : m_tasks) {
    if (t.ip == ip && t.port == port && t.last_status != "STOPPED") {
      return t.last_status;
    }
  }
  return std::nullopt;
}

void EcsFake::launch(Service& s, const Deployment& d) {
  const TaskDefinition* td = find_task_definition(d.task_definition_arn);
  Task t;
  t.id = m_env.hex_id(32);
  t.arn = fmt::format("arn:aws:ecs:{}:{}:task/{}/{}", m_env.region, m_env.account,
                      cluster_name(s.cluster_arn), t.id);
  t.cluster_arn = s.cluster_arn;
  t.service = s.name;
  t.deployment_id = d.id;
  t.task_definition_arn = d.task_definition_arn;
  t.launch_type = d.launch_type;
  if (!d.capacity_provider_strategy.empty()) {
    t.capacity_provider = str(d.capacity_provider_strategy[0], "capacityProvider");
  }
  t.created = m_env.now;
  t.due = m_env.now + m_options.provisioning;
  t.awsvpc = str(td->request, "networkMode") == "awsvpc";
  t.attachment_id = m_env.uuid();
  t.ip = fmt::format("10.0.{}.{}", m_next_ip / 250, m_next_ip % 250 + 4);
  ++m_next_ip;
  t.cpu = str(td->request, "cpu");
  t.memory = str(td->request, "memory");
  for (const auto& c : td->request.at("containerDefinitions")) {
    Container container;
    container.arn = fmt::format("arn:aws:ecs:{}:{}:container/{}/{}/{}", m_env.region, m_env.account,
                                cluster_name(s.cluster_arn), t.id, m_env.uuid());
    container.name = str(c, "name");
    container.image = str(c, "image");
    container.essential = boolean(c, "essential", true);
    t.containers.push_back(container);
  }
  m_tasks.push_back(t);
}

void EcsFake::start_running(Task& t) {
  t.pull_stopped = m_env.now;
  ++t.version;
  TaskStartResult result = m_runner->start(runner_view(t));
  Service* s = nullptr;
  for (auto& candidate : m_services) {
    if (candidate.name == t.service && candidate.cluster_arn == t.cluster_arn) {
      s = &candidate;
    }
  }
  Deployment* d = s == nullptr ? nullptr : find_deployment(*s, t.deployment_id);
  if (!result.started) {
    if (d != nullptr) {
      ++d->failed_tasks;
      d->updated = m_env.now;
    }
    if (s != nullptr) {
      s->launch_after = m_env.now + m_options.launch_backoff;
    }
    if (result.exit_code) {
      t.started = m_env.now;
      for (auto& c : t.containers) {
        c.last_status = "STOPPED";
        c.exit_code = c.essential ? *result.exit_code : 0;
        c.reason = c.essential ? result.reason : "";
      }
      begin_stop(t, "EssentialContainerExited", "Essential container in task exited");
      return;
    }
    for (auto& c : t.containers) {
      c.last_status = "STOPPED";
      c.reason = result.reason;
    }
    t.desired_status = "STOPPED";
    t.last_status = "STOPPED";
    t.stopping = m_env.now;
    t.stopped = m_env.now;
    t.stop_code = "TaskFailedToStart";
    t.stopped_reason = result.reason;
    return;
  }
  t.runner_started = true;
  t.last_status = "RUNNING";
  t.started = m_env.now;
  for (auto& c : t.containers) {
    c.last_status = "RUNNING";
  }
  if (!result.host.empty()) {
    t.ip = result.host;
  }
  t.port = result.port;
  if (t.port == 0 && d != nullptr && !d->load_balancers.empty()) {
    t.port = static_cast<int>(integer(d->load_balancers[0], "containerPort"));
  }
  if (t.port == 0) {
    auto view = runner_view(t);
    if (!view.container_definitions.empty()) {
      auto ports = list(view.container_definitions[0], "portMappings");
      t.port = ports.empty() ? 0 : static_cast<int>(integer(ports[0], "containerPort"));
    }
  }
  if (d == nullptr) {
    return;
  }
  for (const auto& lb : d->load_balancers) {
    std::string tg = str(lb, "targetGroupArn");
    m_elb.register_target(tg, t.ip, t.port);
    t.target_groups.push_back(tg);
    add_event(*s,
              fmt::format("(service {}) registered 1 targets in (target-group {})", s->name, tg));
  }
}

void EcsFake::begin_stop(Task& t, const std::string& stop_code, const std::string& reason) {
  if (t.desired_status == "STOPPED" && t.stopping) {
    return;
  }
  t.desired_status = "STOPPED";
  t.stop_code = stop_code;
  t.stopped_reason = reason;
  t.stopping = m_env.now;
  ++t.version;
  if (t.runner_started) {
    t.runner_started = false;
    m_runner->stop(runner_view(t));
  }
  if (t.target_groups.empty()) {
    t.last_status = "STOPPING";
    t.due = m_env.now + m_options.stopping;
    return;
  }
  Service* s = find_service(t.cluster_arn, t.service);
  for (const auto& tg : t.target_groups) {
    m_elb.deregister_target(tg, t.ip, t.port);
    if (s != nullptr) {
      add_event(
          *s, fmt::format("(service {}) deregistered 1 targets in (target-group {})", s->name, tg));
    }
  }
  if (s != nullptr) {
    add_event(*s, fmt::format("(service {}) has begun draining connections on 1 tasks.", s->name));
  }
  t.last_status = "DEACTIVATING";
}

bool EcsFake::exit_task(const std::string& task_arn, int exit_code, const std::string& reason) {
  for (auto& t : m_tasks) {
    if (t.arn != task_arn || t.last_status != "RUNNING" || t.desired_status != "RUNNING") {
      continue;
    }
    for (auto& c : t.containers) {
      c.last_status = "STOPPED";
      c.exit_code = c.essential ? exit_code : 0;
      c.reason = c.essential ? reason : "";
    }
    t.runner_started = false;
    begin_stop(t, "EssentialContainerExited", "Essential container in task exited");
    if (auto* s = find_service(t.cluster_arn, t.service)) {
      if (auto* d = find_deployment(*s, t.deployment_id)) {
        ++d->failed_tasks;
      }
    }
    return true;
  }
  return false;
}

std::optional<WallTime> EcsFake::next_event() const {
  std::optional<WallTime> next;
  auto consider = [&](WallTime t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  for (const auto& t : m_tasks) {
    if (starting(t.last_status) || t.last_status == "STOPPING") {
      consider(t.due);
    }
    if (t.desired_status == "RUNNING" && t.protection && t.protection_expires > m_env.now) {
      consider(t.protection_expires);
    }
  }
  for (const auto& s : m_services) {
    if (s.launch_after > m_env.now) {
      consider(s.launch_after);
    }
    if (s.grace_period) {
      for (const auto& t : m_tasks) {
        if (t.service == s.name && t.started && t.desired_status == "RUNNING" &&
            *t.started + std::chrono::seconds(*s.grace_period) > m_env.now) {
          consider(*t.started + std::chrono::seconds(*s.grace_period));
        }
      }
    }
  }
  return next;
}

void EcsFake::advance() {
  for (auto& t : m_tasks) {
    if (t.last_status == "PROVISIONING" && t.due <= m_env.now) {
      t.last_status = "PENDING";
      t.pull_started = m_env.now;
      t.due = m_env.now + m_options.pending;
      ++t.version;
    } else if (t.last_status == "PENDING" && t.due <= m_env.now) {
      start_running(t);
    } else if (t.last_status == "DEACTIVATING") {
      bool drained = std::none_of(t.target_groups.begin(), t.target_groups.end(), [&](auto& tg) {
        return m_elb.target_health(tg, t.ip, t.port).has_value();
      });
      if (drained) {
        t.target_groups.clear();
        t.last_status = "STOPPING";
        t.due = m_env.now + m_options.stopping;
        ++t.version;
      }
    } else if (t.last_status == "STOPPING" && t.due <= m_env.now) {
      t.last_status = "STOPPED";
      t.stopped = m_env.now;
      ++t.version;
      for (auto& c : t.containers) {
        if (c.last_status == "RUNNING" && !c.exit_code) {
          c.exit_code = 0;
        }
        c.last_status = "STOPPED";
      }
    }
  }
}

void EcsFake::schedule() {
  for (auto& s : m_services) {
    schedule_service(s);
  }
}

void EcsFake::check_circuit_breaker(Service& s) {
  auto& primary = s.deployments.front();
  const auto& cb =
      s.deployment_configuration.value("deploymentCircuitBreaker", nlohmann::json::object());
  if (!boolean(cb, "enable") || primary.rollout_state != "IN_PROGRESS") {
    return;
  }
  int threshold = std::max(3, std::min(200, static_cast<int>(std::ceil(s.desired / 2.0))));
  if (primary.failed_tasks < threshold) {
    return;
  }
  primary.rollout_state = "FAILED";
  primary.rollout_reason = "ECS deployment circuit breaker: tasks failed to start.";
  primary.updated = m_env.now;
  add_event(s, fmt::format("(service {}) (deployment {}) deployment failed: tasks failed to start.",
                           s.name, primary.id));
  if (!boolean(cb, "rollback") || !s.last_completed) {
    return;
  }
  Deployment back = new_deployment(s.last_completed->task_definition_arn);
  back.launch_type = s.last_completed->launch_type;
  back.capacity_provider_strategy = s.last_completed->capacity_provider_strategy;
  back.network_configuration = s.last_completed->network_configuration;
  back.load_balancers = s.last_completed->load_balancers;
  back.rollout_reason = fmt::format(
      "ECS deployment circuit breaker: rolling back to deploymentId {}.", s.last_completed->id);
  for (auto& d : s.deployments) {
    d.status = "ACTIVE";
  }
  s.deployments.insert(s.deployments.begin(), back);
  s.launch_after = m_env.now;
  s.steady = false;
  add_event(
      s, fmt::format("(service {}) rolling back to deployment {}.", s.name, s.last_completed->id));
}

void EcsFake::schedule_service(Service& s) {
  if (s.status == "INACTIVE" || s.deployments.empty()) {
    return;
  }
  for (auto* t : live_tasks(s, "")) {
    auto grace_end =
        t->started.value_or(m_env.now) + std::chrono::seconds(s.grace_period.value_or(0));
    for (const auto& tg : t->target_groups) {
      auto health = m_elb.target_health(tg, t->ip, t->port);
      if (!health || health->first != "unhealthy" || m_env.now < grace_end) {
        continue;
      }
      add_event(s, fmt::format("(service {}) (task {}) is unhealthy in (target-group {}) due to "
                               "(reason {}).",
                               s.name, t->id, tg, health->second));
      if (auto* d = find_deployment(s, t->deployment_id)) {
        ++d->failed_tasks;
      }
      begin_stop(*t, "ServiceSchedulerInitiated",
                 fmt::format("Task failed ELB health checks in (target-group {})", tg));
      break;
    }
  }
  check_circuit_breaker(s);
  const auto& cfg = s.deployment_configuration;
  int desired = s.status == "ACTIVE" ? s.desired : 0;
  auto max_total = static_cast<std::size_t>(desired * integer(cfg, "maximumPercent", 200) / 100);
  auto min_healthy = static_cast<std::size_t>(
      std::ceil(desired * static_cast<double>(integer(cfg, "minimumHealthyPercent", 100)) / 100));
  auto& primary = s.deployments.front();
  bool can_launch =
      s.status == "ACTIVE" && m_env.now >= s.launch_after && primary.rollout_state != "FAILED";
  bool draining = s.status != "ACTIVE";
  // A deployment that failed without a rollback stops where it is: older tasks keep running.
  bool replacing = draining || primary.rollout_state != "FAILED";
  std::string reason = fmt::format("Scaling activity initiated by (deployment {})", primary.id);
  std::vector<std::string> started;
  std::vector<std::string> stopped;
  auto stoppable = [&](std::vector<Task*> tasks) {
    std::erase_if(tasks, [&](Task* t) { return !draining && is_protected(*t); });
    // The unhealthy first, then the newest.
    std::stable_sort(tasks.begin(), tasks.end(), [&](Task* a, Task* b) {
      return std::make_pair(healthy(*a), b->created) < std::make_pair(healthy(*b), a->created);
    });
    return tasks;
  };
  for (int guard = 0; guard < 10000; ++guard) {
    auto primary_live = live_tasks(s, primary.id);
    auto all_live = live_tasks(s, "");
    auto healthy_count = static_cast<std::size_t>(
        std::count_if(all_live.begin(), all_live.end(), [&](Task* t) { return healthy(*t); }));
    if (can_launch && primary_live.size() < static_cast<std::size_t>(desired) &&
        all_live.size() < std::max(max_total, static_cast<std::size_t>(desired))) {
      launch(s, primary);
      started.push_back(m_tasks.back().id);
      continue;
    }
    std::vector<Task*> old;
    for (auto* t : all_live) {
      if (t->deployment_id != primary.id) {
        old.push_back(t);
      }
    }
    old = stoppable(old);
    if (replacing && !old.empty() &&
        (!healthy(*old[0]) || healthy_count >= min_healthy + 1 || draining)) {
      stopped.push_back(old[0]->id);
      begin_stop(*old[0], "ServiceSchedulerInitiated", reason);
      continue;
    }
    auto extra = stoppable(primary_live);
    if (primary_live.size() > static_cast<std::size_t>(desired) && !extra.empty()) {
      stopped.push_back(extra[0]->id);
      begin_stop(*extra[0], "ServiceSchedulerInitiated", reason);
      continue;
    }
    break;
  }
  if (!started.empty()) {
    add_event(s, fmt::format("(service {}) has started {} tasks: {}.", s.name, started.size(),
                             task_list(started)));
  }
  if (!stopped.empty()) {
    add_event(s, fmt::format("(service {}) has stopped {} running tasks: {}.", s.name,
                             stopped.size(), task_list(stopped)));
  }
  if (!started.empty() || !stopped.empty()) {
    s.steady = false;
  }
  std::erase_if(s.deployments, [&](const Deployment& d) {
    return d.id != s.deployments.front().id && live_tasks(s, d.id).empty();
  });
  auto& current = s.deployments.front();
  auto live = live_tasks(s, current.id);
  bool all_healthy = std::all_of(live.begin(), live.end(), [&](Task* t) { return healthy(*t); });
  bool settled =
      s.deployments.size() == 1 && live.size() == static_cast<std::size_t>(desired) && all_healthy;
  if (settled && current.rollout_state == "IN_PROGRESS" && s.status == "ACTIVE") {
    current.rollout_state = "COMPLETED";
    current.rollout_reason = fmt::format("ECS deployment {} completed.", current.id);
    current.updated = m_env.now;
    s.last_completed = current;
    add_event(
        s, fmt::format("(service {}) (deployment {}) deployment completed.", s.name, current.id));
  }
  bool quiet = std::none_of(m_tasks.begin(), m_tasks.end(), [&](const Task& t) {
    return t.service == s.name && t.cluster_arn == s.cluster_arn && t.last_status != "STOPPED" &&
           t.last_status != "RUNNING";
  });
  if (settled && quiet && !s.steady && s.status == "ACTIVE") {
    s.steady = true;
    add_event(s, fmt::format("(service {}) has reached a steady state.", s.name));
  }
  if (s.status == "DRAINING" && quiet && live.empty() &&
      std::none_of(m_tasks.begin(), m_tasks.end(), [&](const Task& t) {
        return t.service == s.name && t.cluster_arn == s.cluster_arn && t.last_status == "RUNNING";
      })) {
    s.status = "INACTIVE";
  }
}

AwsAnswer EcsFake::stop_task(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* t = find_task(std::get<Cluster*>(cluster)->arn, str(in, "task"));
  if (t == nullptr) {
    return AwsError{"InvalidParameterException", "The referenced task was not found."};
  }
  if (t->desired_status == "RUNNING") {
    begin_stop(*t, "UserInitiated", str(in, "reason", "Task stopped by user"));
  }
  return nlohmann::json{{"task", task_json(*t, false)}};
}

AwsAnswer EcsFake::update_task_protection(const nlohmann::json& in) {
  auto cluster = request_cluster(in);
  if (auto* e = std::get_if<AwsError>(&cluster)) {
    return *e;
  }
  auto* c = std::get<Cluster*>(cluster);
  bool enabled = boolean(in, "protectionEnabled");
  auto minutes = integer(in, "expiresInMinutes", 120);
  if (minutes < 1 || minutes > 2880) {
    return AwsError{"InvalidParameterException",
                    "expiresInMinutes must be between 1 and 2880 (48 hours)."};
  }
  nlohmann::json protected_tasks = nlohmann::json::array();
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& id : strings(in, "tasks")) {
    auto* t = find_task(c->arn, id);
    if (t == nullptr) {
      failures.push_back({{"arn", id}, {"reason", "MISSING"}});
      continue;
    }
    if (t->service.empty() || t->desired_status != "RUNNING") {
      failures.push_back({{"arn", t->arn},
                          {"reason", "TASK_NOT_VALID"},
                          {"detail", "The task is not running as part of a service."}});
      continue;
    }
    t->protection = enabled;
    t->protection_expires = m_env.now + std::chrono::minutes(minutes);
    nlohmann::json p = {{"taskArn", t->arn}, {"protectionEnabled", enabled}};
    if (enabled) {
      p["expirationDate"] = epoch_seconds(t->protection_expires);
    }
    protected_tasks.push_back(p);
  }
  return nlohmann::json{{"protectedTasks", protected_tasks}, {"failures", failures}};
}

}  // namespace ztp::testing
