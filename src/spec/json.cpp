#include "spec/json.hpp"

#include "spec/ecs.hpp"
#include "spec/mask.hpp"
#include "util/duration.hpp"

namespace ztp::spec {
namespace {

using nlohmann::json;

// Sets `key` ("2s") and `key_ms` (2000).
void put(json& j, const std::string& key, Duration d) {
  j[key] = format_duration(d);
  j[key + "_ms"] = d.count();
}

json position(const Position& p) { return json{{"line", p.line}, {"column", p.column}}; }

std::string registry_kind(Registry::Kind kind) {
  switch (kind) {
    case Registry::Kind::local:
      return "local";
    case Registry::Kind::oci:
      return "oci";
    case Registry::Kind::ecr:
      return "ecr";
  }
  return "local";
}

std::string notifier_kind(Notifier::Kind kind) {
  switch (kind) {
    case Notifier::Kind::slack:
      return "slack";
    case Notifier::Kind::pagerduty:
      return "pagerduty";
    case Notifier::Kind::webhook:
      return "webhook";
  }
  return "webhook";
}

json check_json(const Check& c) {
  json j{{"name", c.name},       {"method", c.method}, {"path", c.path},
         {"headers", c.headers}, {"body", c.body},     {"position", position(c.pos)}};
  json expect{{"status", c.expect_status}, {"body_contains", c.body_contains}};
  expect["body_regex"] = c.body_regex ? json(*c.body_regex) : json(nullptr);
  json headers = json::object();
  for (const auto& h : c.expect_headers) {
    json e{{"present", h.present}};
    if (h.equals) {
      e["equals"] = *h.equals;
    }
    if (h.matches) {
      e["matches"] = *h.matches;
    }
    headers[h.name] = e;
  }
  expect["headers"] = headers;
  if (c.max_latency) {
    put(expect, "max_latency", *c.max_latency);
  } else {
    expect["max_latency"] = nullptr;
  }
  expect["min_cert_days"] = c.min_cert_days ? json(*c.min_cert_days) : json(nullptr);
  j["expect"] = expect;
  json retry{{"attempts", c.retry.attempts},
             {"backoff", c.retry.backoff},
             {"jitter", c.retry.jitter},
             {"circuit_breaker", c.retry.circuit_breaker}};
  put(retry, "interval", c.retry.interval);
  put(retry, "max_interval", c.retry.max_interval);
  put(retry, "deadline", c.retry.deadline);
  j["retry"] = retry;
  return j;
}

json strategy_json(const Strategy& s) {
  switch (s.kind) {
    case Strategy::Kind::rolling:
      return json{
          {"rolling",
           {{"max_surge", s.rolling.max_surge}, {"max_unavailable", s.rolling.max_unavailable}}}};
    case Strategy::Kind::blue_green: {
      json bg{{"preview_listen", s.blue_green.preview_listen}};
      put(bg, "keep_previous", s.blue_green.keep_previous);
      return json{{"blue_green", bg}};
    }
    case Strategy::Kind::canary: {
      json steps = json::array();
      for (const auto& step : s.canary.steps) {
        json js{{"weight", step.weight}};
        put(js, "pause", step.pause);
        steps.push_back(js);
      }
      const Analysis& a = s.canary.analysis;
      json analysis{{"max_error_rate", a.max_error_rate},
                    {"min_requests", a.min_requests},
                    {"inconclusive", a.pass_when_inconclusive ? "pass" : "fail"}};
      put(analysis, "max_p95", a.max_p95);
      put(analysis, "deadline", a.deadline);
      return json{{"canary", {{"steps", steps}, {"analysis", analysis}}}};
    }
  }
  return json::object();
}

json watch_json(const Watch& w) {
  json j{{"max_error_rate", w.limits.max_error_rate}, {"min_requests", w.limits.min_requests}};
  put(j, "window", w.window);
  put(j, "max_p95", w.limits.max_p95);
  return j;
}

// null when the environment has no deploy windows.
json deploy_windows_json(const DeployWindows& w) {
  if (!w.enabled()) {
    return nullptr;
  }
  json deny = json::array();
  for (const auto& d : w.deny) {
    deny.push_back(json{{"from", format_week_minute(d.from)},
                        {"to", format_week_minute(d.to)},
                        {"from_minute", d.from},
                        {"to_minute", d.to},
                        {"reason", d.reason},
                        {"position", position(d.pos)}});
  }
  return json{{"timezone", w.timezone}, {"deny", deny}, {"position", position(w.pos)}};
}

// The resolved `ecs:` block (every derived default filled in); null for other targets.
json ecs_json(const Spec& spec, const Environment& env) {
  if (!env.ecs) {
    return nullptr;
  }
  EcsSettings e = resolve_ecs(spec, env);
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json j{{"region", or_null(e.region)},
         {"cluster", e.cluster},
         {"service_prefix", e.service_prefix},
         {"launch_type", or_null(e.launch_type)},
         {"fargate", e.fargate()},
         {"platform_version", or_null(e.platform_version)},
         {"task_role", or_null(e.task_role)},
         {"execution_role", or_null(e.execution_role)},
         {"cpu", e.cpu},
         {"memory_mib", e.memory_mib},
         {"tags", e.tags},
         {"position", position(e.pos)}};
  json providers = json::array();
  for (const auto& p : e.capacity_providers) {
    providers.push_back(json{{"name", p.name}, {"weight", p.weight}, {"base", p.base}});
  }
  j["capacity_providers"] = providers;
  j["network"] = e.network ? json{{"subnets", e.network->subnets},
                                  {"security_groups", e.network->security_groups},
                                  {"assign_public_ip", e.network->assign_public_ip}}
                           : json(nullptr);
  j["logs"] = json{
      {"group", e.logs.group},
      {"stream_prefix", e.logs.stream_prefix},
      {"create_group", e.logs.create_group},
      {"retention_days", e.logs.retention_days ? json(*e.logs.retention_days) : json(nullptr)}};
  if (!e.load_balancer) {
    j["load_balancer"] = nullptr;
    return j;
  }
  const EcsLoadBalancer& lb = *e.load_balancer;
  const EcsHealthCheck& hc = lb.target_group.health_check;
  json health{{"path", hc.path},
              {"healthy_threshold", hc.healthy_threshold},
              {"unhealthy_threshold", hc.unhealthy_threshold},
              {"matcher", hc.matcher}};
  put(health, "interval", hc.interval);
  put(health, "timeout", hc.timeout);
  json group{{"name_prefix", lb.target_group.name_prefix}, {"health_check", health}};
  put(group, "deregistration_delay", lb.target_group.deregistration_delay);
  j["load_balancer"] = json{{"vpc", lb.vpc},
                            {"listener", lb.listener},
                            {"rule", lb.rule ? json{{"priority", lb.rule->priority},
                                                    {"hosts", lb.rule->hosts},
                                                    {"paths", lb.rule->paths}}
                                             : json(nullptr)},
                            {"test_listener", or_null(lb.test_listener)},
                            {"target_group", group},
                            {"position", position(lb.pos)}};
  return j;
}

// Masks every string of `j`, however deep.
void mask_strings(const Spec& spec, json& j) {
  if (j.is_string()) {
    j = mask_credentials(spec, j.get<std::string>());
  } else if (j.is_structured()) {
    for (auto& v : j) {
      mask_strings(spec, v);
    }
  }
}

}  // namespace

nlohmann::json to_json(const Spec& spec) {
  json j;
  j["file"] = spec.file.string();
  j["app"] = spec.app;

  json source{
      {"repo", spec.source.repo}, {"branch", spec.source.branch}, {"paths", spec.source.paths}};
  put(source, "poll_interval", spec.source.poll_interval);
  source["webhook_secret"] = spec.source.webhook_secret.empty() ? "" : "(set)";
  source["github_repository"] = spec.source.github_repository;
  j["source"] = source;

  j["build"] = json{{"context", spec.build.context},
                    {"exclude", spec.build.exclude},
                    {"entrypoint", spec.build.entrypoint},
                    {"command", spec.build.command},
                    {"env", spec.build.env},
                    {"templates", spec.build.templates},
                    {"from", spec.build.from},
                    {"dockerfile", spec.build.dockerfile},
                    {"args", spec.build.args},
                    {"platforms", spec.build.platforms},
                    {"compression", spec.build.compression}};

  const Registry& r = spec.registry;
  j["registry"] = json{{"url", r.url},         {"kind", registry_kind(r.kind)},
                       {"host", r.host},       {"repository", r.repository},
                       {"account", r.account}, {"region", r.region}};

  const Service& s = spec.service;
  json health{{"path", s.health.path},
              {"healthy_threshold", s.health.healthy_threshold},
              {"unhealthy_threshold", s.health.unhealthy_threshold}};
  put(health, "interval", s.health.interval);
  put(health, "timeout", s.health.timeout);
  json service{
      {"port", s.port},
      {"port_range", std::to_string(s.port_range_first) + "-" + std::to_string(s.port_range_last)},
      {"health", health}};
  put(service, "start_timeout", s.start_timeout);
  put(service, "stop_timeout", s.stop_timeout);
  put(service, "drain_timeout", s.drain_timeout);
  j["service"] = service;

  json checks = json::object();
  for (const auto& suite : spec.checks) {
    json list = json::array();
    for (const auto& c : suite.checks) {
      list.push_back(check_json(c));
    }
    checks[suite.name] = list;
  }
  j["checks"] = checks;

  json envs = json::array();
  for (const auto& e : spec.environments) {
    envs.push_back(json{
        {"name", e.name},
        {"target", e.target},
        {"listen", e.listen},
        {"replicas", e.replicas},
        {"gate", e.gate == Gate::approval ? "approval" : "auto"},
        {"strategy", strategy_json(e.strategy)},
        {"verify", e.verify},
        {"watch", watch_json(e.watch)},
        {"self_heal", e.self_heal},
        {"drift_interval", format_duration(e.drift_interval)},
        {"deploy_windows", deploy_windows_json(e.deploy_windows)},
        {"env", e.env},
        {"resources", json{{"cpus", e.resources.cpus}, {"memory_bytes", e.resources.memory_bytes}}},
        {"ecs", ecs_json(spec, e)},
        {"position", position(e.pos)}});
  }
  j["environments"] = envs;

  json notify = json::array();
  for (const auto& n : spec.notify) {
    notify.push_back(
        json{{"type", notifier_kind(n.kind)},
             {"url", n.url},
             {"routing_key", n.routing_key.empty() ? "" : "(set)"},
             {"secret", n.secret.empty() ? "" : "(set)"},
             {"events", n.events},
             {"page_manual_rollbacks",
              n.page_manual_rollbacks ? json(*n.page_manual_rollbacks) : json(nullptr)},
             {"position", position(n.pos)}});
  }
  j["notify"] = notify;
  mask_strings(spec, j);
  return j;
}

nlohmann::json to_json(const Diagnostic& d) {
  return json{{"file", d.file},
              {"line", d.line},
              {"column", d.column},
              {"message", d.message},
              {"hint", d.hint}};
}

}  // namespace ztp::spec
