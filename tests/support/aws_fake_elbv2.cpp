// ELBv2's load balancers, listeners and rules; target groups and health are in
// aws_fake_elbv2_targets.cpp.
#include "support/aws_fake_elbv2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

namespace ztp::testing {

namespace {

AwsError validation(std::string message) { return AwsError{"ValidationError", std::move(message)}; }
AwsError invalid_action(std::string message) {
  return AwsError{"InvalidLoadBalancerAction", std::move(message)};
}

const std::set<std::string> k_condition_fields = {"http-header",  "http-request-method",
                                                  "host-header",  "path-pattern",
                                                  "query-string", "source-ip"};

// A condition as AWS echoes it: the legacy Values and the field's config both filled in.
nlohmann::json normalise_condition(nlohmann::json c) {
  static const std::map<std::string, std::string> k_configs = {
      {"path-pattern", "PathPatternConfig"}, {"host-header", "HostHeaderConfig"}};
  auto it = k_configs.find(str(c, "Field"));
  if (it == k_configs.end()) {
    return c;
  }
  auto values = list(c, "Values");
  auto config_values =
      has(c, it->second.c_str()) ? list(c.at(it->second), "Values") : nlohmann::json::array();
  if (values.empty()) {
    values = config_values;
  }
  c["Values"] = values;
  c[it->second] = {{"Values", values}};
  return c;
}

}  // namespace

ElbFake::ElbFake(AwsFakeEnv& env) : m_env(env) {}

const std::map<std::string, std::vector<std::string>>& ElbFake::operations() const {
  static const std::map<std::string, std::vector<std::string>> k_operations = {
      {"CreateRule", {"ListenerArn", "Conditions", "Priority", "Actions"}},
      {"CreateTargetGroup", {"Name"}},
      {"DeleteRule", {"RuleArn"}},
      {"DeleteTargetGroup", {"TargetGroupArn"}},
      {"DeregisterTargets", {"TargetGroupArn", "Targets"}},
      {"DescribeListeners", {}},
      {"DescribeLoadBalancers", {}},
      {"DescribeRules", {}},
      {"DescribeTargetGroupAttributes", {"TargetGroupArn"}},
      {"DescribeTargetGroups", {}},
      {"DescribeTargetHealth", {"TargetGroupArn"}},
      {"ModifyListener", {"ListenerArn"}},
      {"ModifyRule", {"RuleArn"}},
      {"ModifyTargetGroup", {"TargetGroupArn"}},
      {"ModifyTargetGroupAttributes", {"TargetGroupArn", "Attributes"}},
      {"RegisterTargets", {"TargetGroupArn", "Targets"}},
  };
  return k_operations;
}

AwsAnswer ElbFake::handle(const std::string& operation, const nlohmann::json& in,
                          const AwsCaller&) {
  using Handler = AwsAnswer (ElbFake::*)(const nlohmann::json&);
  static const std::map<std::string, Handler> k_handlers = {
      {"CreateRule", &ElbFake::create_rule},
      {"CreateTargetGroup", &ElbFake::create_target_group},
      {"DeleteRule", &ElbFake::delete_rule},
      {"DeleteTargetGroup", &ElbFake::delete_target_group},
      {"DeregisterTargets", &ElbFake::deregister_targets},
      {"DescribeListeners", &ElbFake::describe_listeners},
      {"DescribeLoadBalancers", &ElbFake::describe_load_balancers},
      {"DescribeRules", &ElbFake::describe_rules},
      {"DescribeTargetGroupAttributes", &ElbFake::describe_target_group_attributes},
      {"DescribeTargetGroups", &ElbFake::describe_target_groups},
      {"DescribeTargetHealth", &ElbFake::describe_target_health},
      {"ModifyListener", &ElbFake::modify_listener},
      {"ModifyRule", &ElbFake::modify_rule},
      {"ModifyTargetGroup", &ElbFake::modify_target_group},
      {"ModifyTargetGroupAttributes", &ElbFake::modify_target_group_attributes},
      {"RegisterTargets", &ElbFake::register_targets},
  };
  return (this->*k_handlers.at(operation))(in);
}

std::string ElbFake::add_load_balancer(const std::string& name) {
  LoadBalancer lb;
  lb.name = name;
  lb.id = m_env.hex_id(16);
  lb.arn = fmt::format("arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/{}/{}", m_env.region,
                       m_env.account, name, lb.id);
  lb.created = m_env.now;
  m_load_balancers.push_back(lb);
  return lb.arn;
}

std::string ElbFake::add_listener(const std::string& load_balancer_arn, int port,
                                  const std::string& protocol,
                                  const std::string& target_group_arn) {
  auto* lb = find_load_balancer(load_balancer_arn);
  if (lb == nullptr || (!target_group_arn.empty() && !target_group_exists(target_group_arn))) {
    return "";
  }
  Listener l;
  std::string listener_id = m_env.hex_id(16);
  l.arn = fmt::format("arn:aws:elasticloadbalancing:{}:{}:listener/app/{}/{}/{}", m_env.region,
                      m_env.account, lb->name, lb->id, listener_id);
  l.load_balancer_arn = lb->arn;
  l.port = port;
  l.protocol = protocol;
  Rule r;
  r.arn = fmt::format("arn:aws:elasticloadbalancing:{}:{}:listener-rule/app/{}/{}/{}/{}",
                      m_env.region, m_env.account, lb->name, lb->id, listener_id, m_env.hex_id(16));
  r.listener_arn = l.arn;
  r.is_default = true;
  if (target_group_arn.empty()) {
    r.actions = nlohmann::json::array(
        {{{"Type", "fixed-response"},
          {"FixedResponseConfig", {{"StatusCode", "404"}, {"ContentType", "text/plain"}}}}});
  } else {
    r.actions = nlohmann::json::array(
        {{{"Type", "forward"},
          {"TargetGroupArn", target_group_arn},
          {"ForwardConfig",
           {{"TargetGroups", {{{"TargetGroupArn", target_group_arn}, {"Weight", 1}}}},
            {"TargetGroupStickinessConfig", {{"Enabled", false}}}}}}});
  }
  l.default_rule_arn = r.arn;
  m_listeners.push_back(l);
  m_rules.push_back(r);
  return l.arn;
}

ElbFake::LoadBalancer* ElbFake::find_load_balancer(const std::string& arn) {
  auto it = std::find_if(m_load_balancers.begin(), m_load_balancers.end(),
                         [&](const auto& lb) { return lb.arn == arn; });
  return it == m_load_balancers.end() ? nullptr : &*it;
}

ElbFake::Listener* ElbFake::find_listener(const std::string& arn) {
  auto it = std::find_if(m_listeners.begin(), m_listeners.end(),
                         [&](const auto& l) { return l.arn == arn; });
  return it == m_listeners.end() ? nullptr : &*it;
}

ElbFake::Rule* ElbFake::find_rule(const std::string& arn) {
  auto it =
      std::find_if(m_rules.begin(), m_rules.end(), [&](const auto& r) { return r.arn == arn; });
  return it == m_rules.end() ? nullptr : &*it;
}

std::vector<std::string> ElbFake::load_balancers_of(const std::string& target_group_arn) const {
  std::vector<std::string> out;
  for (const auto& r : m_rules) {
    bool forwards = false;
    for (const auto& a : r.actions) {
      for (const auto& t :
           list(a.value("ForwardConfig", nlohmann::json::object()), "TargetGroups")) {
        forwards = forwards || str(t, "TargetGroupArn") == target_group_arn;
      }
    }
    if (!forwards) {
      continue;
    }
    for (const auto& l : m_listeners) {
      if (l.arn == r.listener_arn &&
          std::find(out.begin(), out.end(), l.load_balancer_arn) == out.end()) {
        out.push_back(l.load_balancer_arn);
      }
    }
  }
  return out;
}

bool ElbFake::target_group_in_use(const std::string& arn) const {
  return !load_balancers_of(arn).empty();
}

std::string ElbFake::load_balancer_dimension(const std::string& arn) const {
  for (const auto& lb : m_load_balancers) {
    if (lb.arn == arn) {
      return fmt::format("app/{}/{}", lb.name, lb.id);
    }
  }
  return "";
}

std::variant<nlohmann::json, AwsError> ElbFake::check_actions(
    const nlohmann::json& actions, const std::string& load_balancer_arn) {
  if (actions.empty()) {
    return validation("At least one action must be specified");
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& action : actions) {
    std::string type = str(action, "Type");
    nlohmann::json a = action;
    if (type == "forward") {
      std::string single = str(action, "TargetGroupArn");
      auto tuples = has(action, "ForwardConfig") ? list(action.at("ForwardConfig"), "TargetGroups")
                                                 : nlohmann::json::array();
      if (tuples.empty() && single.empty()) {
        return invalid_action("A forward action must name a target group");
      }
      if (tuples.empty()) {
        tuples.push_back({{"TargetGroupArn", single}});
      }
      if (!single.empty() && (tuples.size() != 1 || str(tuples[0], "TargetGroupArn") != single)) {
        return invalid_action(
            "You cannot specify both a target group ARN and a forward config with other target "
            "groups");
      }
      std::set<std::string> seen;
      std::int64_t sum = 0;
      nlohmann::json normalised = nlohmann::json::array();
      for (const auto& t : tuples) {
        std::string arn = str(t, "TargetGroupArn");
        std::int64_t weight = integer(t, "Weight", 1);
        if (weight < 0 || weight > 999) {
          return validation(
              fmt::format("Target group weight '{}' must be between 0 and 999", weight));
        }
        if (!seen.insert(arn).second) {
          return invalid_action(fmt::format("Target group '{}' is specified more than once", arn));
        }
        if (!target_group_exists(arn)) {
          return AwsError{"TargetGroupNotFound", fmt::format("Target groups '{}' not found", arn)};
        }
        for (const auto& other : load_balancers_of(arn)) {
          if (other != load_balancer_arn) {
            return AwsError{"TargetGroupAssociationLimit",
                            fmt::format("The following target groups cannot be associated with "
                                        "more than one load balancer: {}",
                                        arn)};
          }
        }
        sum += weight;
        normalised.push_back({{"TargetGroupArn", arn}, {"Weight", weight}});
      }
      if (sum <= 0) {
        return invalid_action("The sum of the target group weights must be greater than 0");
      }
      nlohmann::json stickiness = {{"Enabled", false}};
      if (has(action, "ForwardConfig") &&
          has(action.at("ForwardConfig"), "TargetGroupStickinessConfig")) {
        const auto& s = action.at("ForwardConfig").at("TargetGroupStickinessConfig");
        stickiness = {{"Enabled", boolean(s, "Enabled")}};
        if (has(s, "DurationSeconds")) {
          stickiness["DurationSeconds"] = integer(s, "DurationSeconds");
        }
      }
      a = {{"Type", "forward"},
           {"ForwardConfig",
            {{"TargetGroups", normalised}, {"TargetGroupStickinessConfig", stickiness}}}};
      if (normalised.size() == 1) {
        a["TargetGroupArn"] = normalised[0]["TargetGroupArn"];
      }
    } else if (type == "fixed-response") {
      auto config = action.value("FixedResponseConfig", nlohmann::json::object());
      if (!std::regex_match(str(config, "StatusCode"), std::regex("[245][0-9][0-9]"))) {
        return validation("A fixed-response action needs a StatusCode of the form 2XX, 4XX or 5XX");
      }
    } else if (type == "redirect") {
      if (!has(action, "RedirectConfig") || !has(action.at("RedirectConfig"), "StatusCode")) {
        return validation("A redirect action needs a StatusCode");
      }
    } else if (type != "authenticate-oidc" && type != "authenticate-cognito" &&
               type != "jwt-validation") {
      return validation(fmt::format("Action type '{}' is not valid", type));
    }
    if (has(action, "Order")) {
      a["Order"] = integer(action, "Order");
    }
    out.push_back(a);
  }
  return out;
}

nlohmann::json ElbFake::listener_json(const Listener& l) const {
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& r : m_rules) {
    if (r.arn == l.default_rule_arn) {
      actions = r.actions;
    }
  }
  return {{"ListenerArn", l.arn},
          {"LoadBalancerArn", l.load_balancer_arn},
          {"Port", l.port},
          {"Protocol", l.protocol},
          {"DefaultActions", actions}};
}

nlohmann::json ElbFake::rule_json(const Rule& r) const {
  return {{"RuleArn", r.arn},
          {"Priority", r.is_default ? std::string("default") : std::to_string(r.priority)},
          {"Conditions", r.conditions},
          {"Actions", r.actions},
          {"IsDefault", r.is_default}};
}

AwsAnswer ElbFake::describe_load_balancers(const nlohmann::json& in) {
  auto arns = strings(in, "LoadBalancerArns");
  auto names = strings(in, "Names");
  nlohmann::json out = nlohmann::json::array();
  std::size_t matched = 0;
  for (const auto& lb : m_load_balancers) {
    bool wanted = (arns.empty() && names.empty()) ||
                  std::find(arns.begin(), arns.end(), lb.arn) != arns.end() ||
                  std::find(names.begin(), names.end(), lb.name) != names.end();
    if (!wanted) {
      continue;
    }
    ++matched;
    out.push_back({{"LoadBalancerArn", lb.arn},
                   {"DNSName", fmt::format("{}-{}.{}.elb.amazonaws.com", lb.name,
                                           lb.id.substr(0, 10), m_env.region)},
                   {"CanonicalHostedZoneId", "Z35SXDOTRQ7X7K"},
                   {"CreatedTime", iso8601(lb.created)},
                   {"LoadBalancerName", lb.name},
                   {"Scheme", "internet-facing"},
                   {"VpcId", "vpc-0fa1e0000000000a1"},
                   {"State", {{"Code", "active"}}},
                   {"Type", "application"},
                   {"AvailabilityZones",
                    {{{"ZoneName", m_env.region + "a"}, {"SubnetId", "subnet-0fa1e00000000000a"}},
                     {{"ZoneName", m_env.region + "b"}, {"SubnetId", "subnet-0fa1e00000000000b"}}}},
                   {"SecurityGroups", {"sg-0fa1e000000000001"}},
                   {"IpAddressType", "ipv4"}});
  }
  if (matched < arns.size() + names.size()) {
    return AwsError{"LoadBalancerNotFound", "One or more load balancers not found"};
  }
  return nlohmann::json{{"LoadBalancers", out}};
}

AwsAnswer ElbFake::describe_listeners(const nlohmann::json& in) {
  std::string lb_arn = str(in, "LoadBalancerArn");
  auto arns = strings(in, "ListenerArns");
  if (lb_arn.empty() == arns.empty()) {
    return validation("You must specify either a load balancer ARN or one or more listener ARNs");
  }
  if (!lb_arn.empty() && find_load_balancer(lb_arn) == nullptr) {
    return AwsError{"LoadBalancerNotFound", "One or more load balancers not found"};
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& arn : arns) {
    if (find_listener(arn) == nullptr) {
      return AwsError{"ListenerNotFound", "One or more listeners not found"};
    }
  }
  for (const auto& l : m_listeners) {
    if (l.load_balancer_arn == lb_arn || std::find(arns.begin(), arns.end(), l.arn) != arns.end()) {
      out.push_back(listener_json(l));
    }
  }
  return nlohmann::json{{"Listeners", out}};
}

AwsAnswer ElbFake::modify_listener(const nlohmann::json& in) {
  auto* l = find_listener(str(in, "ListenerArn"));
  if (l == nullptr) {
    return AwsError{"ListenerNotFound", "One or more listeners not found"};
  }
  if (has(in, "Port")) {
    auto port = integer(in, "Port");
    if (port < 1 || port > 65535) {
      return validation("Listener port must be between 1 and 65535");
    }
    l->port = static_cast<int>(port);
  }
  if (has(in, "Protocol")) {
    l->protocol = str(in, "Protocol");
  }
  if (has(in, "DefaultActions")) {
    auto actions = check_actions(list(in, "DefaultActions"), l->load_balancer_arn);
    if (auto* e = std::get_if<AwsError>(&actions)) {
      return *e;
    }
    find_rule(l->default_rule_arn)->actions = std::get<nlohmann::json>(actions);
  }
  return nlohmann::json{{"Listeners", {listener_json(*l)}}};
}

AwsAnswer ElbFake::describe_rules(const nlohmann::json& in) {
  std::string listener_arn = str(in, "ListenerArn");
  auto arns = strings(in, "RuleArns");
  if (listener_arn.empty() == arns.empty()) {
    return validation("You must specify either a listener ARN or one or more rule ARNs");
  }
  if (!listener_arn.empty() && find_listener(listener_arn) == nullptr) {
    return AwsError{"ListenerNotFound", "One or more listeners not found"};
  }
  for (const auto& arn : arns) {
    auto* r = find_rule(arn);
    if (r == nullptr || r->hidden > 0) {
      if (r != nullptr) {
        --r->hidden;
      }
      return AwsError{"RuleNotFound", "One or more rules not found"};
    }
  }
  std::vector<const Rule*> found;
  for (auto& r : m_rules) {
    if (!arns.empty() && std::find(arns.begin(), arns.end(), r.arn) == arns.end()) {
      continue;
    }
    if (!listener_arn.empty() && r.listener_arn != listener_arn) {
      continue;
    }
    if (r.hidden > 0) {
      --r.hidden;
      continue;
    }
    found.push_back(&r);
  }
  std::stable_sort(found.begin(), found.end(), [](const Rule* a, const Rule* b) {
    return std::make_pair(a->is_default, a->priority) < std::make_pair(b->is_default, b->priority);
  });
  nlohmann::json out = nlohmann::json::array();
  for (const auto* r : found) {
    out.push_back(rule_json(*r));
  }
  return nlohmann::json{{"Rules", out}};
}

AwsAnswer ElbFake::create_rule(const nlohmann::json& in) {
  auto* l = find_listener(str(in, "ListenerArn"));
  if (l == nullptr) {
    return AwsError{"ListenerNotFound", "One or more listeners not found"};
  }
  auto priority = integer(in, "Priority", -1);
  if (priority < 1 || priority > 50000) {
    return validation(fmt::format("Priority '{}' must be between 1 and 50000", priority));
  }
  for (const auto& r : m_rules) {
    if (r.listener_arn == l->arn && !r.is_default && r.priority == priority) {
      return AwsError{"PriorityInUse", fmt::format("Priority '{}' is currently in use", priority)};
    }
  }
  auto conditions = list(in, "Conditions");
  if (conditions.empty()) {
    return validation("A rule must have at least one condition");
  }
  nlohmann::json normalised = nlohmann::json::array();
  for (const auto& c : conditions) {
    if (k_condition_fields.count(str(c, "Field")) == 0) {
      return validation(fmt::format("Condition field '{}' is not valid", str(c, "Field")));
    }
    normalised.push_back(normalise_condition(c));
  }
  auto actions = check_actions(list(in, "Actions"), l->load_balancer_arn);
  if (auto* e = std::get_if<AwsError>(&actions)) {
    return *e;
  }
  // listener/app/NAME/LB/LISTENER -> listener-rule/app/NAME/LB/LISTENER/RULE
  std::string tail = l->arn.substr(l->arn.find(":listener/") + 10);
  Rule r;
  r.arn = fmt::format("arn:aws:elasticloadbalancing:{}:{}:listener-rule/{}/{}", m_env.region,
                      m_env.account, tail, m_env.hex_id(16));
  r.listener_arn = l->arn;
  r.priority = static_cast<int>(priority);
  r.conditions = normalised;
  r.actions = std::get<nlohmann::json>(actions);
  r.hidden = m_env.consistency_lag;
  m_rules.push_back(r);
  return nlohmann::json{{"Rules", {rule_json(r)}}};
}

AwsAnswer ElbFake::modify_rule(const nlohmann::json& in) {
  auto* r = find_rule(str(in, "RuleArn"));
  if (r == nullptr) {
    return AwsError{"RuleNotFound", "One or more rules not found"};
  }
  if (has(in, "Conditions") && !list(in, "Conditions").empty()) {
    if (r->is_default) {
      return AwsError{"OperationNotPermitted",
                      "The conditions of a default rule cannot be changed"};
    }
    nlohmann::json normalised = nlohmann::json::array();
    for (const auto& c : list(in, "Conditions")) {
      if (k_condition_fields.count(str(c, "Field")) == 0) {
        return validation(fmt::format("Condition field '{}' is not valid", str(c, "Field")));
      }
      normalised.push_back(normalise_condition(c));
    }
    r->conditions = normalised;
  }
  if (has(in, "Actions")) {
    auto* l = find_listener(r->listener_arn);
    auto actions = check_actions(list(in, "Actions"), l->load_balancer_arn);
    if (auto* e = std::get_if<AwsError>(&actions)) {
      return *e;
    }
    r->actions = std::get<nlohmann::json>(actions);
  }
  return nlohmann::json{{"Rules", {rule_json(*r)}}};
}

AwsAnswer ElbFake::delete_rule(const nlohmann::json& in) {
  auto* r = find_rule(str(in, "RuleArn"));
  if (r == nullptr) {
    return AwsError{"RuleNotFound", "One or more rules not found"};
  }
  if (r->is_default) {
    return AwsError{"OperationNotPermitted", "Default rules cannot be deleted"};
  }
  std::string arn = r->arn;
  std::erase_if(m_rules, [&](const Rule& x) { return x.arn == arn; });
  return nlohmann::json::object();
}

}  // namespace ztp::testing
