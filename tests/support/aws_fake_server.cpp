#include "support/aws_fake_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace ztp::testing {

namespace {

enum class Protocol { json_1_0, json_1_1, query };

// How one service is reached and how it names its common errors.
struct ServiceInfo {
  std::string name;  // the model's folder name, used in records and faults
  std::string signing_name;
  Protocol protocol = Protocol::json_1_1;
  std::string target_or_version;  // the X-Amz-Target prefix, or the awsQuery Version
  std::string xml_namespace;
  bool query_compatible = false;  // a JSON service that also says its awsQuery error codes
  AwsError validation;            // the code for missing members (the message is added)
  AwsError throttling;
  AwsError internal;
  AwsError unavailable;
};

const std::vector<ServiceInfo>& services() {
  static const std::vector<ServiceInfo> k_services = {
      {"ecs",
       "ecs",
       Protocol::json_1_1,
       "AmazonEC2ContainerServiceV20141113",
       "",
       false,
       {"InvalidParameterException", "", 400, ""},
       {"ThrottlingException", "Rate exceeded", 400, ""},
       {"ServerException", "Service encountered an internal error.", 500, ""},
       {"ServiceUnavailableException", "Service is unavailable.", 503, ""}},
      {"ecr",
       "ecr",
       Protocol::json_1_1,
       "AmazonEC2ContainerRegistry_V20150921",
       "",
       false,
       {"InvalidParameterException", "", 400, ""},
       {"ThrottlingException", "Rate exceeded", 400, ""},
       {"ServerException", "Service encountered an internal error.", 500, ""},
       {"ServiceUnavailableException", "Service is unavailable.", 503, ""}},
      {"cloudwatch",
       "monitoring",
       Protocol::json_1_0,
       "GraniteServiceVersion20100801",
       "",
       true,
       {"MissingRequiredParameterException", "", 400, "MissingParameter"},
       {"ThrottlingException", "Rate exceeded", 400, "Throttling"},
       {"InternalServiceFault", "Internal service error.", 500, "InternalServiceError"},
       {"ServiceUnavailableException", "Service is unavailable.", 503, "ServiceUnavailable"}},
      {"elbv2",
       "elasticloadbalancing",
       Protocol::query,
       "2015-12-01",
       "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
       false,
       {"ValidationError", "", 400, ""},
       {"Throttling", "Rate exceeded", 400, ""},
       {"InternalFailure", "The request processing has failed because of an unknown error.", 500,
        ""},
       {"ServiceUnavailable", "The service is unavailable.", 503, ""}},
      {"sts",
       "sts",
       Protocol::query,
       "2011-06-15",
       "https://sts.amazonaws.com/doc/2011-06-15/",
       false,
       {"ValidationError", "", 400, ""},
       {"Throttling", "Rate exceeded", 400, ""},
       {"InternalFailure", "The request processing has failed because of an unknown error.", 500,
        ""},
       {"ServiceUnavailable", "The service is unavailable.", 503, ""}},
  };
  return k_services;
}

// Operations that AWS answers without a signature.
bool unsigned_operation(const std::string& service, const std::string& operation) {
  return service == "sts" &&
         (operation == "AssumeRoleWithWebIdentity" || operation == "AssumeRoleWithSAML");
}

// An authentication error in the service's protocol: the JSON code, the awsQuery code and
// their statuses differ.
AwsError auth_error(const ServiceInfo& info, const std::string& json_code,
                    const std::string& query_code, int json_status, int query_status,
                    std::string message) {
  if (info.protocol == Protocol::query) {
    return AwsError{query_code, std::move(message), query_status, ""};
  }
  return AwsError{json_code, std::move(message), json_status, query_code};
}

// The "Key=Value" parameters of an Authorization header after its algorithm.
std::map<std::string, std::string> auth_parameters(std::string_view rest) {
  std::map<std::string, std::string> out;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    auto eq = part.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    }
  }
  return out;
}

// The Authorization header's form and scope (not its signature's value), and a session key's
// token and expiry; fills `caller`. The error AWS answers, or nullopt.
std::optional<AwsError> check_signature(const FakeRequest& req, const ServiceInfo& info,
                                        const std::string& operation, const AwsFakeEnv& env,
                                        const StsFake& sts, AwsCaller& caller) {
  std::string authorization = req.header("authorization");
  if (authorization.empty()) {
    if (unsigned_operation(info.name, operation)) {
      return std::nullopt;
    }
    return auth_error(info, "MissingAuthenticationTokenException", "MissingAuthenticationToken",
                      400, 403, "Missing Authentication Token");
  }
  static const std::string k_algorithm = "AWS4-HMAC-SHA256 ";
  auto params = authorization.rfind(k_algorithm, 0) == 0
                    ? auth_parameters(std::string_view(authorization).substr(k_algorithm.size()))
                    : std::map<std::string, std::string>{};
  std::vector<std::string> scope;
  std::string credential = params.count("Credential") ? params["Credential"] : "";
  for (std::size_t at = 0; !credential.empty();) {
    auto slash = credential.find('/', at);
    scope.push_back(credential.substr(at, slash - at));
    if (slash == std::string::npos) {
      break;
    }
    at = slash + 1;
  }
  std::string amz_date = req.header("x-amz-date");
  if (params.count("Credential") == 0 || params.count("SignedHeaders") == 0 ||
      params.count("Signature") == 0 || scope.size() != 5 || scope[4] != "aws4_request" ||
      !std::regex_match(params["Signature"], std::regex("[0-9a-f]{64}"))) {
    return auth_error(info, "IncompleteSignatureException", "IncompleteSignature", 400, 400,
                      "Authorization header requires 'Credential', "
                      "'SignedHeaders' and 'Signature' parameters, the credential "
                      "scoped as KEY/DATE/REGION/SERVICE/aws4_request. "
                      "Authorization=" +
                          authorization.substr(0, authorization.find(' ')));
  }
  if (amz_date.size() < 8) {
    return auth_error(info, "IncompleteSignatureException", "IncompleteSignature", 400, 400,
                      "Authorization header requires existence of either a "
                      "'X-Amz-Date' or a 'Date' header.");
  }
  std::string problem;
  if (scope[1] != amz_date.substr(0, 8)) {
    problem =
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
        "from HTTP.";
  } else if (scope[2] != env.region) {
    problem = "Credential should be scoped to a valid region.";
  } else if (scope[3] != info.signing_name) {
    problem =
        fmt::format("Credential should be scoped to correct service: '{}'.", info.signing_name);
  } else if ((";" + params["SignedHeaders"] + ";").find(";host;") == std::string::npos) {
    problem = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
  }
  if (!problem.empty()) {
    return auth_error(info, "InvalidSignatureException", "SignatureDoesNotMatch", 400, 403,
                      problem);
  }
  caller.access_key_id = scope[0];
  if (caller.access_key_id.rfind("ASIA", 0) == 0) {
    const auto* issued = sts.issued(caller.access_key_id);
    if (issued == nullptr || req.header("x-amz-security-token") != issued->session_token) {
      return auth_error(info, "UnrecognizedClientException", "InvalidClientTokenId", 400, 403,
                        "The security token included in the request is invalid.");
    }
    if (issued->expiration <= env.now) {
      return auth_error(info, "ExpiredTokenException", "ExpiredToken", 400, 400,
                        "The security token included in the request is expired");
    }
  }
  return std::nullopt;
}

std::string content_type(Protocol p) {
  return p == Protocol::json_1_0 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1";
}

}  // namespace

// What a request resolved to.
struct AwsFake::Route {
  const ServiceInfo* info = nullptr;
  AwsFakeService* service = nullptr;
  std::string operation;
  nlohmann::json input;
};

AwsFake::AwsFake(AwsFakeOptions options)
    : m_options(std::move(options)),
      m_clock(m_options.clock != nullptr ? *m_options.clock : system_clock()),
      m_env{m_options.region, m_options.account, m_clock.wall_now()},
      m_elb(m_env),
      m_ecs(m_env, m_elb, m_options.ecs),
      m_ecr(m_env, m_options.ecr),
      m_cloudwatch(m_env, m_options.metrics_delay),
      m_sts(m_env, m_options.sts),
      m_server([this](const FakeRequest& r) { return serve(r); }) {
  m_elb.set_probe([this](const TargetProbeRequest& r) {
    auto status = m_ecs.task_status_at(r.target_id, r.port);
    if (!status || *status == "RUNNING") {
      return TargetProbeResult{};
    }
    return TargetProbeResult{false, "Target.Timeout", "Request timed out"};
  });
}

AwsFake::~AwsFake() { m_server.stop(); }

std::string AwsFake::endpoint() const { return "http://" + m_server.host(); }

std::string AwsFake::add_cluster(const std::string& name) {
  std::lock_guard lock(m_mu);
  sync_locked();
  return m_ecs.add_cluster(name);
}

std::string AwsFake::add_load_balancer(const std::string& name) {
  std::lock_guard lock(m_mu);
  sync_locked();
  return m_elb.add_load_balancer(name);
}

std::string AwsFake::add_listener(const std::string& load_balancer_arn, int port,
                                  const std::string& target_group_arn,
                                  const std::string& protocol) {
  std::lock_guard lock(m_mu);
  sync_locked();
  return m_elb.add_listener(load_balancer_arn, port, protocol, target_group_arn);
}

void AwsFake::set_task_runner(std::shared_ptr<TaskRunner> runner) {
  std::lock_guard lock(m_mu);
  m_ecs.set_runner(std::move(runner));
}

void AwsFake::set_target_probe(TargetProbe probe) {
  std::lock_guard lock(m_mu);
  m_elb.set_probe(std::move(probe));
}

bool AwsFake::exit_task(const std::string& task_arn, int exit_code, const std::string& reason) {
  std::lock_guard lock(m_mu);
  sync_locked();
  bool found = m_ecs.exit_task(task_arn, exit_code, reason);
  m_ecs.schedule();
  return found;
}

void AwsFake::record_alb_request(const std::string& load_balancer_arn,
                                 const std::string& target_group_arn, int status,
                                 double response_seconds, bool elb_error) {
  std::lock_guard lock(m_mu);
  sync_locked();
  m_cloudwatch.record_alb_request(m_elb.load_balancer_dimension(load_balancer_arn),
                                  m_elb.target_group_dimension(target_group_arn), m_env.now, status,
                                  response_seconds, elb_error);
}

void AwsFake::record_metric(const std::string& name_space, const std::string& metric,
                            const MetricDimensions& dimensions, double value) {
  std::lock_guard lock(m_mu);
  sync_locked();
  m_cloudwatch.record(name_space, metric, dimensions, m_env.now, value);
}

void AwsFake::throttle(const std::string& service, const std::string& operation, int count) {
  std::lock_guard lock(m_mu);
  m_throttled[service + "/" + operation] = count;
}

void AwsFake::fail_next(const std::string& service, const std::string& operation, int status) {
  std::lock_guard lock(m_mu);
  m_failing[service + "/" + operation] = status;
}

void AwsFake::set_consistency_lag(int count) {
  std::lock_guard lock(m_mu);
  m_env.consistency_lag = count;
}

void AwsFake::sync() {
  std::lock_guard lock(m_mu);
  sync_locked();
}

std::vector<AwsCallRecord> AwsFake::calls() const {
  std::lock_guard lock(m_mu);
  return m_calls;
}

int AwsFake::call_count(const std::string& service, const std::string& operation) const {
  std::lock_guard lock(m_mu);
  return static_cast<int>(std::count_if(m_calls.begin(), m_calls.end(), [&](const auto& c) {
    return c.service == service && (operation.empty() || c.operation == operation);
  }));
}

std::map<std::string, std::map<std::string, std::vector<std::string>>> AwsFake::operations() const {
  return {{"ecs", m_ecs.operations()},
          {"ecr", m_ecr.operations()},
          {"cloudwatch", m_cloudwatch.operations()},
          {"elbv2", m_elb.operations()},
          {"sts", m_sts.operations()}};
}

void AwsFake::sync_locked() {
  WallTime target = m_clock.wall_now();
  // Step from event to event so that each transition happens at its own time.
  for (int step = 0; step < 100000; ++step) {
    auto next = m_elb.next_event();
    auto ecs_next = m_ecs.next_event();
    if (!next || (ecs_next && *ecs_next < *next)) {
      next = ecs_next;
    }
    if (!next || *next > target) {
      break;
    }
    m_env.now = std::max(m_env.now, *next);
    m_elb.advance();
    m_ecs.advance();
    m_ecs.schedule();
  }
  m_env.now = std::max(m_env.now, target);
  m_elb.advance();
  m_ecs.advance();
  m_ecs.schedule();
}

FakeResponse AwsFake::serve(const FakeRequest& req) {
  std::lock_guard lock(m_mu);
  sync_locked();
  std::string request_id = m_env.uuid();
  static const ServiceInfo k_unknown{"unknown", "", Protocol::json_1_1, "", "", false, {}, {},
                                     {},        {}};
  Route route;
  AwsCaller caller;
  auto render = [&](const ServiceInfo& info, const AwsAnswer& answer) {
    FakeResponse r;
    r.headers.emplace_back("x-amzn-RequestId", request_id);
    std::string code = answer.ok() ? "" : answer.error().code;
    r.status = answer.ok() ? 200 : answer.error().status;
    if (info.protocol == Protocol::query) {
      r.headers.emplace_back("Content-Type", "text/xml");
      r.body = answer.ok() ? query_response_xml(route.operation, info.xml_namespace,
                                                answer.output(), request_id)
                           : query_error_xml(answer.error(), info.xml_namespace, request_id);
    } else {
      r.headers.emplace_back("Content-Type", content_type(info.protocol));
      if (answer.ok()) {
        r.body = answer.output().dump();
      } else {
        const auto& e = answer.error();
        r.headers.emplace_back("x-amzn-ErrorType", e.code);
        if (info.query_compatible) {
          r.headers.emplace_back("x-amzn-query-error",
                                 fmt::format("{};{}", e.query_code.empty() ? e.code : e.query_code,
                                             e.status >= 500 ? "Receiver" : "Sender"));
        }
        r.body = nlohmann::json{{"__type", e.code}, {"message", e.message}}.dump();
      }
    }
    m_calls.push_back(
        AwsCallRecord{info.name, route.operation, m_env.now, r.status, code, request_id});
    return r;
  };

  std::string target = req.header("x-amz-target");
  if (!target.empty()) {
    auto dot = target.find('.');
    std::string prefix = target.substr(0, dot);
    route.operation = dot == std::string::npos ? "" : target.substr(dot + 1);
    for (const auto& info : services()) {
      if (info.protocol != Protocol::query && info.target_or_version == prefix) {
        route.info = &info;
      }
    }
    if (route.info == nullptr) {
      return render(k_unknown, AwsError{"UnknownOperationException",
                                        fmt::format("Unknown target {}", target)});
    }
    route.input = req.body.empty() ? nlohmann::json::object()
                                   : nlohmann::json::parse(req.body, nullptr, false);
    if (route.input.is_discarded() || !route.input.is_object()) {
      return render(*route.info, AwsError{"SerializationException",
                                          "Start of structure or map found where not expected."});
    }
  } else if (req.method == "POST" &&
             req.header("content-type").rfind("application/x-www-form-urlencoded", 0) == 0) {
    route.input = decode_query_form(req.body);
    route.operation = str(route.input, "Action");
    std::string version = str(route.input, "Version");
    for (const auto& info : services()) {
      if (info.protocol == Protocol::query && info.target_or_version == version) {
        route.info = &info;
      }
    }
    static const ServiceInfo k_unknown_query{"unknown", "", Protocol::query, "", "", false, {}, {},
                                             {},        {}};
    if (route.info == nullptr) {
      return render(
          k_unknown_query,
          AwsError{"InvalidAction", fmt::format("Could not find operation {} for version {}",
                                                route.operation, version)});
    }
    route.input.erase("Action");
    route.input.erase("Version");
  } else {
    return render(k_unknown,
                  AwsError{"UnknownOperationException",
                           "Neither an X-Amz-Target nor an awsQuery form was sent.", 404, ""});
  }
  const ServiceInfo& info = *route.info;
  std::map<std::string, AwsFakeService*> impl = {{"ecs", &m_ecs},
                                                 {"ecr", &m_ecr},
                                                 {"cloudwatch", &m_cloudwatch},
                                                 {"elbv2", &m_elb},
                                                 {"sts", &m_sts}};
  route.service = impl.at(info.name);
  auto op = route.service->operations().find(route.operation);
  if (op == route.service->operations().end()) {
    if (info.protocol == Protocol::query) {
      return render(
          info, AwsError{"InvalidAction", fmt::format("Could not find operation {} for version {}",
                                                      route.operation, info.target_or_version)});
    }
    return render(
        info, AwsError{"UnknownOperationException",
                       fmt::format("Unknown operation {}", route.operation), 400, "InvalidAction"});
  }

  if (auto e = check_signature(req, info, route.operation, m_env, m_sts, caller)) {
    return render(info, *e);
  }

  std::string key = info.name + "/" + route.operation;
  for (const auto& k : {key, info.name + "/*"}) {
    auto throttled = m_throttled.find(k);
    if (throttled != m_throttled.end() && throttled->second > 0) {
      --throttled->second;
      return render(info, info.throttling);
    }
    auto failing = m_failing.find(k);
    if (failing != m_failing.end()) {
      int status = failing->second;
      m_failing.erase(failing);
      return render(info, status == 503 ? info.unavailable : info.internal);
    }
  }
  auto missing = missing_members(route.input, op->second);
  if (!missing.empty()) {
    AwsError e = info.validation;
    e.message = missing_members_message(missing);
    return render(info, e);
  }
  AwsAnswer answer = route.service->handle(route.operation, route.input, caller);
  m_ecs.schedule();
  return render(info, answer);
}

}  // namespace ztp::testing
