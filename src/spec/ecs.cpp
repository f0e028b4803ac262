#include "spec/ecs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

// The limits here are AWS's, as the API models of ECS (2014-11-13), Elastic Load Balancing v2
// (2015-12-01) and CloudWatch Logs (2014-03-28) state them; docs/ztp-yaml.md cites each.
namespace ztp::spec {
namespace {

bool matches(std::string_view s, const std::regex& pattern) {
  return std::regex_match(s.begin(), s.end(), pattern);
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

Error bad(std::string message) { return make_error(Errc::invalid, std::move(message)); }

// Characters, counting a UTF-8 sequence as one.
std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Why the resource of `arn` is not one of `kind`; empty when it is.
std::string resource_problem(const Arn& arn, ArnKind kind) {
  const std::string& res = arn.resource;
  switch (kind) {
    case ArnKind::cluster:
      if (res.starts_with("cluster/") && is_ecs_name(res.substr(8), 255)) {
        return "";
      }
      return "its resource is not cluster/NAME (1-255 letters, digits, `-` and `_`)";
    case ArnKind::listener: {
      static const std::regex k_alb(
          "listener/app/[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?/[0-9a-f]{16}/[0-9a-f]{16}");
      if (matches(res, k_alb)) {
        return "";
      }
      if (res.starts_with("listener/net/") || res.starts_with("listener/gwy/")) {
        return fmt::format(
            "it is a {} Load Balancer's listener, not an Application Load "
            "Balancer's",
            res[9] == 'n' ? "Network" : "Gateway");
      }
      if (res.starts_with("listener-rule/")) {
        return "it names a listener rule; name the listener and write the rule under `rule`";
      }
      return "its resource is not listener/app/NAME/ID/ID";
    }
    case ArnKind::role: {
      static const std::regex k_role(R"(role(/[\x21-\x7E]{0,510})?/[A-Za-z0-9+=,.@_-]{1,64})");
      if (matches(res, k_role)) {
        return "";
      }
      return "its resource is not role/NAME or role/PATH/NAME, NAME 1-64 letters, digits and "
             "+=,.@_-";
    }
  }
  return "";
}

}  // namespace

bool EcsSettings::fargate() const {
  if (!launch_type.empty()) {
    return launch_type == "FARGATE";
  }
  return !capacity_providers.empty() &&
         std::all_of(capacity_providers.begin(), capacity_providers.end(),
                     [](const auto& p) { return p.name == "FARGATE" || p.name == "FARGATE_SPOT"; });
}

const std::vector<std::string>& ecs_launch_types() {
  static const std::vector<std::string> types{"FARGATE", "EC2", "EXTERNAL"};
  return types;
}

const std::vector<int>& fargate_cpu_units() {
  static const std::vector<int> cpus{256, 512, 1024, 2048, 4096, 8192, 16384};
  return cpus;
}

std::vector<int> fargate_memory_mib(int cpu) {
  auto gib_steps = [](int from, int to, int step) {
    std::vector<int> out;
    for (int gib = from; gib <= to; gib += step) {
      out.push_back(gib * 1024);
    }
    return out;
  };
  switch (cpu) {
    case 256:
      return {512, 1024, 2048};
    case 512:
      return gib_steps(1, 4, 1);
    case 1024:
      return gib_steps(2, 8, 1);
    case 2048:
      return gib_steps(4, 16, 1);
    case 4096:
      return gib_steps(8, 30, 1);
    case 8192:
      return gib_steps(16, 60, 4);
    case 16384:
      return gib_steps(32, 120, 8);
    default:
      return {};
  }
}

const std::vector<int>& log_retention_days() {
  static const std::vector<int> days{1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                     365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
  return days;
}

bool is_region_name(std::string_view region) {
  static const std::regex k_region("[a-z]{2}(-[a-z]+)+-[0-9]{1,2}");
  return matches(region, k_region);
}

std::string region_partition(std::string_view region) {
  if (region.starts_with("cn-")) {
    return "aws-cn";
  }
  return region.starts_with("us-gov-") ? "aws-us-gov" : "aws";
}

Result<Arn> parse_arn(std::string_view text, ArnKind kind) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (int i = 0; i < 5; ++i) {
    std::size_t colon = text.find(':', at);
    if (colon == std::string_view::npos) {
      return bad("an ARN is arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE");
    }
    parts.emplace_back(text.substr(at, colon - at));
    at = colon + 1;
  }
  Arn arn{parts[1], parts[2], parts[3], parts[4], std::string(text.substr(at))};
  const char* service = kind == ArnKind::cluster    ? "ecs"
                        : kind == ArnKind::listener ? "elasticloadbalancing"
                                                    : "iam";
  static const std::regex k_account("[0-9]{12}");
  if (parts[0] != "arn") {
    return bad("an ARN starts with `arn:`");
  }
  if (arn.partition != "aws" && arn.partition != "aws-cn" && arn.partition != "aws-us-gov") {
    return bad(fmt::format("unknown partition `{}` (aws, aws-cn or aws-us-gov)", arn.partition));
  }
  if (arn.service != service) {
    return bad(fmt::format("it is an ARN of service `{}`, not {}", arn.service, service));
  }
  if (kind == ArnKind::role && !arn.region.empty()) {
    return bad("IAM ARNs name no region");
  }
  if (kind != ArnKind::role && !is_region_name(arn.region)) {
    return bad(arn.region.empty() ? "the region is missing"
                                  : fmt::format("`{}` is not a region code", arn.region));
  }
  if (kind != ArnKind::role && region_partition(arn.region) != arn.partition) {
    return bad(fmt::format("region {} is not in partition {}", arn.region, arn.partition));
  }
  if (!matches(arn.account, k_account)) {
    return bad(fmt::format("the account `{}` is not 12 digits", arn.account));
  }
  if (auto problem = resource_problem(arn, kind); !problem.empty()) {
    return bad(std::move(problem));
  }
  return arn;
}

std::string arn_shape(ArnKind kind) {
  switch (kind) {
    case ArnKind::cluster:
      return "arn:aws:ecs:REGION:ACCOUNT:cluster/NAME";
    case ArnKind::listener:
      return "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID";
    case ArnKind::role:
      return "arn:aws:iam::ACCOUNT:role/NAME";
  }
  return "";
}

bool is_ecs_name(std::string_view s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '_';
  });
}

bool is_resource_id(std::string_view s, std::string_view prefix) {
  if (!s.starts_with(prefix) || s.size() <= prefix.size() || s[prefix.size()] != '-') {
    return false;
  }
  std::string_view hex = s.substr(prefix.size() + 1);
  return (hex.size() == 8 || hex.size() == 17) &&
         hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool is_role_name(std::string_view s) {
  static const std::regex k_name("[A-Za-z0-9+=,.@_-]{1,64}");
  return matches(s, k_name);
}

bool is_log_group_name(std::string_view s) {
  static const std::regex k_group("[A-Za-z0-9._/#-]{1,512}");
  return matches(s, k_group) && !s.starts_with("aws/");
}

bool is_host_condition(std::string_view s) {
  static const std::regex k_host(R"([A-Za-z0-9*?.-]*\.[A-Za-z]+)");
  return s.size() <= 128 && matches(s, k_host);
}

bool is_path_condition(std::string_view s) {
  static const std::regex k_path(R"([A-Za-z0-9_.$/~"'@:+&*?-]{1,128})");
  return matches(s, k_path);
}

bool is_http_matcher(std::string_view s) {
  static const std::regex k_codes(R"([0-9]{3}(-[0-9]{3}|(,[0-9]{3})*))");
  if (!matches(s, k_codes)) {
    return false;
  }
  std::vector<int> codes;
  for (std::size_t at = 0; at < s.size(); at += 4) {
    codes.push_back(std::stoi(std::string(s.substr(at, 3))));
  }
  bool in_range =
      std::all_of(codes.begin(), codes.end(), [](int code) { return code >= 200 && code <= 499; });
  return in_range && (s.find('-') == std::string_view::npos || codes[0] <= codes[1]);
}

std::string target_group_prefix_problem(std::string_view s) {
  if (s.empty() || s.size() > k_ecs_max_target_group_prefix) {
    return fmt::format(
        "it is {} characters, and 1 to {} leave room for `-` and a {}-character release id in "
        "the 32 of a target group name",
        s.size(), k_ecs_max_target_group_prefix, k_ecs_release_id_length);
  }
  if (!std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; }) ||
      s.front() == '-' || s.back() == '-') {
    return "target group names are letters, digits and `-`, not starting or ending with `-`";
  }
  return "";
}

std::string shorten_target_group_prefix(std::string s) {
  std::replace(s.begin(), s.end(), '_', '-');
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return !is_alnum(c) && c != '-'; }),
          s.end());
  s.erase(0, std::min(s.find_first_not_of('-'), s.size()));
  s.resize(std::min(s.size(), k_ecs_max_target_group_prefix));
  while (!s.empty() && s.back() == '-') {
    s.pop_back();
  }
  return s.empty() ? "ztp" : s;
}

std::string tag_problem(std::string_view s, std::size_t max) {
  if (s.size() >= 4 && std::tolower(static_cast<unsigned char>(s[0])) == 'a' &&
      std::tolower(static_cast<unsigned char>(s[1])) == 'w' &&
      std::tolower(static_cast<unsigned char>(s[2])) == 's' && s[3] == ':') {
    return "it starts with `aws:`, which AWS reserves";
  }
  if (std::size_t n = utf8_length(s); n > max) {
    return fmt::format("it is {} characters, more than {}", n, max);
  }
  // Letters, digits and spaces of any script (any non-ASCII character passes) and _.:/=+-@.
  for (char c : s) {
    if ((c & 0x80) == 0 && !is_alnum(c) &&
        std::string_view(" _.:/=+-@").find(c) == std::string_view::npos) {
      return fmt::format("it holds `{}`; tags take letters, digits, spaces and _ . : / = + - @", c);
    }
  }
  return "";
}

EcsSettings resolve_ecs(const Spec& spec, const Environment& env) {
  EcsSettings out = *env.ecs;
  if (out.service_prefix.empty()) {
    out.service_prefix = spec.app + "-" + env.name;
  }
  if (out.logs.group.empty()) {
    out.logs.group = "/ecs/" + out.service_prefix;
  }
  if (out.load_balancer) {
    EcsTargetGroup& group = out.load_balancer->target_group;
    if (group.name_prefix.empty()) {
      group.name_prefix = out.service_prefix;
    }
    if (group.health_check.path.empty()) {
      group.health_check.path = spec.service.health.path;
    }
  }
  return out;
}

std::string ecs_service_name(const EcsSettings& resolved, std::string_view release_id) {
  return fmt::format("{}-{}", resolved.service_prefix, release_id);
}

std::string ecs_target_group_name(const EcsSettings& resolved, std::string_view release_id) {
  const std::string& prefix = resolved.load_balancer
                                  ? resolved.load_balancer->target_group.name_prefix
                                  : resolved.service_prefix;
  return fmt::format("{}-{}", prefix, release_id);
}

}  // namespace ztp::spec
