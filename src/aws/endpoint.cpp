#include "aws/endpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "aws/sigv4.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

// Service ids, endpoint prefixes and signing names as the services' models give them.
constexpr std::array<ServiceInfo, 10> k_services = {{
    {"ecs", "ECS", "ecs", "ecs"},
    {"ecr", "ECR", "api.ecr", "ecr"},
    {"elbv2", "Elastic Load Balancing v2", "elasticloadbalancing", "elasticloadbalancing"},
    {"cloudwatch", "CloudWatch", "monitoring", "monitoring"},
    {"logs", "CloudWatch Logs", "logs", "logs"},
    {"autoscaling", "Application Auto Scaling", "application-autoscaling",
     "application-autoscaling"},
    {"sts", "STS", "sts", "sts"},
    {"kms", "KMS", "kms", "kms"},
    {"secretsmanager", "Secrets Manager", "secretsmanager", "secretsmanager"},
    {"ssm", "SSM", "ssm", "ssm"},
}};

std::string with_underscores(std::string_view service_id) {
  std::string out(service_id);
  for (char& c : out) {
    c = c == ' ' ? '_' : c;
  }
  return out;
}

// An override URL as the client uses it (no trailing '/'), or invalid naming where it was set.
Result<std::string> checked_url(std::string_view url, std::string_view where) {
  std::string trimmed(text::trim(url));
  while (trimmed.ends_with('/')) {
    trimmed.pop_back();
  }
  bool scheme = trimmed.starts_with("https://") || trimmed.starts_with("http://");
  if (!scheme || !host_header(trimmed).ok()) {
    return make_error(Errc::invalid,
                      fmt::format("the endpoint URL '{}' of {} is not an absolute http or https "
                                  "URL like https://ecs.us-east-1.amazonaws.com",
                                  url, where));
  }
  return trimmed;
}

}  // namespace

std::span<const ServiceInfo> services() { return k_services; }

const ServiceInfo* find_service(std::string_view key) {
  for (const ServiceInfo& s : k_services) {
    if (s.key == key || text::iequals(s.service_id, key)) {
      return &s;
    }
  }
  return nullptr;
}

std::string endpoint_env_name(const ServiceInfo& service) {
  return "AWS_ENDPOINT_URL_" + text::to_upper(with_underscores(service.service_id));
}

std::string endpoint_config_key(const ServiceInfo& service) {
  return text::to_lower(with_underscores(service.service_id));
}

bool valid_region(std::string_view region) {
  int parts = 0;
  bool last_numeric = false;
  while (true) {
    size_t dash = region.find('-');
    std::string_view part = region.substr(0, dash);
    if (part.empty()) {
      return false;
    }
    bool letters =
        std::all_of(part.begin(), part.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    bool digits =
        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if ((parts == 0 && !letters) || (!letters && !digits)) {
      return false;
    }
    ++parts;
    last_numeric = digits;
    if (dash == std::string_view::npos) {
      break;
    }
    if (digits) {
      return false;  // only the last part is a number
    }
    region.remove_prefix(dash + 1);
  }
  return parts >= 3 && last_numeric;
}

Result<Region> resolve_region(const std::optional<std::string>& explicit_region, const Env& env,
                              const SharedConfig& config) {
  Region r;
  if (explicit_region && !explicit_region->empty()) {
    r = {*explicit_region, "the spec"};
  } else if (std::string v = env_value(env, "AWS_REGION"); !v.empty()) {
    r = {v, "AWS_REGION"};
  } else if (std::string d = env_value(env, "AWS_DEFAULT_REGION"); !d.empty()) {
    r = {d, "AWS_DEFAULT_REGION"};
  } else if (const ConfigSection* p = config.profile(); p != nullptr && !p->get("region").empty()) {
    r = {p->get("region"), fmt::format("profile \"{}\" ({})", config.profile_name, p->where)};
  } else {
    return make_error(Errc::invalid,
                      fmt::format("no AWS region: set `region` in the spec, AWS_REGION, or "
                                  "`region = ...` in {}",
                                  config.describe()));
  }
  if (!valid_region(r.name)) {
    return make_error(Errc::invalid, fmt::format("the region '{}' from {} is not a region name "
                                                 "like us-east-1",
                                                 r.name, r.source));
  }
  return r;
}

std::string_view dns_suffix(std::string_view region) {
  return region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

Result<Endpoint> resolve_endpoint(const ServiceInfo& service, std::string_view region,
                                  const Env& env, const SharedConfig& config,
                                  const std::optional<std::string>& explicit_url) {
  if (!valid_region(region)) {
    return make_error(Errc::invalid,
                      fmt::format("cannot reach {}: '{}' is not a region name like us-east-1",
                                  service.service_id, region));
  }
  Endpoint e;
  e.signing_name = std::string(service.signing_name);
  e.signing_region = std::string(region);
  auto use = [&](std::string_view url, std::string source) -> Result<Endpoint> {
    ZTP_ASSIGN_OR_RETURN(e.url, checked_url(url, source));
    e.source = std::move(source);
    return e;
  };
  if (explicit_url && !explicit_url->empty()) {
    return use(*explicit_url, "the spec");
  }
  const ConfigSection* profile = config.profile();
  bool ignore = env_true(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ||
                (profile != nullptr &&
                 text::iequals(profile->get("ignore_configured_endpoint_urls"), "true"));
  if (!ignore) {
    std::string name = endpoint_env_name(service);
    if (std::string url = env_value(env, name); !url.empty()) {
      return use(url, name);
    }
    if (std::string url = env_value(env, "AWS_ENDPOINT_URL"); !url.empty()) {
      return use(url, "AWS_ENDPOINT_URL");
    }
    if (profile != nullptr && !profile->get("services").empty()) {
      std::string section_name = profile->get("services");
      auto it = config.services.find(section_name);
      if (it == config.services.end()) {
        return make_error(Errc::invalid,
                          fmt::format("{} names services = {}, but there is no [services {}] "
                                      "section in {}",
                                      config.describe(), section_name, section_name,
                                      config.config_file.string()));
      }
      std::string url = it->second.get(endpoint_config_key(service), "endpoint_url");
      if (!url.empty()) {
        return use(url, fmt::format("[services {}] ({})", section_name, it->second.where));
      }
    }
    if (profile != nullptr && !profile->get("endpoint_url").empty()) {
      return use(profile->get("endpoint_url"),
                 fmt::format("endpoint_url of {} ({})", config.describe(), profile->where));
    }
  }
  e.url = fmt::format("https://{}.{}.{}", service.endpoint_prefix, region, dns_suffix(region));
  e.source = "default";
  return e;
}

}  // namespace ztp::aws
