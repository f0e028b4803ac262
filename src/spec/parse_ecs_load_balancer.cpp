#include <fmt/format.h>

#include "spec/ecs.hpp"
#include "spec/reader.hpp"

// `load_balancer:` of an `ecs:` block: the Application Load Balancer listener whose traffic the
// environment's releases share, the listener rule, and the target group made per release.
namespace ztp::spec::detail {
namespace {

std::optional<std::string> read_listener(Reader& r, const Value& v, std::vector<EcsArnMark>& arns) {
  auto text = r.string(v);
  if (!text || !read_ecs_arn(r, v, *text, ArnKind::listener, arns)) {
    return std::nullopt;
  }
  return text;
}

void read_rule(Reader& r, const Value& v, EcsListenerRule& out) {
  Fields f(r, v, "rule", {"priority", "hosts", "paths"});
  if (!f.ok()) {
    return;
  }
  if (auto priority =
          f.require("priority", "write priority: 10 (1-50000, unique on the listener)")) {
    out.priority = r.integer(*priority, 1, k_elb_max_rule_priority).value_or(0);
  }
  std::size_t written = 0;
  auto read = [&](const char* key, bool (*valid)(std::string_view), const char* rule,
                  std::vector<std::string>& into) {
    auto v = f.get(key);
    for (const auto& item : v ? r.list(*v).value_or(std::vector<Value>{}) : std::vector<Value>{}) {
      ++written;
      auto text = r.string(item);
      if (text && !valid(*text)) {
        r.error(item.pos, fmt::format("`{}` in {} is not a {}", *text, key, rule),
                std::string(key) == "hosts"
                    ? "at most 128 letters, digits and - . * ?, with a `.` and only letters after "
                      "the last one; like www.example.com or *.example.com"
                    : "at most 128 letters, digits and _ - . $ / ~ \" ' @ : + & * ?; like /api/*");
      } else if (text) {
        into.push_back(std::move(*text));
      }
    }
  };
  read("hosts", is_host_condition, "host-header condition", out.hosts);
  read("paths", is_path_condition, "path-pattern condition", out.paths);
  if (written == 0) {
    r.error(f.pos(), "rule needs hosts, paths or both",
            "a rule sends the requests it matches; omit rule to drive the listener's default "
            "action");
  } else if (written > k_elb_max_condition_values) {
    r.error(f.pos(),
            fmt::format("rule has {} condition values; a rule holds at most {}", written,
                        k_elb_max_condition_values),
            "an Application Load Balancer's rule holds 5 condition values (hosts and paths)");
  }
}

// A duration the load balancer counts in whole seconds, `min`-`max`.
void read_seconds(Reader& r, const Fields& f, const std::string& key, int min, int max,
                  Duration& out) {
  auto v = f.get(key);
  auto d = v ? r.duration(*v, true) : std::nullopt;
  if (!d) {
    return;
  }
  if (d->count() % 1000 != 0) {
    r.error(v->pos, fmt::format("{} must be whole seconds", key),
            "the load balancer counts it in seconds: write 10s, not 10500ms");
  } else if (d->count() < min * 1000LL || d->count() > max * 1000LL) {
    r.error(v->pos, fmt::format("{} must be between {}s and {}s", key, min, max));
  } else {
    out = *d;
  }
}

void read_health_check(Reader& r, const Value& v, EcsHealthCheck& out) {
  Fields f(r, v, "health_check",
           {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher"});
  if (auto path = f.get("path"); auto text = path ? r.string(*path) : std::nullopt) {
    if (!text->starts_with("/") || text->size() > k_elb_max_health_check_path) {
      r.error(
          path->pos,
          fmt::format("health check path `{}` must start with `/` and be at most 1024 characters",
                      *text),
          "like /health");
    } else {
      out.path = std::move(*text);
    }
  }
  read_seconds(r, f, "interval", k_elb_min_interval_s, k_elb_max_interval_s, out.interval);
  read_seconds(r, f, "timeout", k_elb_min_timeout_s, k_elb_max_timeout_s, out.timeout);
  if (out.timeout >= out.interval) {
    auto at = f.get("timeout") ? f.get("timeout") : f.get("interval");
    r.error(at->pos,
            fmt::format("health check timeout {}s must be less than its interval {}s",
                        out.timeout.count() / 1000, out.interval.count() / 1000),
            "a check must time out before the next one starts");
  }
  f.read("healthy_threshold", out.healthy_threshold, k_elb_min_threshold, k_elb_max_threshold);
  f.read("unhealthy_threshold", out.unhealthy_threshold, k_elb_min_threshold, k_elb_max_threshold);
  if (auto matcher = f.get("matcher"); auto text = matcher ? r.string(*matcher) : std::nullopt) {
    bool ok = is_http_matcher(*text);
    if (!ok) {
      r.error(matcher->pos, fmt::format("matcher `{}` is not HTTP codes from 200 to 499", *text),
              "write one code (200), a list (200,302) or a range (200-399)");
    } else {
      out.matcher = std::move(*text);
    }
  }
}

}  // namespace

void parse_ecs_load_balancer(Reader& r, const Value& v, const Environment& env,
                             EcsSettings& settings, std::vector<EcsArnMark>& arns) {
  Fields f(r, v, "load_balancer", {"vpc", "listener", "rule", "test_listener", "target_group"});
  if (!f.ok()) {
    return;
  }
  EcsLoadBalancer out;
  out.pos = v.key_pos;
  if (auto vpc = f.require("vpc", "write vpc: vpc-0123456789abcdef0, the VPC of the subnets")) {
    auto id = r.string(*vpc);
    if (id && !is_resource_id(*id, "vpc")) {
      r.error(vpc->pos, fmt::format("vpc `{}` is not a vpc- ID", *id),
              "IDs are vpc- and 8 or 17 lower-case hexadecimal digits, like vpc-0123456789abcdef0");
    } else if (id) {
      out.vpc = std::move(*id);
    }
  }
  if (auto listener =
          f.require("listener", fmt::format("write listener: {}", arn_shape(ArnKind::listener)))) {
    out.listener = read_listener(r, *listener, arns).value_or("");
  }
  if (auto rule = f.get("rule")) {
    read_rule(r, *rule, out.rule.emplace());
  }
  bool blue_green = env.strategy.kind == Strategy::Kind::blue_green;
  auto test = blue_green ? f.require("test_listener",
                                     "blue_green previews the new release through a second "
                                     "listener of the load balancer: write its ARN")
                         : f.get("test_listener");
  if (test) {
    out.test_listener = read_listener(r, *test, arns).value_or("");
    if (!out.test_listener.empty() && out.test_listener == out.listener) {
      r.error(test->pos, "test_listener is the same listener as listener",
              "previews need a listener of their own, like another port of the load balancer");
    }
  }
  if (auto group = f.get("target_group")) {
    Fields g(r, *group, "target_group", {"name_prefix", "health_check", "deregistration_delay"});
    auto prefix = g.get("name_prefix");
    if (auto text = prefix ? r.string(*prefix) : std::nullopt) {
      if (auto problem = target_group_prefix_problem(*text); !problem.empty()) {
        r.error(
            prefix->pos,
            fmt::format("name_prefix `{}` cannot start a target group name: {}", *text, problem),
            fmt::format("target groups are named PREFIX-RELEASE; write 1-{} letters, "
                        "digits and `-`, like {}",
                        k_ecs_max_target_group_prefix, shorten_target_group_prefix(*text)));
      } else {
        out.target_group.name_prefix = std::move(*text);
      }
    }
    if (auto health = g.get("health_check")) {
      read_health_check(r, *health, out.target_group.health_check);
    }
    read_seconds(r, g, "deregistration_delay", 0, k_elb_max_deregistration_delay_s,
                 out.target_group.deregistration_delay);
  }
  if (settings.launch_type == "EXTERNAL") {
    r.error(v.key_pos, "load_balancer is not available with launch_type EXTERNAL",
            "ECS Anywhere services cannot register with Elastic Load Balancing");
  }
  settings.load_balancer = std::move(out);
}

}  // namespace ztp::spec::detail
