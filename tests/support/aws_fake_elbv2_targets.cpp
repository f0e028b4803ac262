// ELBv2's target groups, their targets and the health check state machine.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "support/aws_fake_elbv2.hpp"

namespace ztp::testing {

namespace {

AwsError validation(std::string message) { return AwsError{"ValidationError", std::move(message)}; }
AwsError group_not_found() {
  return AwsError{"TargetGroupNotFound", "One or more target groups not found"};
}

const std::set<std::string> k_protocols = {"HTTP", "HTTPS",   "TCP",   "TLS",
                                           "UDP",  "TCP_UDP", "GENEVE"};

// The attributes of a new target group, as DescribeTargetGroupAttributes shows them.
const std::map<std::string, std::string>& default_attributes() {
  static const std::map<std::string, std::string> k_defaults = {
      {"deregistration_delay.timeout_seconds", "300"},
      {"stickiness.enabled", "false"},
      {"stickiness.type", "lb_cookie"},
      {"stickiness.lb_cookie.duration_seconds", "86400"},
      {"stickiness.app_cookie.cookie_name", ""},
      {"stickiness.app_cookie.duration_seconds", "86400"},
      {"slow_start.duration_seconds", "0"},
      {"load_balancing.algorithm.type", "round_robin"},
      {"load_balancing.algorithm.anomaly_mitigation", "off"},
      {"load_balancing.cross_zone.enabled", "use_load_balancer_configuration"},
      {"target_group_health.dns_failover.minimum_healthy_targets.count", "1"},
      {"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"},
  };
  return k_defaults;
}

bool is_ipv4(const std::string& s) {
  in_addr addr{};
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

// A whole number in [low, high] read from a query string.
std::optional<std::int64_t> in_range(const nlohmann::json& in, const char* key, std::int64_t low,
                                     std::int64_t high) {
  auto v = optional_integer(in, key);
  if (!v || *v < low || *v > high) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

bool ElbFake::target_group_exists(const std::string& arn) const {
  return find_target_group(arn) != nullptr;
}

std::string ElbFake::target_type(const std::string& arn) const {
  const auto* tg = find_target_group(arn);
  return tg == nullptr ? "" : tg->target_type;
}

std::string ElbFake::target_group_dimension(const std::string& arn) const {
  auto at = arn.find(":targetgroup/");
  return at == std::string::npos ? "" : arn.substr(at + 1);
}

ElbFake::TargetGroup* ElbFake::find_target_group(const std::string& arn) {
  auto it = std::find_if(m_target_groups.begin(), m_target_groups.end(),
                         [&](const auto& tg) { return tg.arn == arn; });
  return it == m_target_groups.end() ? nullptr : &*it;
}

const ElbFake::TargetGroup* ElbFake::find_target_group(const std::string& arn) const {
  return const_cast<ElbFake*>(this)->find_target_group(arn);
}

std::optional<AwsError> ElbFake::apply_health_check(TargetGroup& tg, const nlohmann::json& in) {
  if (has(in, "HealthCheckIntervalSeconds")) {
    auto v = in_range(in, "HealthCheckIntervalSeconds", 5, 300);
    if (!v) {
      return validation("Health check interval must be between 5 and 300 seconds");
    }
    tg.interval = static_cast<int>(*v);
  }
  if (has(in, "HealthCheckTimeoutSeconds")) {
    auto v = in_range(in, "HealthCheckTimeoutSeconds", 2, 120);
    if (!v) {
      return validation("Health check timeout must be between 2 and 120 seconds");
    }
    tg.timeout = static_cast<int>(*v);
  }
  if (tg.timeout >= tg.interval) {
    return validation(
        fmt::format("Health check timeout '{}' must be smaller than the interval '{}'", tg.timeout,
                    tg.interval));
  }
  for (auto [key, slot] : {std::pair{"HealthyThresholdCount", &tg.healthy_threshold},
                           std::pair{"UnhealthyThresholdCount", &tg.unhealthy_threshold}}) {
    if (has(in, key)) {
      auto v = in_range(in, key, 2, 10);
      if (!v) {
        return validation(fmt::format("{} must be between 2 and 10", key));
      }
      *slot = static_cast<int>(*v);
    }
  }
  if (has(in, "HealthCheckPath")) {
    tg.health_check_path = str(in, "HealthCheckPath");
    if (tg.health_check_path.empty() || tg.health_check_path[0] != '/') {
      return validation("A health check path must begin with '/'");
    }
  }
  if (has(in, "HealthCheckPort")) {
    tg.health_check_port = str(in, "HealthCheckPort");
    if (tg.health_check_port != "traffic-port" &&
        !std::regex_match(tg.health_check_port, std::regex("[1-9][0-9]{0,4}"))) {
      return validation("Health check port must be 'traffic-port' or a port number");
    }
  }
  if (has(in, "HealthCheckProtocol")) {
    tg.health_check_protocol = str(in, "HealthCheckProtocol");
    if (k_protocols.count(tg.health_check_protocol) == 0) {
      return validation(fmt::format("Protocol '{}' is not valid", tg.health_check_protocol));
    }
  }
  if (has(in, "HealthCheckEnabled")) {
    tg.health_check_enabled = boolean(in, "HealthCheckEnabled", true);
    if (!tg.health_check_enabled && tg.target_type != "lambda") {
      return validation("Health checks cannot be disabled for target groups of this type");
    }
  }
  if (has(in, "Matcher")) {
    tg.matcher = str(in.at("Matcher"), "HttpCode", tg.matcher);
  }
  return std::nullopt;
}

nlohmann::json ElbFake::target_group_json(const TargetGroup& tg) const {
  return {{"TargetGroupArn", tg.arn},
          {"TargetGroupName", tg.name},
          {"Protocol", tg.protocol},
          {"Port", tg.port},
          {"VpcId", tg.vpc_id},
          {"HealthCheckProtocol", tg.health_check_protocol},
          {"HealthCheckPort", tg.health_check_port},
          {"HealthCheckEnabled", tg.health_check_enabled},
          {"HealthCheckIntervalSeconds", tg.interval},
          {"HealthCheckTimeoutSeconds", tg.timeout},
          {"HealthyThresholdCount", tg.healthy_threshold},
          {"UnhealthyThresholdCount", tg.unhealthy_threshold},
          {"HealthCheckPath", tg.health_check_path},
          {"Matcher", {{"HttpCode", tg.matcher}}},
          {"LoadBalancerArns", load_balancers_of(tg.arn)},
          {"TargetType", tg.target_type},
          {"ProtocolVersion", tg.protocol_version},
          {"IpAddressType", tg.ip_address_type}};
}

AwsAnswer ElbFake::create_target_group(const nlohmann::json& in) {
  std::string name = str(in, "Name");
  if (name.empty() || name.size() > 32) {
    return validation(
        fmt::format("Target group name '{}' cannot be longer than '32' characters", name));
  }
  if (!std::regex_match(name, std::regex("[A-Za-z0-9-]+"))) {
    return validation(fmt::format(
        "Target group name '{}' can only contain characters that are alphanumeric characters or "
        "hyphens(-)",
        name));
  }
  if (name.front() == '-' || name.back() == '-') {
    return validation(fmt::format("Target group name '{}' cannot begin or end with '-'", name));
  }
  TargetGroup tg;
  tg.name = name;
  tg.target_type = str(in, "TargetType", "instance");
  if (tg.target_type != "instance" && tg.target_type != "ip" && tg.target_type != "lambda" &&
      tg.target_type != "alb") {
    return validation(fmt::format("Target type '{}' is not valid", tg.target_type));
  }
  if (tg.target_type != "lambda") {
    if (!has(in, "Protocol")) {
      return validation("A protocol must be specified");
    }
    if (!has(in, "Port")) {
      return validation("A port must be specified");
    }
    if (!has(in, "VpcId")) {
      return validation("A VPC ID must be specified");
    }
  }
  tg.protocol = str(in, "Protocol", "HTTP");
  if (k_protocols.count(tg.protocol) == 0) {
    return validation(fmt::format("Protocol '{}' is not valid", tg.protocol));
  }
  auto port = in_range(in, "Port", 1, 65535);
  if (has(in, "Port") && !port) {
    return validation("Port must be between 1 and 65535");
  }
  tg.port = static_cast<int>(port.value_or(80));
  tg.vpc_id = str(in, "VpcId");
  tg.protocol_version = str(in, "ProtocolVersion", "HTTP1");
  tg.ip_address_type = str(in, "IpAddressType", "ipv4");
  tg.health_check_protocol = tg.protocol;
  if (auto e = apply_health_check(tg, in)) {
    return *e;
  }
  for (const auto& existing : m_target_groups) {
    if (existing.name == name) {
      if (existing.protocol == tg.protocol && existing.port == tg.port &&
          existing.vpc_id == tg.vpc_id && existing.target_type == tg.target_type) {
        return nlohmann::json{{"TargetGroups", {target_group_json(existing)}}};
      }
      return AwsError{
          "DuplicateTargetGroupName",
          fmt::format("A target group with the same name '{}' exists, but with different settings",
                      name)};
    }
  }
  tg.arn = fmt::format("arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}", m_env.region,
                       m_env.account, name, m_env.hex_id(16));
  tg.attributes = default_attributes();
  tg.tags = list(in, "Tags");
  tg.hidden = m_env.consistency_lag;
  m_target_groups.push_back(tg);
  return nlohmann::json{{"TargetGroups", {target_group_json(tg)}}};
}

AwsAnswer ElbFake::describe_target_groups(const nlohmann::json& in) {
  std::string lb_arn = str(in, "LoadBalancerArn");
  auto arns = strings(in, "TargetGroupArns");
  auto names = strings(in, "Names");
  if (!lb_arn.empty() && find_load_balancer(lb_arn) == nullptr) {
    return AwsError{"LoadBalancerNotFound", "One or more load balancers not found"};
  }
  std::vector<TargetGroup*> found;
  std::size_t asked_found = 0;
  for (auto& tg : m_target_groups) {
    bool asked = std::find(arns.begin(), arns.end(), tg.arn) != arns.end() ||
                 std::find(names.begin(), names.end(), tg.name) != names.end();
    bool wanted = asked || (arns.empty() && names.empty() && lb_arn.empty());
    if (!lb_arn.empty()) {
      auto lbs = load_balancers_of(tg.arn);
      wanted = std::find(lbs.begin(), lbs.end(), lb_arn) != lbs.end();
    }
    if (!wanted) {
      continue;
    }
    if (tg.hidden > 0) {
      --tg.hidden;
      continue;
    }
    asked_found += asked ? 1 : 0;
    found.push_back(&tg);
  }
  if (asked_found < arns.size() + names.size()) {
    return group_not_found();
  }
  std::size_t from = 0;
  if (has(in, "Marker")) {
    auto offset = page_offset(str(in, "Marker"));
    if (!offset) {
      return validation("The marker is not valid");
    }
    from = *offset;
  }
  auto page =
      static_cast<std::size_t>(std::clamp<std::int64_t>(integer(in, "PageSize", 400), 1, 400));
  nlohmann::json out = {{"TargetGroups", nlohmann::json::array()}};
  for (std::size_t i = from; i < found.size() && i < from + page; ++i) {
    out["TargetGroups"].push_back(target_group_json(*found[i]));
  }
  if (from + page < found.size()) {
    out["NextMarker"] = page_token(from + page);
  }
  return out;
}

AwsAnswer ElbFake::delete_target_group(const nlohmann::json& in) {
  std::string arn = str(in, "TargetGroupArn");
  if (target_group_in_use(arn)) {
    return AwsError{
        "ResourceInUse",
        fmt::format("Target group '{}' is currently in use by a listener or a rule", arn)};
  }
  // Deleting a group that is not there succeeds, as AWS's does.
  std::erase_if(m_target_groups, [&](const TargetGroup& tg) { return tg.arn == arn; });
  return nlohmann::json::object();
}

AwsAnswer ElbFake::modify_target_group(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  TargetGroup changed = *tg;
  if (auto e = apply_health_check(changed, in)) {
    return *e;
  }
  *tg = changed;
  return nlohmann::json{{"TargetGroups", {target_group_json(*tg)}}};
}

nlohmann::json ElbFake::attributes_json(const TargetGroup& tg) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, value] : tg.attributes) {
    out.push_back({{"Key", key}, {"Value", value}});
  }
  return out;
}

AwsAnswer ElbFake::modify_target_group_attributes(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  auto attributes = tg->attributes;
  for (const auto& a : list(in, "Attributes")) {
    std::string key = str(a, "Key");
    std::string value = str(a, "Value");
    if (default_attributes().count(key) == 0) {
      return validation(fmt::format("Target group attribute key '{}' is not recognized", key));
    }
    if (key == "deregistration_delay.timeout_seconds" || key == "slow_start.duration_seconds") {
      nlohmann::json probe = {{"v", value}};
      std::int64_t high = key == "slow_start.duration_seconds" ? 900 : 3600;
      if (!in_range(probe, "v", 0, high)) {
        return validation(
            fmt::format("'{}' must be a number of seconds between 0 and {}", key, high));
      }
    }
    if ((key == "stickiness.enabled") && value != "true" && value != "false") {
      return validation(fmt::format("'{}' must be 'true' or 'false'", key));
    }
    attributes[key] = value;
  }
  tg->attributes = attributes;
  return nlohmann::json{{"Attributes", attributes_json(*tg)}};
}

AwsAnswer ElbFake::describe_target_group_attributes(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  return nlohmann::json{{"Attributes", attributes_json(*tg)}};
}

AwsAnswer ElbFake::register_targets(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  auto targets = list(in, "Targets");
  for (const auto& t : targets) {
    std::string id = str(t, "Id");
    if (tg->target_type == "ip" && !is_ipv4(id)) {
      return AwsError{"InvalidTarget",
                      fmt::format("The IP address '{}' is not a valid IPv4 address", id)};
    }
    if (tg->target_type == "instance" && id.rfind("i-", 0) != 0) {
      return AwsError{"InvalidTarget", fmt::format("The instance ID '{}' is not valid", id)};
    }
    if (has(t, "Port") && !in_range(t, "Port", 1, 65535)) {
      return validation("Port must be between 1 and 65535");
    }
  }
  for (const auto& t : targets) {
    register_target(tg->arn, str(t, "Id"), static_cast<int>(integer(t, "Port", tg->port)));
  }
  return nlohmann::json::object();
}

void ElbFake::register_target(const std::string& arn, const std::string& id, int port) {
  auto* tg = find_target_group(arn);
  if (tg == nullptr) {
    return;
  }
  auto it = std::find_if(tg->targets.begin(), tg->targets.end(),
                         [&](const Target& t) { return t.id == id && t.port == port; });
  if (it != tg->targets.end() && it->state != "draining") {
    return;
  }
  Target t;
  t.id = id;
  t.port = port;
  t.next_check = m_env.now + std::chrono::seconds(tg->interval);
  if (it != tg->targets.end()) {
    *it = t;
  } else {
    tg->targets.push_back(t);
  }
}

AwsAnswer ElbFake::deregister_targets(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  for (const auto& t : list(in, "Targets")) {
    if (tg->target_type == "ip" && !is_ipv4(str(t, "Id"))) {
      return AwsError{"InvalidTarget",
                      fmt::format("The IP address '{}' is not a valid IPv4 address", str(t, "Id"))};
    }
  }
  for (const auto& t : list(in, "Targets")) {
    deregister_target(tg->arn, str(t, "Id"), static_cast<int>(integer(t, "Port", tg->port)));
  }
  return nlohmann::json::object();
}

void ElbFake::deregister_target(const std::string& arn, const std::string& id, int port) {
  auto* tg = find_target_group(arn);
  if (tg == nullptr) {
    return;
  }
  for (auto& t : tg->targets) {
    if (t.id == id && t.port == port && t.state != "draining") {
      t.state = "draining";
      t.reason = "Target.DeregistrationInProgress";
      t.description = "Target deregistration is in progress";
      auto delay = std::stoll(tg->attributes["deregistration_delay.timeout_seconds"]);
      t.drain_until = m_env.now + std::chrono::seconds(delay);
    }
  }
}

std::optional<std::pair<std::string, std::string>> ElbFake::target_health(const std::string& arn,
                                                                          const std::string& id,
                                                                          int port) const {
  const auto* tg = find_target_group(arn);
  if (tg == nullptr) {
    return std::nullopt;
  }
  for (const auto& t : tg->targets) {
    if (t.id == id && t.port == port) {
      return std::pair{t.state, t.reason};
    }
  }
  return std::nullopt;
}

nlohmann::json ElbFake::target_health_json(const TargetGroup& tg, const Target& t) const {
  nlohmann::json health = {{"State", t.state}};
  if (t.state != "draining" && !target_group_in_use(tg.arn)) {
    health = {{"State", "unused"},
              {"Reason", "Target.NotInUse"},
              {"Description",
               "Target group is not configured to receive traffic from the load "
               "balancer"}};
  } else if (!t.reason.empty()) {
    health["Reason"] = t.reason;
    health["Description"] = t.description;
  }
  return {{"Target", {{"Id", t.id}, {"Port", t.port}}},
          {"HealthCheckPort",
           tg.health_check_port == "traffic-port" ? std::to_string(t.port) : tg.health_check_port},
          {"TargetHealth", health}};
}

AwsAnswer ElbFake::describe_target_health(const nlohmann::json& in) {
  auto* tg = find_target_group(str(in, "TargetGroupArn"));
  if (tg == nullptr) {
    return group_not_found();
  }
  nlohmann::json out = nlohmann::json::array();
  auto asked = list(in, "Targets");
  if (asked.empty()) {
    for (const auto& t : tg->targets) {
      out.push_back(target_health_json(*tg, t));
    }
    return nlohmann::json{{"TargetHealthDescriptions", out}};
  }
  for (const auto& a : asked) {
    std::string id = str(a, "Id");
    if (tg->target_type == "ip" && !is_ipv4(id)) {
      return AwsError{"InvalidTarget",
                      fmt::format("The IP address '{}' is not a valid IPv4 address", id)};
    }
    int port = static_cast<int>(integer(a, "Port", tg->port));
    auto it = std::find_if(tg->targets.begin(), tg->targets.end(),
                           [&](const Target& t) { return t.id == id && t.port == port; });
    if (it != tg->targets.end()) {
      out.push_back(target_health_json(*tg, *it));
    } else {
      out.push_back({{"Target", {{"Id", id}, {"Port", port}}},
                     {"HealthCheckPort", std::to_string(port)},
                     {"TargetHealth",
                      {{"State", "unused"},
                       {"Reason", "Target.NotRegistered"},
                       {"Description", "Target is not registered to the target group"}}}});
    }
  }
  return nlohmann::json{{"TargetHealthDescriptions", out}};
}

void ElbFake::check_target(TargetGroup& tg, Target& t) {
  TargetProbeRequest req;
  req.target_group_arn = tg.arn;
  req.target_id = t.id;
  req.port = tg.health_check_port == "traffic-port" ? t.port : std::stoi(tg.health_check_port);
  req.path = tg.health_check_path;
  req.matcher = tg.matcher;
  TargetProbeResult result = m_probe ? m_probe(req) : TargetProbeResult{};
  t.next_check = m_env.now + std::chrono::seconds(tg.interval);
  if (result.healthy) {
    t.failures = 0;
    ++t.successes;
    if (t.state != "healthy" && t.successes >= tg.healthy_threshold) {
      t.state = "healthy";
      t.reason.clear();
      t.description.clear();
      return;
    }
  } else {
    t.successes = 0;
    ++t.failures;
    if (t.failures >= tg.unhealthy_threshold) {
      t.state = "unhealthy";
      t.reason = result.reason;
      t.description = result.description;
      return;
    }
  }
  if (t.state == "initial") {
    t.reason = "Elb.InitialHealthChecking";
    t.description = "Initial health checks in progress";
  }
}

std::optional<WallTime> ElbFake::next_event() const {
  std::optional<WallTime> next;
  auto consider = [&](WallTime t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  for (const auto& tg : m_target_groups) {
    bool checked = tg.health_check_enabled && target_group_in_use(tg.arn);
    for (const auto& t : tg.targets) {
      if (t.state == "draining") {
        consider(t.drain_until);
      } else if (checked) {
        consider(t.next_check);
      }
    }
  }
  return next;
}

void ElbFake::advance() {
  for (auto& tg : m_target_groups) {
    std::erase_if(tg.targets, [&](const Target& t) {
      return t.state == "draining" && t.drain_until <= m_env.now;
    });
    if (!tg.health_check_enabled || !target_group_in_use(tg.arn)) {
      continue;
    }
    for (auto& t : tg.targets) {
      if (t.state != "draining" && t.next_check <= m_env.now) {
        check_target(tg, t);
      }
    }
  }
}

}  // namespace ztp::testing
