#include <arpa/inet.h>
#include <fmt/format.h>

#include <utility>
#include <vector>

#include "spec/ecs.hpp"
#include "spec/reader.hpp"

// The checks of ECS environments against the rest of the spec: what ECS pulls the image from,
// and names and listener rules that two environments would otherwise share.
namespace ztp::spec::detail {
namespace {

// Whether the host of `host_port` (host[:port], [v6][:port]) is this machine: localhost, a
// loopback or the unspecified address.
bool is_loopback(const std::string& host_port) {
  std::string host = host_port.starts_with("[") ? host_port.substr(1, host_port.find(']') - 1)
                                                : host_port.substr(0, host_port.find(':'));
  in6_addr v6{};
  in_addr v4{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6);
  }
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    std::uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || a == 0;
  }
  return host == "localhost" || host.ends_with(".localhost");
}

}  // namespace

void check_ecs(Reader& r, const Spec& spec) {
  std::vector<std::pair<const Environment*, EcsSettings>> seen;
  for (const auto& env : spec.environments) {
    if (!env.ecs) {
      continue;
    }
    EcsSettings s = resolve_ecs(spec, env);
    if (s.load_balancer && env.ecs->load_balancer->target_group.name_prefix.empty()) {
      if (auto problem = target_group_prefix_problem(s.service_prefix); !problem.empty()) {
        r.error(s.load_balancer->pos,
                fmt::format("target group names are PREFIX-RELEASE, and the service prefix `{}` "
                            "cannot be their PREFIX: {}",
                            s.service_prefix, problem),
                fmt::format("set load_balancer.target_group.name_prefix, like name_prefix: {}",
                            shorten_target_group_prefix(s.service_prefix)));
      }
    }
    for (const auto& [other_env, other] : seen) {
      std::string clash;
      if (other.cluster == s.cluster && other.service_prefix == s.service_prefix) {
        clash = fmt::format("the service prefix `{}` in cluster {}", s.service_prefix, s.cluster);
      } else if (s.load_balancer && other.load_balancer && s.region == other.region &&
                 s.load_balancer->target_group.name_prefix ==
                     other.load_balancer->target_group.name_prefix) {
        clash =
            fmt::format("the target group prefix `{}`", s.load_balancer->target_group.name_prefix);
      } else if (s.load_balancer && other.load_balancer && !s.load_balancer->listener.empty() &&
                 s.load_balancer->listener == other.load_balancer->listener &&
                 (s.load_balancer->rule ? s.load_balancer->rule->priority : 0) ==
                     (other.load_balancer->rule ? other.load_balancer->rule->priority : 0)) {
        clash = s.load_balancer->rule ? fmt::format("rule priority {} on one listener",
                                                    s.load_balancer->rule->priority)
                                      : "the default action of one listener";
      }
      if (!clash.empty()) {
        r.error(
            s.pos,
            fmt::format("environments `{}` and `{}` share {}", other_env->name, env.name, clash),
            "each ECS environment needs its own services, target groups and listener rule");
        break;
      }
    }
    seen.emplace_back(&env, std::move(s));
  }
  if (seen.empty()) {
    return;
  }
  const Registry& registry = spec.registry;
  const EcsSettings& first = seen.front().second;
  Position at = registry.pos.line > 0 ? registry.pos : first.pos;
  std::string why;
  if (registry.kind == Registry::Kind::local) {
    why = "is an image layout on this machine, which ECS cannot pull from";
  } else if (registry.kind == Registry::Kind::oci) {
    if (is_loopback(registry.host)) {
      why = fmt::format("is on this machine's loopback ({}), which ECS tasks cannot reach",
                        registry.host);
    }
  } else {
    for (const auto& [env, s] : seen) {
      if (!s.region.empty() && region_partition(registry.region) != region_partition(s.region)) {
        why =
            fmt::format("is in region {}, another AWS partition than environment `{}`'s region {}",
                        registry.region, env->name, s.region);
        break;
      }
    }
  }
  if (!why.empty()) {
    r.error(at,
            fmt::format("target ecs (environment `{}`) needs a registry ECS can pull from, and "
                        "registry `{}` {}",
                        seen.front().first->name, registry.url, why),
            "write registry: ecr://ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO, or "
            "oci://HOST/REPO on a host the tasks reach");
  }
}

}  // namespace ztp::spec::detail
