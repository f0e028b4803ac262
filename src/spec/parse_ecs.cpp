#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <iterator>
#include <regex>

#include "spec/ecs.hpp"
#include "spec/reader.hpp"
#include "spec/suggest.hpp"

// The limits below are AWS's, as the API models of ECS (2014-11-13), Elastic Load Balancing v2
// (2015-12-01) and CloudWatch Logs (2014-03-28) state them; docs/ztp-yaml.md cites each.
namespace ztp::spec {
namespace {

constexpr std::int64_t k_mib = std::int64_t{1} << 20;

std::string show_mib(int mib) {
  return mib % 1024 == 0 ? fmt::format("{}Gi", mib / 1024) : fmt::format("{}Mi", mib);
}

// "a, b or c".
std::string join_or(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  }
  return out;
}

// "512Mi, 1Gi or 2Gi", or "from 4Gi to 16Gi in 1Gi steps".
std::string describe_sizes(const std::vector<int>& mib) {
  if (mib.size() > 4) {
    return fmt::format("from {} to {} in {} steps", show_mib(mib.front()), show_mib(mib.back()),
                       show_mib(mib[1] - mib[0]));
  }
  std::vector<std::string> words;
  std::transform(mib.begin(), mib.end(), std::back_inserter(words), show_mib);
  return join_or(words);
}

// 1.4.0 -> {1, 4, 0}; LATEST sorts above every number.
std::vector<int> version_parts(const std::string& v) {
  if (v == "LATEST") {
    return {INT_MAX};
  }
  std::vector<int> out;
  for (std::size_t at = 0; at <= v.size();) {
    std::size_t dot = std::min(v.find('.', at), v.size());
    out.push_back(std::stoi(v.substr(at, dot - at)));
    at = dot + 1;
  }
  return out;
}

}  // namespace

namespace detail {
namespace {

// What parse_ecs remembers across keys.
struct EcsMarks {
  std::vector<EcsArnMark> arns;
  std::optional<Position> region;
};

void read_region(Reader& r, const Fields& f, EcsSettings& out, EcsMarks& marks) {
  auto v = f.get("region");
  auto text = v ? r.string(*v) : std::nullopt;
  if (!text) {
    return;
  }
  if (!is_region_name(*text)) {
    r.error(v->pos, fmt::format("region `{}` is not an AWS region code", *text),
            "write a code like eu-west-1, us-east-1 or us-gov-west-1; omit it to take the "
            "region from AWS_REGION or the AWS config at run time");
    return;
  }
  out.region = std::move(*text);
  marks.region = v->pos;
}

void read_cluster(Reader& r, const Fields& f, EcsSettings& out, EcsMarks& marks) {
  const char* shape = "a cluster name, or arn:aws:ecs:REGION:ACCOUNT:cluster/NAME";
  auto v = f.require("cluster", fmt::format("write {}", shape));
  auto text = v ? r.string(*v) : std::nullopt;
  if (!text) {
    return;
  }
  if (text->starts_with("arn:") ? !read_ecs_arn(r, *v, *text, ArnKind::cluster, marks.arns)
                                : !is_ecs_name(*text, 255)) {
    if (!text->starts_with("arn:")) {
      r.error(v->pos,
              fmt::format("cluster name `{}` must be 1-255 letters, digits, `-` and `_`", *text),
              fmt::format("write {}", shape));
    }
    return;
  }
  out.cluster = std::move(*text);
}

void read_service_prefix(Reader& r, const Fields& f, EcsSettings& out) {
  auto v = f.get("service_prefix");
  auto text = v ? r.string(*v) : std::nullopt;
  if (!text) {
    return;
  }
  if (!is_ecs_name(*text, k_ecs_max_service_prefix)) {
    r.error(v->pos,
            fmt::format("service_prefix `{}` must be 1-{} letters, digits, `-` and `_`", *text,
                        k_ecs_max_service_prefix),
            fmt::format("services are named PREFIX-RELEASE, at most 255 characters with a "
                        "release id of {}",
                        k_ecs_release_id_length));
    return;
  }
  out.service_prefix = std::move(*text);
}

void read_launch_type(Reader& r, const Value& v, EcsSettings& out) {
  auto text = r.string(v);
  if (!text) {
    return;
  }
  const auto& types = ecs_launch_types();
  std::string upper = *text;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(types.begin(), types.end(), *text) != types.end()) {
    out.launch_type = std::move(*text);
  } else if (upper == "MANAGED_INSTANCES") {
    r.error(v.pos, fmt::format("launch_type `{}` cannot be named as a launch type", *text),
            "ECS Managed Instances are chosen through capacity_providers");
  } else if (std::find(types.begin(), types.end(), upper) != types.end()) {
    r.error(v.pos, fmt::format("unknown launch_type `{}`", *text),
            fmt::format("launch types are written in capitals: {}", upper));
  } else {
    r.error(v.pos, fmt::format("unknown launch_type `{}`", *text), suggest(*text, types));
  }
}

void read_capacity_providers(Reader& r, const Value& v, EcsSettings& out) {
  const char* hint = "write [{name: FARGATE_SPOT, weight: 3}, {name: FARGATE, weight: 1, base: 1}]";
  auto items = r.list(v);
  if (!items) {
    return;
  }
  if (items->empty() || items->size() > k_ecs_max_capacity_providers) {
    r.error(v.pos,
            fmt::format("capacity_providers must list 1 to {} providers, not {}",
                        k_ecs_max_capacity_providers, items->size()),
            hint);
  }
  bool clean = true;
  int fargate = 0;
  int based = 0;
  for (auto& item : *items) {
    item.name = "capacity provider";
    Fields p(r, item, "capacity provider", {"name", "weight", "base"});
    EcsCapacityProvider provider;
    auto name = p.require("name", hint);
    auto text = name ? r.string(*name) : std::nullopt;
    if (text && !is_ecs_name(*text, 255)) {
      r.error(
          name->pos,
          fmt::format("capacity provider `{}` must be 1-255 letters, digits, `-` and `_`", *text),
          "name FARGATE, FARGATE_SPOT or one of the cluster's capacity providers");
      text.reset();
    }
    if (text) {
      auto same = [&](const auto& other) { return other.name == *text; };
      if (std::any_of(out.capacity_providers.begin(), out.capacity_providers.end(), same)) {
        r.error(name->pos, fmt::format("capacity provider `{}` is listed twice", *text),
                "list each provider once");
      }
      provider.name = std::move(*text);
      fargate += provider.name == "FARGATE" || provider.name == "FARGATE_SPOT" ? 1 : 0;
    }
    clean = clean && text.has_value();
    p.read("weight", provider.weight, 0, k_ecs_max_capacity_weight);
    p.read("base", provider.base, 0, k_ecs_max_capacity_base);
    if (provider.base > 0 && ++based == 2) {
      r.error(p.get("base")->pos, "only one capacity provider may have a base",
              "ECS places the base tasks on one provider, then shares the rest by weight");
    }
    out.capacity_providers.push_back(std::move(provider));
  }
  auto weighted = [](const EcsCapacityProvider& p) { return p.weight > 0; };
  if (!out.capacity_providers.empty() &&
      std::none_of(out.capacity_providers.begin(), out.capacity_providers.end(), weighted)) {
    r.error(v.pos, "every capacity provider has weight 0",
            "give at least one a weight above 0: providers of weight 0 place no tasks");
  }
  if (clean && fargate > 0 && fargate < static_cast<int>(out.capacity_providers.size())) {
    r.error(v.pos, "capacity_providers mixes FARGATE or FARGATE_SPOT with other providers",
            "a strategy holds either Fargate or Auto Scaling group providers, not both");
  }
}

// `key`: 1 to `max` IDs of `prefix` (subnet, sg), each once.
void read_ids(Reader& r, const Fields& f, const std::string& key, const std::string& prefix,
              std::size_t max, std::vector<std::string>& out) {
  std::string example = fmt::format("{}-0123456789abcdef0", prefix);
  auto v = f.require(key, fmt::format("write {}: [{}]", key, example));
  auto items = v ? r.list(*v) : std::nullopt;
  if (!items) {
    return;
  }
  if (items->empty() || items->size() > max) {
    r.error(v->pos, fmt::format("{} must list 1 to {} IDs, not {}", key, max, items->size()));
  }
  for (const auto& item : *items) {
    auto id = r.string(item);
    if (!id) {
      continue;
    }
    if (!is_resource_id(*id, prefix)) {
      r.error(item.pos, fmt::format("`{}` in {} is not a {}- ID", *id, key, prefix),
              fmt::format("IDs are {}- and 8 or 17 lower-case hexadecimal digits, like {}", prefix,
                          example));
    } else if (std::find(out.begin(), out.end(), *id) != out.end()) {
      r.error(item.pos, fmt::format("`{}` is listed twice in {}", *id, key));
    } else {
      out.push_back(std::move(*id));
    }
  }
}

void read_network(Reader& r, const Value& v, EcsSettings& out) {
  Fields f(r, v, "network", {"subnets", "security_groups", "assign_public_ip"});
  if (!f.ok()) {
    return;
  }
  EcsNetwork network;
  read_ids(r, f, "subnets", "subnet", k_ecs_max_subnets, network.subnets);
  read_ids(r, f, "security_groups", "sg", k_ecs_max_security_groups, network.security_groups);
  f.read("assign_public_ip", network.assign_public_ip);
  if (network.assign_public_ip && !out.fargate()) {
    r.error(f.get("assign_public_ip")->pos, "assign_public_ip applies to Fargate tasks only",
            "tasks on EC2 instances get no public address of their own; use a NAT gateway");
  }
  if (out.launch_type == "EXTERNAL") {
    r.error(v.key_pos, "network (awsvpc) is not available with launch_type EXTERNAL",
            "ECS Anywhere tasks use bridge or host networking: remove network");
  }
  out.network = std::move(network);
}

void read_role(Reader& r, const Fields& f, const std::string& key, std::string& out,
               EcsMarks& marks, bool required, const char* why) {
  const std::string shape = "arn:aws:iam::ACCOUNT:role/NAME, or the role's name";
  auto v = required ? f.require(key, fmt::format("{}: write {}", why, shape)) : f.get(key);
  auto text = v ? r.string(*v) : std::nullopt;
  if (!text) {
    return;
  }
  if (text->starts_with("arn:") ? !read_ecs_arn(r, *v, *text, ArnKind::role, marks.arns)
                                : !is_role_name(*text)) {
    if (!text->starts_with("arn:")) {
      r.error(v->pos, fmt::format("{} `{}` is neither a role ARN nor a role name", key, *text),
              fmt::format("write {}; names are 1-64 letters, digits and +=,.@_-", shape));
    }
    return;
  }
  out = std::move(*text);
}

// cpu and memory: a Fargate task size, or any size within ECS's limits on EC2 and EXTERNAL.
void read_size(Reader& r, const Fields& f, EcsSettings& out) {
  auto cpu_value = f.get("cpu");
  auto memory_value = f.get("memory");
  bool fargate = out.fargate();
  std::optional<int> cpu = cpu_value ? r.integer(*cpu_value, fargate ? INT_MIN : k_ecs_min_ec2_cpu,
                                                 fargate ? INT_MAX : k_ecs_max_ec2_cpu)
                                     : std::nullopt;
  const auto& cpus = fargate_cpu_units();
  if (cpu && fargate && std::find(cpus.begin(), cpus.end(), *cpu) == cpus.end()) {
    r.error(cpu_value->pos, fmt::format("cpu {} is not a Fargate task size", *cpu),
            "Fargate cpu is 256, 512, 1024, 2048, 4096, 8192 or 16384 (1024 units = 1 vCPU)");
    return;
  }
  std::optional<int> memory;
  if (memory_value) {
    auto bytes = read_memory_size(r, *memory_value);
    if (!bytes) {
      return;
    }
    auto text = r.string(*memory_value).value_or("");
    if (*bytes % k_mib != 0) {
      r.error(memory_value->pos, fmt::format("memory `{}` is not a whole number of MiB", text),
              "ECS sizes memory in MiB: write 512Mi or 2Gi (a number without a unit is bytes)");
      return;
    }
    if (*bytes / k_mib < 6) {
      r.error(memory_value->pos, fmt::format("memory `{}` is below 6Mi", text),
              "a container needs at least 6Mi");
      return;
    }
    if (*bytes / k_mib > INT_MAX) {
      r.error(memory_value->pos, fmt::format("memory `{}` is above {}Mi", text, INT_MAX));
      return;
    }
    memory = static_cast<int>(*bytes / k_mib);
  }
  if (fargate) {
    auto takes = [](int c, int m) {
      auto sizes = fargate_memory_mib(c);
      return std::find(sizes.begin(), sizes.end(), m) != sizes.end();
    };
    std::vector<int> fitting;
    for (int c : cpus) {
      if (memory && takes(c, *memory)) {
        fitting.push_back(c);
      }
    }
    if (memory && fitting.empty()) {
      r.error(memory_value->pos,
              fmt::format("memory {} is not a Fargate task size", show_mib(*memory)),
              "Fargate takes 512Mi, 1Gi or 2Gi with cpu 256, then whole Gi up to 30Gi, 4Gi steps "
              "to 60Gi and 8Gi steps to 120Gi, each with its cpu");
      return;
    }
    cpu = cpu.value_or(memory ? fitting.front() : out.cpu);
    memory = memory.value_or(fargate_memory_mib(*cpu).front());
    if (!takes(*cpu, *memory)) {
      std::vector<std::string> cpu_words;
      std::transform(fitting.begin(), fitting.end(), std::back_inserter(cpu_words),
                     [](int c) { return std::to_string(c); });
      r.error(memory_value->pos,
              fmt::format("memory {} does not go with cpu {} on Fargate", show_mib(*memory), *cpu),
              fmt::format("cpu {} takes memory {}; memory {} goes with cpu {}", *cpu,
                          describe_sizes(fargate_memory_mib(*cpu)), show_mib(*memory),
                          join_or(cpu_words)));
      return;
    }
  }
  out.cpu = cpu.value_or(out.cpu);
  out.memory_mib = memory.value_or(out.memory_mib);
}

void read_platform_version(Reader& r, const Fields& f, EcsSettings& out) {
  static const std::regex k_version("LATEST|[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}");
  auto v = f.get("platform_version");
  auto text = v ? r.string(*v) : std::nullopt;
  if (!text) {
    return;
  }
  if (!out.fargate()) {
    r.error(v->key_pos, "platform_version applies to Fargate only",
            "tasks on EC2 and EXTERNAL capacity run on the cluster's own instances: remove it");
  } else if (!std::regex_match(*text, k_version)) {
    r.error(v->pos, fmt::format("platform_version `{}` is not LATEST or a version", *text),
            "write LATEST or a Fargate platform version like 1.4.0");
  } else if (out.cpu >= 8192 && version_parts(*text) < std::vector<int>{1, 4, 0}) {
    r.error(v->pos, fmt::format("cpu {} needs Fargate platform version 1.4.0 or later", out.cpu),
            "write platform_version: LATEST or 1.4.0");
  } else {
    out.platform_version = std::move(*text);
  }
}

void read_logs(Reader& r, const Value& v, EcsLogs& out) {
  Fields f(r, v, "logs", {"group", "stream_prefix", "create_group", "retention_days"});
  if (auto group = f.get("group"); auto text = group ? r.string(*group) : std::nullopt) {
    if (!is_log_group_name(*text)) {
      r.error(group->pos, fmt::format("log group `{}` is not a log group name", *text),
              "1-512 letters, digits and _ - / . #, not starting with aws/; like /ecs/web-prod");
    } else {
      out.group = std::move(*text);
    }
  }
  if (auto prefix = f.get("stream_prefix"); auto text = prefix ? r.string(*prefix) : std::nullopt) {
    if (text->empty() || text->size() > 128 || text->find_first_of(":*") != std::string::npos) {
      r.error(prefix->pos,
              fmt::format("stream_prefix `{}` must be 1-128 characters without : or *", *text),
              "log streams are PREFIX/CONTAINER/TASK-ID; like web");
    } else {
      out.stream_prefix = std::move(*text);
    }
  }
  f.read("create_group", out.create_group);
  if (auto days = f.get("retention_days")) {
    const auto& allowed = log_retention_days();
    if (auto n = r.integer(*days, INT_MIN, INT_MAX)) {
      if (std::find(allowed.begin(), allowed.end(), *n) == allowed.end()) {
        r.error(days->pos,
                fmt::format("retention_days {} is not a retention CloudWatch Logs takes", *n),
                fmt::format("use one of {}; omit it to leave the group's retention as it is",
                            fmt::join(allowed, ", ")));
      } else {
        out.retention_days = *n;
      }
    }
  }
}

void read_tags(Reader& r, const Value& v, std::map<std::string, std::string>& out) {
  auto pairs = r.pairs(v);
  if (!pairs) {
    return;
  }
  if (pairs->size() > k_aws_max_tags) {
    r.error(v.pos, fmt::format("tags has {} entries; AWS takes at most {}", pairs->size(),
                               k_aws_max_tags));
  }
  for (auto& [key, value] : *pairs) {
    auto text = value.is_null() ? std::optional<std::string>("") : r.string(value);
    if (!text) {
      continue;
    }
    auto check = [&](const std::string& s, const char* what, std::size_t max, Position at) {
      std::string problem = tag_problem(s, max);
      if (!problem.empty()) {
        r.error(at, fmt::format("tag {} `{}` cannot be used: {}", what, s, problem),
                fmt::format("tag {}s are at most {} letters, digits, spaces and _ . : / = + - @, "
                            "not starting with aws:",
                            what, max));
      }
      return problem.empty();
    };
    bool ok = check(key.name, "key", k_aws_max_tag_key, key.pos);
    ok = check(*text, "value", k_aws_max_tag_value, value.pos) && ok;
    if (ok) {
      out[key.name] = std::move(*text);
    }
  }
}

// The ARNs of one environment name one partition, and its cluster and listeners one region
// (that of `region`, when written) and one account.
void check_arns(Reader& r, const EcsSettings& out, const EcsMarks& marks) {
  const EcsArnMark* first = nullptr;
  const EcsArnMark* regional = nullptr;
  for (const auto& seen : marks.arns) {
    const Arn& arn = seen.arn;
    if (marks.region && arn.partition != region_partition(out.region)) {
      r.error(
          seen.pos,
          fmt::format("{} is in partition {}, but region {} (line {}) is in {}", seen.key,
                      arn.partition, out.region, marks.region->line, region_partition(out.region)),
          "AWS partitions share no resources: use ARNs of the region's partition");
      continue;
    }
    if (first && arn.partition != first->arn.partition) {
      r.error(seen.pos,
              fmt::format("{} is in partition {}, but {} (line {}) is in {}", seen.key,
                          arn.partition, first->key, first->pos.line, first->arn.partition),
              "AWS partitions share no resources: use ARNs of one partition");
      continue;
    }
    first = first ? first : &seen;
    if (arn.region.empty()) {
      continue;
    }
    if (marks.region && arn.region != out.region) {
      r.error(seen.pos,
              fmt::format("{} is in region {}, but region is {} (line {})", seen.key, arn.region,
                          out.region, marks.region->line),
              "the cluster and the load balancer are in the environment's region");
    } else if (regional &&
               (arn.region != regional->arn.region || arn.account != regional->arn.account)) {
      r.error(seen.pos,
              fmt::format("{} is in {} of account {}, but {} (line {}) is in {} of account {}",
                          seen.key, arn.region, arn.account, regional->key, regional->pos.line,
                          regional->arn.region, regional->arn.account),
              "an ECS service and its load balancer are in one region and one account");
    }
    regional = regional ? regional : &seen;
  }
}

}  // namespace

std::optional<Arn> read_ecs_arn(Reader& r, const Value& v, const std::string& text, ArnKind kind,
                                std::vector<EcsArnMark>& arns) {
  auto arn = parse_arn(text, kind);
  if (!arn.ok()) {
    const char* what = kind == ArnKind::cluster    ? "a cluster ARN"
                       : kind == ArnKind::listener ? "an Application Load Balancer listener ARN"
                                                   : "a role ARN";
    r.error(v.pos, fmt::format("{} `{}` is not {}: {}", v.name, text, what, arn.error().message),
            kind == ArnKind::listener
                ? fmt::format("releases are switched by weighted target groups of an "
                              "Application Load Balancer's listener: write {}",
                              arn_shape(kind))
                : fmt::format("write {}", arn_shape(kind)));
    return std::nullopt;
  }
  arns.push_back({v.name, *arn, v.pos});
  return *arn;
}

void parse_ecs(Reader& r, const Value& v, const Environment& env, EcsSettings& out) {
  Fields f(r, v, "ecs",
           {"region", "cluster", "service_prefix", "launch_type", "capacity_providers",
            "platform_version", "network", "task_role", "execution_role", "cpu", "memory", "logs",
            "load_balancer", "tags"});
  out.pos = v.key_pos;
  if (!f.ok()) {
    return;
  }
  EcsMarks marks;
  read_region(r, f, out, marks);
  read_cluster(r, f, out, marks);
  read_service_prefix(r, f, out);
  auto launch = f.get("launch_type");
  if (launch) {
    read_launch_type(r, *launch, out);
  }
  if (auto providers = f.get("capacity_providers")) {
    if (launch) {
      r.error(providers->key_pos, "launch_type and capacity_providers exclude each other",
              "ECS takes one: launch_type for one kind of capacity, or capacity_providers for a "
              "weighted mix such as FARGATE_SPOT with FARGATE");
    } else {
      out.launch_type.clear();
      read_capacity_providers(r, *providers, out);
    }
  }
  read_size(r, f, out);
  read_platform_version(r, f, out);
  auto network = out.fargate() ? f.require("network",
                                           "Fargate tasks use awsvpc networking: write network: "
                                           "{subnets: [subnet-…], security_groups: [sg-…]}")
                               : f.get("network");
  if (network) {
    read_network(r, *network, out);
  }
  read_role(r, f, "task_role", out.task_role, marks, false, "");
  read_role(r, f, "execution_role", out.execution_role, marks, out.fargate(),
            "Fargate pulls the image and sends the logs with the task execution role");
  if (auto logs = f.get("logs")) {
    read_logs(r, *logs, out.logs);
  }
  bool shifts_traffic = env.strategy.kind != Strategy::Kind::rolling;
  auto balancer = shifts_traffic ? f.require("load_balancer",
                                             "blue_green and canary shift traffic between "
                                             "releases on a load balancer's listener")
                                 : f.get("load_balancer");
  if (balancer) {
    parse_ecs_load_balancer(r, *balancer, env, out, marks.arns);
  }
  if (auto tags = f.get("tags")) {
    read_tags(r, *tags, out.tags);
  }
  check_arns(r, out, marks);
}

}  // namespace detail
}  // namespace ztp::spec
